"""Rows to the JSON shapes of docs/protocol.md."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from api.frames import AgentBriefData, QueuePlace, WidgetConversation
from handoff import clocks, routing
from handoff.lookups import latest_message, latest_ticket
from handoff.models import (
    Agent,
    AuditEntry,
    Contact,
    Conversation,
    Message,
    Note,
    Ticket,
    TicketEvent,
    utcnow,
)
from handoff.sla import Calendar
from handoff.states import ConversationState
from retrieval.index import Hit


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def agent_dict(agent: Agent | None) -> AgentBriefData | None:
    return None if agent is None else {"id": agent.id, "name": agent.name}


def agent_full(agent: Agent) -> dict[str, Any]:
    return {
        "id": agent.id,
        "name": agent.name,
        "email": agent.email,
        "role": agent.role.value,
        "presence": agent.presence.value,
        "capacity": agent.capacity,
        "is_active": agent.is_active,
        "teams": [{"id": t.id, "name": t.name} for t in agent.teams],
    }


def kb_hit(hit: Hit) -> dict[str, Any]:
    """A knowledge-base hit for agents: linked at the section that answers."""
    return {
        "article_id": hit.article_id,
        "title": hit.title,
        "url": hit.link,
        "section": hit.section,
        "snippet": hit.snippet,
        "score": round(hit.score, 4),
    }


def message_dict(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "conversation_id": message.conversation_id,
        "role": message.role.value,
        "text": message.text,
        "author": message.agent.name if message.agent else None,
        "sources": message.payload.get("sources", []),
        "buttons": message.payload.get("buttons", []),
        "created_at": message.created_at.isoformat(),
        "delivery": delivery_dict(message),
    }


def delivery_dict(message: Message) -> dict[str, Any] | None:
    """How a reply left by a channel's API (None for live channels and customer messages)."""
    state = inspect(message)
    if state.detached and "delivery" in state.unloaded:
        return None  # a message handed back by a finished write: nothing was queued for it
    delivery = message.delivery
    if delivery is None:
        return None
    return {
        "status": delivery.status.value,
        "error": delivery.error,
        "attempts": delivery.attempts,
        "updated_at": delivery.updated_at.isoformat(),
    }


ALWAYS_OPEN = Calendar()


def ticket_brief(
    ticket: Ticket | None, calendar: Calendar = ALWAYS_OPEN, now: datetime | None = None
) -> dict[str, Any] | None:
    if ticket is None:
        return None
    return {
        "id": ticket.id,
        "number": ticket.number,
        "status": ticket.status.value,
        "priority": ticket.priority.value,
        "reason": ticket.reason,
        "subject": ticket.subject,
        "category": ticket.category,
        "tags": ticket.tags,
        "team": None if ticket.team is None else {"id": ticket.team.id, "name": ticket.team.name},
        "assignee": agent_dict(ticket.assignee),
        "created_at": ticket.created_at.isoformat(),
        "sla": clocks.status(ticket, calendar, now or utcnow()),
    }


def conversation_summary(
    session: Session, conversation: Conversation, calendar: Calendar = ALWAYS_OPEN
) -> dict[str, Any]:
    last = latest_message(session, conversation.id)
    contact = conversation.contact
    return {
        "id": conversation.id,
        "state": conversation.state.value,
        "channel": conversation.channel,
        "contact": {"id": contact.id, "name": contact.name, "email": contact.email},
        "language": conversation.language,
        "agent": agent_dict(conversation.agent),
        "ticket": ticket_brief(latest_ticket(conversation), calendar),
        "last_message": message_dict(last) if last else None,
        "created_at": conversation.created_at.isoformat(),
        "updated_at": conversation.updated_at.isoformat(),
    }


def queue_place(session: Session, ticket: Ticket) -> QueuePlace:
    """Where a waiting ticket stands: position (1 = next) and estimated wait in seconds
    (null when nobody in its team is online)."""
    place = routing.position(session, ticket)
    wait = routing.estimated_wait(session, ticket, place)
    return {
        "position": place,
        "estimated_wait_seconds": None if wait is None else round(wait.total_seconds()),
    }


def widget_conversation(
    conversation: Conversation, session: Session | None = None
) -> WidgetConversation:
    ticket = latest_ticket(conversation)
    queue = None
    if (
        session is not None
        and ticket is not None
        and conversation.state is ConversationState.QUEUED
        and ticket.assignee_id is None
    ):
        queue = queue_place(session, ticket)
    return {
        "id": conversation.id,
        "state": conversation.state.value,
        "agent": agent_dict(conversation.agent),
        "ticket_number": ticket.number if ticket else None,
        "queue": queue,
    }


def ticket_dict(ticket: Ticket, calendar: Calendar = ALWAYS_OPEN) -> dict[str, Any]:
    return {
        **(ticket_brief(ticket, calendar) or {}),
        "language": ticket.language,
        "first_response_at": iso(ticket.first_response_at),
        "closed_at": iso(ticket.closed_at),
        "resolution": ticket.resolution,
        "reopen_count": ticket.reopen_count,
        "transfer_count": ticket.transfer_count,
        "history": [ticket_event_dict(e) for e in ticket.events],
        "conversation_id": ticket.conversation_id,
        "contact": {
            "id": ticket.contact.id,
            "name": ticket.contact.name,
            "email": ticket.contact.email,
        },
        "channel": ticket.channel,
        "transcript": ticket.transcript,
        "bot_attempts": ticket.bot_attempts,
        "created_at": ticket.created_at.isoformat(),
        "updated_at": ticket.updated_at.isoformat(),
        "resolved_at": ticket.resolved_at.isoformat() if ticket.resolved_at else None,
        "csat": {
            "score": ticket.csat_score,
            "comment": ticket.csat_comment,
            "at": ticket.csat_at.isoformat() if ticket.csat_at else None,
            "flagged": ticket.csat_flagged,
        },
    }


def note_dict(note: Note) -> dict[str, Any]:
    return {
        "id": note.id,
        "conversation_id": note.conversation_id,
        "contact_id": note.contact_id,
        "text": note.text,
        "author": note.author.name,
        "created_at": note.created_at.isoformat(),
    }


def ticket_event_dict(entry: TicketEvent) -> dict[str, Any]:
    return {
        "id": entry.id,
        "ticket_id": entry.ticket_id,
        "kind": entry.kind,
        "data": entry.data,
        "agent": agent_dict(entry.agent),
        "created_at": entry.created_at.isoformat(),
    }


def contact_dict(contact: Contact) -> dict[str, Any]:
    return {"id": contact.id, "name": contact.name, "email": contact.email, "phone": contact.phone}


def account_dict(agent: Agent) -> dict[str, Any]:
    """An account as the admins' page shows it (deactivated ones too)."""
    return {
        "id": agent.id,
        "name": agent.name,
        "email": agent.email,
        "role": agent.role.value,
        "is_active": agent.is_active,
        "capacity": agent.capacity,
        "created_at": agent.created_at.isoformat(),
    }


def audit_dict(entry: AuditEntry) -> dict[str, Any]:
    actor = entry.actor
    return {
        "id": entry.id,
        "at": entry.at.isoformat(),
        "actor": None
        if actor is None
        else {"id": actor.id, "name": actor.name, "email": actor.email},
        "action": entry.action,
        "target": entry.target,
        "detail": entry.detail,
        "ip": entry.ip,
    }
