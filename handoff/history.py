"""A ticket's history: one row per step (created, assigned, breached, resolved...)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from handoff.models import Agent, Ticket, TicketEvent


def record(
    session: Session,
    ticket: Ticket,
    kind: str,
    now: datetime,
    agent: Agent | None = None,
    **data: Any,
) -> TicketEvent:
    """Write one step of the ticket's history."""
    entry = TicketEvent(ticket=ticket, kind=kind, data=data, agent=agent, created_at=now)
    session.add(entry)
    return entry
