"""SLA policies: response and resolution targets per priority, and what a breach does."""

from __future__ import annotations

from sqlalchemy.orm import Session

from handoff.errors import InvalidInput
from handoff.events import Event
from handoff.models import SlaPolicy
from handoff.states import Priority

BREACH_ACTIONS = ("none", "raise_priority", "reassign_lead")


def set_policy(
    session: Session,
    *,
    priority: Priority,
    first_response_minutes: int,
    resolution_minutes: int,
    on_breach: str,
) -> tuple[SlaPolicy, list[Event]]:
    """New targets apply to tickets handed off from now on."""
    if on_breach not in BREACH_ACTIONS:
        raise InvalidInput(f"on_breach is one of {', '.join(BREACH_ACTIONS)}")
    policy = session.get(SlaPolicy, priority)
    if policy is None:
        policy = SlaPolicy(priority=priority)
        session.add(policy)
    policy.first_response_minutes = first_response_minutes
    policy.resolution_minutes = resolution_minutes
    policy.on_breach = on_breach
    session.flush()
    return policy, []
