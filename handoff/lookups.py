"""Reading the system of record: one row by id (or NotFound), and the lists the API shows.

Reads only: nothing here changes state, so routes and serializers may call any of it
outside a write transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from handoff.errors import NotFound
from handoff.models import (
    Agent,
    AuditEntry,
    Contact,
    Conversation,
    Delivery,
    InboundEvent,
    Message,
    Note,
    SlaPolicy,
    Team,
    Ticket,
)
from handoff.states import ConversationState, MessageRole, Priority, TicketStatus


def get_conversation(session: Session, conversation_id: int) -> Conversation:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound(f"conversation {conversation_id} not found")
    return conversation


def find_conversation_by_token(session: Session, token: str) -> Conversation | None:
    return session.scalar(select(Conversation).where(Conversation.public_token == token))


def latest_open_conversation(
    session: Session, *, contact_id: int, channel: str
) -> Conversation | None:
    """The contact's newest conversation on `channel` that is not resolved."""
    return session.scalar(
        select(Conversation)
        .where(
            Conversation.contact_id == contact_id,
            Conversation.channel == channel,
            Conversation.state != ConversationState.RESOLVED,
        )
        .order_by(Conversation.id.desc())
        .limit(1)
    )


def active_ticket(conversation: Conversation) -> Ticket | None:
    """The conversation's ticket that is not resolved or closed, if any."""
    for ticket in reversed(conversation.tickets):
        if ticket.status.is_active:
            return ticket
    return None


def latest_ticket(conversation: Conversation) -> Ticket | None:
    """The active ticket, else the newest one."""
    return active_ticket(conversation) or (
        conversation.tickets[-1] if conversation.tickets else None
    )


def get_ticket(session: Session, ticket_id: int) -> Ticket:
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound(f"ticket {ticket_id} not found")
    return ticket


def get_agent(session: Session, agent_id: int) -> Agent:
    """An active agent (deactivated ones are not found)."""
    agent = session.get(Agent, agent_id)
    if agent is None or not agent.is_active:
        raise NotFound(f"agent {agent_id} not found")
    return agent


def get_account(session: Session, agent_id: int) -> Agent:
    """An agent's account, deactivated or not (the admins' view)."""
    agent = session.get(Agent, agent_id)
    if agent is None:
        raise NotFound(f"agent {agent_id} not found")
    return agent


def get_team(session: Session, team_id: int) -> Team:
    team = session.get(Team, team_id)
    if team is None:
        raise NotFound(f"team {team_id} not found")
    return team


def get_contact(session: Session, contact_id: int) -> Contact:
    """The contact, following merges to the record that lives on."""
    contact = session.get(Contact, contact_id)
    seen: set[int] = set()
    while contact is not None and contact.merged_into_id is not None:
        if contact.id in seen:
            break
        seen.add(contact.id)
        contact = session.get(Contact, contact.merged_into_id)
    if contact is None:
        raise NotFound(f"contact {contact_id} not found")
    return contact


def get_message(session: Session, message_id: int) -> Message | None:
    return session.get(Message, message_id)


def latest_bot_message(session: Session, conversation_id: int) -> Message | None:
    return session.scalar(
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.role == MessageRole.BOT)
        .order_by(Message.id.desc())
        .limit(1)
    )


def latest_message(session: Session, conversation_id: int) -> Message | None:
    return session.scalar(
        select(Message)
        .where(Message.conversation_id == conversation_id)
        .order_by(Message.id.desc())
        .limit(1)
    )


def latest_customer_message(session: Session, conversation_id: int) -> Message | None:
    return session.scalars(
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.role == MessageRole.CUSTOMER)
        .order_by(Message.id.desc())
        .limit(1)
    ).first()


def last_customer_message_at(session: Session, conversation_id: int) -> datetime | None:
    """When the customer last wrote: platforms with a customer-service window (WhatsApp's
    24 hours, Messenger's 7 days for people) count from it."""
    return session.scalar(
        select(func.max(Message.created_at)).where(
            Message.conversation_id == conversation_id, Message.role == MessageRole.CUSTOMER
        )
    )


def offered_buttons(session: Session, conversation_id: int) -> list[dict[str, Any]]:
    """The buttons of the bot's latest message: the only choices a customer may send."""
    latest = latest_bot_message(session, conversation_id)
    buttons = latest.payload.get("buttons", []) if latest is not None else []
    return [b for b in buttons if isinstance(b, dict)]


def messages_after(session: Session, conversation_id: int, after: int) -> Sequence[Message]:
    return session.scalars(
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.id > after)
        .order_by(Message.id)
    ).all()


def last_message_id(session: Session, conversation_id: int) -> int:
    last = session.scalar(
        select(func.max(Message.id)).where(Message.conversation_id == conversation_id)
    )
    return int(last or 0)


def conversations(
    session: Session, *, state: ConversationState | None = None, limit: int = 200
) -> Sequence[Conversation]:
    """Most recently active first."""
    query = select(Conversation).order_by(Conversation.updated_at.desc()).limit(limit)
    if state is not None:
        query = query.where(Conversation.state == state)
    return session.scalars(query).all()


def conversation_notes(session: Session, conversation_id: int) -> Sequence[Note]:
    return session.scalars(
        select(Note).where(Note.conversation_id == conversation_id).order_by(Note.id)
    ).all()


def tickets(
    session: Session,
    *,
    statuses: Sequence[TicketStatus] = (),
    team_id: int | None = None,
    assignee_id: int | None = None,
    limit: int = 200,
) -> Sequence[Ticket]:
    """Newest first."""
    query = select(Ticket).order_by(Ticket.id.desc()).limit(limit)
    if statuses:
        query = query.where(Ticket.status.in_(list(statuses)))
    if team_id is not None:
        query = query.where(Ticket.team_id == team_id)
    if assignee_id is not None:
        query = query.where(Ticket.assignee_id == assignee_id)
    return session.scalars(query).all()


def search_contacts(session: Session, text: str = "", *, limit: int = 100) -> Sequence[Contact]:
    """Contacts (not merged away) whose name or email contains `text`, newest first."""
    query = select(Contact).where(Contact.merged_into_id.is_(None)).order_by(Contact.id.desc())
    if text.strip():
        like = f"%{text.strip()}%"
        query = query.where(or_(Contact.name.ilike(like), Contact.email.ilike(like)))
    return session.scalars(query.limit(limit)).all()


def teams(session: Session) -> Sequence[Team]:
    return session.scalars(select(Team).order_by(Team.id)).all()


def team_named(session: Session, name: str) -> Team | None:
    return session.scalar(select(Team).where(Team.name == name))


def active_agents(session: Session) -> Sequence[Agent]:
    return session.scalars(select(Agent).where(Agent.is_active).order_by(Agent.name)).all()


def all_agents(session: Session) -> Sequence[Agent]:
    """Every account, deactivated ones too (the admins' agent page)."""
    return session.scalars(select(Agent).order_by(Agent.is_active.desc(), Agent.name)).all()


def audit_entries(
    session: Session,
    *,
    actor_id: int | None = None,
    action: str | None = None,
    since: datetime | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> Sequence[AuditEntry]:
    """The audit log, newest first; page on with `before_id` (the last id of a page)."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if actor_id is not None:
        query = query.where(AuditEntry.actor_id == actor_id)
    if action:
        query = query.where(AuditEntry.action == action)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    return session.scalars(query).all()


def sla_policies(session: Session) -> dict[Priority, SlaPolicy]:
    return {p.priority: p for p in session.scalars(select(SlaPolicy))}


def inbound_events_of(session: Session, conversation_id: int) -> Sequence[InboundEvent]:
    """What the conversation's channel brought in, oldest first (a reply's thread context)."""
    return session.scalars(
        select(InboundEvent)
        .where(InboundEvent.conversation_id == conversation_id)
        .order_by(InboundEvent.id)
    ).all()


def sent_external_ids(session: Session, conversation_id: int) -> list[str]:
    """The platform ids of what the outbox delivered in this conversation, oldest first."""
    ids = session.scalars(
        select(Delivery.external_id)
        .where(Delivery.conversation_id == conversation_id, Delivery.external_id.is_not(None))
        .order_by(Delivery.id)
    ).all()
    return [i for i in ids if i]
