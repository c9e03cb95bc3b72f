"""The audit log: one row per agent or admin action that matters afterwards (who, what, when,
from where). Rows are only ever added; reads are `lookups.audit_entries`.

The hub's routes call `record` inside the transaction of the change they record, so a change
that rolled back leaves no entry and a committed one always has its entry. Failed logins are
recorded too (their transaction commits with nothing else in it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from handoff.events import Event
from handoff.models import AuditEntry

# The actions the hub records (docs/security.md lists them with what `target` names). Not a
# closed list: a new kind of action needs no migration, only a name of at most 48 characters.
ACTIONS = frozenset(
    {
        "login",
        "login_failed",
        "logout",
        "takeover",
        "transfer",
        "ticket_update",
        "contact_merge",
        "export",
        "delete",
        "agent_create",
        "agent_update",
        "agent_role",
        "agent_password",
        "agent_deactivate",
        "agent_activate",
        "team_save",
        "sla_policy",
        "setting",
        "kb_edit",
    }
)


def record(
    session: Session,
    *,
    actor_id: int | None,
    action: str,
    target: str = "",
    detail: Mapping[str, Any] | None = None,
    ip: str = "",
) -> tuple[AuditEntry, list[Event]]:
    """Add one entry (never published: the log is read, not watched)."""
    if not action or len(action) > 48:
        raise ValueError(f"an audit action is a name of 1-48 characters, not {action!r}")
    entry = AuditEntry(
        actor_id=actor_id,
        action=action,
        target=target[:200],
        detail=dict(detail or {}),
        ip=ip[:64],
    )
    session.add(entry)
    session.flush()
    return entry, []
