"""Agent accounts as admins manage them, and the audit log."""

from __future__ import annotations

from typing import Any

from api.schemas.base import Schema
from handoff.states import AgentRole


class AccountOut(Schema):
    """An account on the admins' page (`serializers.account_dict`)."""

    id: int
    name: str
    email: str
    role: AgentRole
    is_active: bool
    capacity: int
    created_at: str


class AccountList(Schema):
    agents: list[AccountOut]


class AuditActor(Schema):
    id: int
    name: str
    email: str


class AuditEntryOut(Schema):
    id: int
    at: str
    actor: AuditActor | None
    action: str
    target: str
    detail: dict[str, Any]
    ip: str


class AuditPage(Schema):
    """Newest first; `next_before` pages on (pass it as `before`), null on the last page."""

    entries: list[AuditEntryOut]
    next_before: int | None
