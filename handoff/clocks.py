"""A ticket's SLA clocks: due times, pauses while pending, time left, and breaches.

First response is due `first_response_minutes` of business time after the hand-off; the
resolution `resolution_minutes` after it, not counting time pending on the customer.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from handoff.events import Event, conversation_changed, queue_moved, ticket_event
from handoff.models import Agent, SlaPolicy, Ticket, TicketEvent
from handoff.sla import Calendar
from handoff.states import Priority, TicketStatus

BREACH_ACTIONS = ("none", "raise_priority", "reassign_lead")


def policies(session: Session) -> dict[Priority, SlaPolicy]:
    return {p.priority: p for p in session.scalars(select(SlaPolicy))}


def log(
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


def check_breaches(session: Session, now: datetime) -> list[Event]:
    """Mark the clocks that ran out, log a breach event, and escalate as the policy says.

    Runs periodically; each breach is raised once (the breached_at stamp)."""
    rules = policies(session)
    due_first = (
        Ticket.first_response_at.is_(None)
        & Ticket.first_response_breached_at.is_(None)
        & (Ticket.first_response_due < now)
    )
    due_resolution = Ticket.resolution_breached_at.is_(None) & (Ticket.resolution_due < now)
    tickets = session.scalars(
        select(Ticket)
        .where(Ticket.status.in_([TicketStatus.NEW, TicketStatus.OPEN]))
        .where(or_(due_first, due_resolution))
        .order_by(Ticket.id)
    ).all()
    events: list[Event] = []
    for ticket in tickets:
        breached: list[str] = []
        if (
            ticket.first_response_at is None
            and ticket.first_response_breached_at is None
            and ticket.first_response_due is not None
            and ticket.first_response_due < now
        ):
            ticket.first_response_breached_at = now
            breached.append("first_response")
        if (
            ticket.resolution_breached_at is None
            and ticket.resolution_due is not None
            and ticket.resolution_due < now
        ):
            ticket.resolution_breached_at = now
            breached.append("resolution")
        for target in breached:
            policy = rules.get(ticket.priority)
            action = policy.on_breach if policy else "none"
            entry = log(session, ticket, "sla_breached", now, target=target, action=action)
            escalated = _escalate(session, ticket, action, now)
            session.flush()
            events.append(ticket_event(ticket.conversation_id, entry.id))
            if escalated:
                events += [conversation_changed(ticket.conversation_id), queue_moved()]
    return events


def _escalate(session: Session, ticket: Ticket, action: str, now: datetime) -> bool:
    if action == "raise_priority" and ticket.priority is not Priority.URGENT:
        old = ticket.priority
        ticket.priority = old.raised()
        ticket.priority_rank = ticket.priority.rank
        log(session, ticket, "priority_changed", now, old=old.value, new=ticket.priority.value)
        return True
    if action == "reassign_lead" and ticket.team is not None and ticket.team.lead is not None:
        lead = ticket.team.lead
        if ticket.assignee_id != lead.id:
            from handoff import routing

            routing.assign_to(session, ticket, lead, now, reason="sla_breach")
            return True
    return False
