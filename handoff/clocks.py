"""A ticket's SLA clocks: due times, pauses while pending, and time left.

First response is due `first_response_minutes` of business time after the hand-off; the
resolution `resolution_minutes` after it, not counting time pending on the customer.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from handoff.models import SlaPolicy, Ticket
from handoff.sla import Calendar
from handoff.states import TicketStatus


def start(ticket: Ticket, policy: SlaPolicy | None, calendar: Calendar, now: datetime) -> None:
    if policy is None:
        return
    ticket.first_response_due = calendar.add(now, policy.first_response_minutes * 60)
    ticket.resolution_due = calendar.add(now, policy.resolution_minutes * 60)
    ticket.resolution_left_seconds = None


def pause(ticket: Ticket, calendar: Calendar, now: datetime) -> None:
    """Waiting on the customer: keep the business time left, stop the clock."""
    if ticket.resolution_due is not None:
        ticket.resolution_left_seconds = int(calendar.between(now, ticket.resolution_due))
        ticket.resolution_due = None
    ticket.pending_since = now


def resume(ticket: Ticket, calendar: Calendar, now: datetime) -> None:
    """The customer answered: the clock runs again with the time that was left (an
    overdue ticket stays overdue by as much as it was)."""
    left = ticket.resolution_left_seconds
    if left is not None:
        if left >= 0:
            ticket.resolution_due = calendar.add(now, left)
        else:
            ticket.resolution_due = now + timedelta(seconds=left)
        ticket.resolution_left_seconds = None
    ticket.pending_since = None


def restart_resolution(
    ticket: Ticket, policy: SlaPolicy | None, calendar: Calendar, now: datetime
) -> None:
    """A reopened ticket gets a fresh resolution target."""
    if policy is not None:
        ticket.resolution_due = calendar.add(now, policy.resolution_minutes * 60)
        ticket.resolution_left_seconds = None
        ticket.resolution_breached_at = None


def status(ticket: Ticket, calendar: Calendar, now: datetime) -> dict[str, Any]:
    """Due times and business seconds left (negative: overdue) for the ticket's clocks."""

    def clock(
        due: datetime | None, done: datetime | None, breached: datetime | None
    ) -> dict[str, Any]:
        return {
            "due": due.isoformat() if due else None,
            "done_at": done.isoformat() if done else None,
            "seconds_left": (
                None if due is None or done is not None else round(calendar.between(now, due))
            ),
            "breached": breached is not None
            or (done is not None and due is not None and done > due),
        }

    resolved = ticket.resolved_at if not ticket.status.is_active else None
    resolution = clock(ticket.resolution_due, resolved, ticket.resolution_breached_at)
    if ticket.status is TicketStatus.PENDING:
        resolution["paused"] = True
        resolution["seconds_left"] = ticket.resolution_left_seconds
    else:
        resolution["paused"] = False
    return {
        "first_response": clock(
            ticket.first_response_due, ticket.first_response_at, ticket.first_response_breached_at
        ),
        "resolution": resolution,
    }
