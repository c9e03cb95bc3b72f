"""What the hub runs every few seconds: SLA breaches (raised once, escalated as the policy
says), closing resolved tickets for good, automatic assignment, deleting expired logins, and
purging the texts of conversations past the retention limit (handoff/privacy.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.orm.attributes import set_committed_value

from handoff import agents, history, privacy, routing
from handoff.events import Event, conversation_changed, queue_moved, ticket_event
from handoff.lookups import sla_policies
from handoff.models import Ticket
from handoff.rules import DEFAULT_RULES, Rules
from handoff.states import Priority, TicketStatus


def check_breaches(session: Session, *, now: datetime) -> tuple[list[Ticket], list[Event]]:
    """Mark the clocks that ran out, log a breach event, and escalate as the policy says.

    Runs periodically; each breach is raised once (the breached_at stamp)."""
    rules = sla_policies(session)
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
            and _stamp(session, ticket, Ticket.first_response_breached_at, now)
        ):
            breached.append("first_response")
        if (
            ticket.resolution_breached_at is None
            and ticket.resolution_due is not None
            and ticket.resolution_due < now
            and _stamp(session, ticket, Ticket.resolution_breached_at, now)
        ):
            breached.append("resolution")
        for target in breached:
            policy = rules.get(ticket.priority)
            action = policy.on_breach if policy else "none"
            entry = history.record(
                session, ticket, "sla_breached", now, target=target, action=action
            )
            escalated = _escalate(session, ticket, action, now)
            session.flush()
            events.append(ticket_event(ticket.conversation_id, entry.id))
            if escalated:
                events += [conversation_changed(ticket.conversation_id), queue_moved()]
    return list(tickets), events


def _stamp(
    session: Session, ticket: Ticket, column: InstrumentedAttribute[Any], now: datetime
) -> bool:
    """Set a breach stamp only if it is still unset in the database: the conditional
    UPDATE is the claim, so two sweeps at once (two hubs) raise a breach once. On
    PostgreSQL the second waits for the first's row lock, re-reads the row and updates
    nothing; on SQLite writers take turns."""
    result = session.execute(
        update(Ticket)
        .where(Ticket.id == ticket.id, column.is_(None))
        .values({column.key: now})
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(ticket)  # another sweep raised it: see its stamp
        return False
    set_committed_value(ticket, column.key, now)  # what the database now holds
    return True


def _escalate(session: Session, ticket: Ticket, action: str, now: datetime) -> bool:
    if action == "raise_priority" and ticket.priority is not Priority.URGENT:
        old = ticket.priority
        ticket.priority = old.raised()
        ticket.priority_rank = ticket.priority.rank
        history.record(
            session, ticket, "priority_changed", now, old=old.value, new=ticket.priority.value
        )
        return True
    if action == "reassign_lead" and ticket.team is not None and ticket.team.lead is not None:
        lead = ticket.team.lead
        if ticket.assignee_id != lead.id:
            routing.assign_to(session, ticket, lead, now, reason="sla_breach")
            return True
    return False


def close_resolved(
    session: Session, *, now: datetime, rules: Rules = DEFAULT_RULES
) -> tuple[list[Ticket], list[Event]]:
    """Resolved tickets past `rules.close_after` are closed for good."""
    cutoff = now - rules.close_after
    tickets = session.scalars(
        select(Ticket)
        .where(Ticket.status == TicketStatus.RESOLVED)
        .where(Ticket.resolved_at <= cutoff)
    ).all()
    for ticket in tickets:
        ticket.status = ticket.status.transition(TicketStatus.CLOSED)
        ticket.closed_at = ticket.updated_at = now
        history.record(session, ticket, "closed", now)
    return list(tickets), [conversation_changed(t.conversation_id) for t in tickets]


def sweep(
    session: Session, *, now: datetime, rules: Rules = DEFAULT_RULES
) -> tuple[list[int], list[Event]]:
    """Breaches, auto-close, assignment, expired sessions, retention: one pass. The result
    is the conversations the retention limit purged (the bot's copies go next)."""
    agents.prune_sessions(session, now=now)
    purged, purge_events = privacy.purge_expired(session, now=now, retention=rules.retention)
    return purged, [
        *check_breaches(session, now=now)[1],
        *close_resolved(session, now=now, rules=rules)[1],
        *routing.auto_assign(session, now=now)[1],
        *purge_events,
    ]
