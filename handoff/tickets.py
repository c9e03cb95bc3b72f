"""Ticket work beyond the hand-off: pending on the customer, hand back to the bot, notes,
editing fields, and the periodic sweep (SLA breaches, auto-close, automatic assignment)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff import clocks, routing
from handoff.errors import InvalidInput, NotAllowed, NotFound
from handoff.events import (
    Event,
    conversation_changed,
    message_created,
    note_added,
    queue_moved,
)
from handoff.messages import add_message
from handoff.models import Agent, Conversation, Note, Ticket, utcnow
from handoff.operations import HANDED_BACK, clean_text, get_conversation, open_ticket
from handoff.rules import DEFAULT_RULES, Rules
from handoff.states import ConversationState, MessageRole, Priority, TicketStatus

MAX_TAGS = 20


def _agent(session: Session, agent_id: int) -> Agent:
    agent = session.get(Agent, agent_id)
    if agent is None or not agent.is_active:
        raise NotFound(f"agent {agent_id} not found")
    return agent


def _owned_ticket(conversation: Conversation, agent: Agent) -> Ticket:
    if conversation.state is not ConversationState.AGENT or conversation.agent_id != agent.id:
        raise NotAllowed("take the conversation over first")
    ticket = open_ticket(conversation)
    if ticket is None:
        raise NotAllowed("the conversation has no open ticket")
    return ticket


def set_pending(
    session: Session,
    conversation_id: int,
    agent_id: int,
    *,
    rules: Rules = DEFAULT_RULES,
    now: datetime | None = None,
) -> list[Event]:
    """Waiting on the customer: the resolution clock stops until they write."""
    now = now or utcnow()
    agent = _agent(session, agent_id)
    conversation = get_conversation(session, conversation_id)
    ticket = _owned_ticket(conversation, agent)
    ticket.status = ticket.status.transition(TicketStatus.PENDING)
    clocks.pause(ticket, rules.calendar, now)
    ticket.updated_at = now
    clocks.log(session, ticket, "pending", now, agent=agent)
    return [conversation_changed(conversation.id)]


def hand_back(
    session: Session, conversation_id: int, agent_id: int, now: datetime | None = None
) -> list[Event]:
    """The person's part is done; the bot answers the customer's next messages."""
    now = now or utcnow()
    agent = _agent(session, agent_id)
    conversation = get_conversation(session, conversation_id)
    ticket = _owned_ticket(conversation, agent)
    ticket.status = ticket.status.transition(TicketStatus.RESOLVED)
    ticket.resolution = HANDED_BACK
    ticket.resolved_at = ticket.updated_at = now
    clocks.log(session, ticket, "handed_back", now, agent=agent)
    conversation.state = conversation.state.transition(ConversationState.BOT)
    conversation.agent = None
    message = add_message(
        session,
        conversation,
        MessageRole.SYSTEM,
        f"{agent.name} handed you back to our assistant. Ask away, or ask for a person any time.",
    )
    session.flush()
    return [
        message_created(conversation.id, message.id),
        conversation_changed(conversation.id),
        queue_moved(),
        *routing.auto_assign(session, now),
    ]


def add_note(
    session: Session,
    agent_id: int,
    text: object,
    *,
    conversation_id: int | None = None,
    contact_id: int | None = None,
) -> tuple[Note, list[Event]]:
    """An internal note: agents see it, the customer never does."""
    body = clean_text(text)
    agent = _agent(session, agent_id)
    if conversation_id is not None:
        conversation = get_conversation(session, conversation_id)
        note = Note(
            author=agent,
            text=body,
            conversation_id=conversation.id,
            contact_id=conversation.contact_id,
        )
    elif contact_id is not None:
        note = Note(author=agent, text=body, contact_id=contact_id)
    else:
        raise InvalidInput("a note belongs to a conversation or a contact")
    session.add(note)
    session.flush()
    events = [note_added(conversation_id, note.id)] if conversation_id is not None else []
    return note, events


def update_ticket(
    session: Session,
    ticket_id: int,
    agent_id: int,
    *,
    priority: Priority | None = None,
    category: str | None = None,
    tags: Sequence[str] | None = None,
    now: datetime | None = None,
) -> list[Event]:
    now = now or utcnow()
    agent = _agent(session, agent_id)
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound(f"ticket {ticket_id} not found")
    changes: dict[str, object] = {}
    if priority is not None and priority is not ticket.priority:
        changes["priority"] = [ticket.priority.value, priority.value]
        ticket.priority = priority
        ticket.priority_rank = priority.rank
    if category is not None and category != ticket.category:
        changes["category"] = [ticket.category, category or None]
        ticket.category = category.strip()[:100] or None
    if tags is not None:
        cleaned = list(dict.fromkeys(t.strip().lower()[:50] for t in tags if t.strip()))
        if len(cleaned) > MAX_TAGS:
            raise InvalidInput(f"at most {MAX_TAGS} tags")
        if cleaned != ticket.tags:
            changes["tags"] = [ticket.tags, cleaned]
            ticket.tags = cleaned
    if not changes:
        return []
    ticket.updated_at = now
    clocks.log(session, ticket, "updated", now, agent=agent, changes=changes)
    return [conversation_changed(ticket.conversation_id), queue_moved()]


def close_resolved(session: Session, now: datetime, rules: Rules = DEFAULT_RULES) -> list[Event]:
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
        clocks.log(session, ticket, "closed", now)
    return [conversation_changed(t.conversation_id) for t in tickets]


def sweep(session: Session, now: datetime, rules: Rules = DEFAULT_RULES) -> list[Event]:
    """What the hub runs every few seconds: breaches, auto-close, assignment."""
    return [
        *clocks.check_breaches(session, now),
        *close_resolved(session, now, rules),
        *routing.auto_assign(session, now),
    ]
