"""Named write operations on conversations and tickets.

Each takes a Session inside a transaction the caller owns (`db.transaction`), changes state,
flushes, and returns the events to publish after commit. None of them commits, so a caller
can compose several into one transaction and tests can roll everything back.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handoff import clocks, routing
from handoff.errors import InvalidInput, NotAllowed, NotFound
from handoff.events import Event, conversation_changed, message_created, queue_moved
from handoff.messages import add_message
from handoff.models import Agent, Contact, Conversation, Message, Ticket, utcnow
from handoff.rules import DEFAULT_RULES, Rules
from handoff.states import (
    ConversationState,
    HandoffReason,
    MessageRole,
    MessageStatus,
    Priority,
    TicketStatus,
)

MAX_MESSAGE_CHARS = 4000
HANDED_BACK = "handed_back"
FIRST_TICKET_NUMBER = 1001


@dataclass(frozen=True)
class BotReply:
    """One message the bot sends; `payload` holds structured data such as sources."""

    text: str
    payload: dict[str, Any] = field(default_factory=dict)


def clean_text(text: object) -> str:
    if not isinstance(text, str):
        raise InvalidInput("text must be a string")
    stripped = text.strip()
    if not stripped:
        raise InvalidInput("text is empty")
    if len(stripped) > MAX_MESSAGE_CHARS:
        raise InvalidInput(f"text is longer than {MAX_MESSAGE_CHARS} characters")
    return stripped


def get_conversation(session: Session, conversation_id: int) -> Conversation:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound(f"conversation {conversation_id} not found")
    return conversation


def find_conversation_by_token(session: Session, token: str) -> Conversation | None:
    return session.scalar(select(Conversation).where(Conversation.public_token == token))


def open_conversation(
    session: Session,
    *,
    channel: str = "widget",
    contact_name: str | None = None,
    contact: Contact | None = None,
    language: str = "en",
) -> tuple[Conversation, list[Event]]:
    """A new conversation, for a known `contact` or a new anonymous one."""
    if contact is None:
        contact = Contact(name=contact_name or "Visitor")
    conversation = Conversation(
        contact=contact,
        channel=channel,
        public_token=secrets.token_urlsafe(24),
        language=(language or "en")[:16],
    )
    session.add(conversation)
    session.flush()
    if contact_name is None and contact.name == "Visitor":
        contact.name = f"Visitor {contact.id}"
    return conversation, [conversation_changed(conversation.id)]


def set_language(
    session: Session, conversation_id: int, language: str
) -> tuple[Conversation, list[Event]]:
    """The customer's language, as the client reports it; routing reads it at hand-off, so
    once a ticket exists the language stays as the ticket was routed."""
    conversation = get_conversation(session, conversation_id)
    language = language[:16]
    if conversation.language == language or conversation.tickets:
        return conversation, []
    conversation.language = language
    return conversation, [conversation_changed(conversation.id)]


def _offered_buttons(session: Session, conversation_id: int) -> list[dict[str, Any]]:
    latest = session.scalar(
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.role == MessageRole.BOT)
        .order_by(Message.id.desc())
        .limit(1)
    )
    buttons = latest.payload.get("buttons", []) if latest is not None else []
    return [b for b in buttons if isinstance(b, dict)]


def receive_customer_message(
    session: Session,
    conversation_id: int,
    text: object,
    *,
    client_id: str | None = None,
    button: object = None,
    metadata: Mapping[str, Any] | None = None,
    rules: Rules = DEFAULT_RULES,
    now: datetime | None = None,
) -> tuple[Message, list[Event]]:
    """Store what the customer wrote, before anything else happens to it.

    `metadata` is what the client sent along for the bot (checked by
    handoff.client_metadata); it is stored with the message and goes to Rasa with it.

    The message is RECEIVED while the bot still has to answer it; while the conversation is
    with people it is routed to them by being stored, so it is PROCESSED at once. A customer
    writing after resolution starts fresh with the bot. A message re-sent with a client id
    already stored is the same message: it is returned as it is, with nothing to publish.
    A `button` payload is accepted only if the bot's latest message offers it: customers
    cannot inject intents by typing or forging payloads.

    Within `rules.reopen_window` of a resolution, a message (other than the rating)
    reopens the ticket and goes back to people; a ticket pending on the customer is open
    again, and its SLA clock runs again.
    """
    now = now or utcnow()
    body = clean_text(text)
    if client_id is not None and (not isinstance(client_id, str) or len(client_id) > 64):
        raise InvalidInput("client_id must be a string of at most 64 characters")
    conversation = get_conversation(session, conversation_id)
    if client_id:
        earlier = session.scalar(
            select(Message).where(
                Message.conversation_id == conversation.id, Message.client_id == client_id
            )
        )
        if earlier is not None:
            return earlier, []
    events: list[Event] = []
    if conversation.state is ConversationState.RESOLVED:
        from handoff import csat

        pending = csat.pending_step(session, conversation)
        if pending is not None and csat.is_reply(
            pending[0], button if isinstance(button, str) else None
        ):
            return _receive_csat_reply(session, conversation, body, button, client_id, pending)
        events += _reopen_or_restart(session, conversation, rules, now)
    elif conversation.state.with_people:
        ticket = open_ticket(conversation)
        if ticket is not None and ticket.status is TicketStatus.PENDING:
            ticket.status = ticket.status.transition(TicketStatus.OPEN)
            clocks.resume(ticket, rules.calendar, now)
            clocks.log(session, ticket, "customer_replied", now)
            events.append(conversation_changed(conversation.id))
    payload: dict[str, Any] = {}
    if button is not None:
        offered = {b.get("payload") for b in _offered_buttons(session, conversation.id)}
        if not isinstance(button, str) or button not in offered:
            raise InvalidInput("that choice is not offered (any more); type your question instead")
        payload["button"] = button
    if metadata:
        payload["metadata"] = dict(metadata)
    status = MessageStatus.PROCESSED if conversation.state.with_people else MessageStatus.RECEIVED
    message = add_message(
        session, conversation, MessageRole.CUSTOMER, body, status=status, payload=payload
    )
    message.client_id = client_id or None
    events += [message_created(conversation.id, message.id), conversation_changed(conversation.id)]
    return message, events


def _reopen_or_restart(
    session: Session, conversation: Conversation, rules: Rules, now: datetime
) -> list[Event]:
    latest = conversation.tickets[-1] if conversation.tickets else None
    if (
        latest is not None
        and latest.status is TicketStatus.RESOLVED
        and latest.resolved_at is not None
        and now - latest.resolved_at <= rules.reopen_window
        and latest.resolution != HANDED_BACK
    ):
        latest.status = latest.status.transition(TicketStatus.OPEN)
        latest.reopen_count += 1
        latest.resolved_at = None
        latest.updated_at = now
        clocks.restart_resolution(
            latest, clocks.policies(session).get(latest.priority), rules.calendar, now
        )
        clocks.log(session, latest, "reopened", now)
        agent = latest.assignee
        if agent is not None and agent.is_active and agent.presence.value != "offline":
            conversation.state = conversation.state.transition(ConversationState.AGENT)
            conversation.agent = agent
            note = f"Your ticket #{latest.number} is open again; {agent.name} will be with you."
        else:
            latest.assignee = None
            conversation.state = conversation.state.transition(ConversationState.QUEUED)
            conversation.agent = None
            note = f"Your ticket #{latest.number} is open again; you are back in the queue."
        message = add_message(session, conversation, MessageRole.SYSTEM, note)
        return [
            message_created(conversation.id, message.id),
            conversation_changed(conversation.id),
            queue_moved(),
            *routing.auto_assign(session, now),
        ]
    conversation.state = conversation.state.transition(ConversationState.BOT)
    conversation.agent = None
    return [conversation_changed(conversation.id)]


def _receive_csat_reply(
    session: Session,
    conversation: Conversation,
    body: str,
    button: object,
    client_id: str | None,
    pending: tuple[Any, int],
) -> tuple[Message, list[Event]]:
    from handoff import csat

    payload = {"button": button} if isinstance(button, str) else {}
    message = add_message(session, conversation, MessageRole.CUSTOMER, body, payload=payload)
    message.client_id = client_id or None
    events = [message_created(conversation.id, message.id)]
    return message, events + csat.record_reply(
        session, conversation, pending[0], pending[1], message
    )


def add_bot_message(
    session: Session, conversation: Conversation, text: str, payload: dict[str, Any]
) -> Message:
    return add_message(session, conversation, MessageRole.BOT, text, payload=payload)


def _mark(session: Session, message_id: int | None, status: MessageStatus, **extra: Any) -> None:
    if message_id is None:
        return
    message = session.get(Message, message_id)
    if message is not None and message.status is MessageStatus.RECEIVED:
        message.status = status
        if extra:
            message.payload = {**message.payload, **extra}


def record_bot_replies(
    session: Session,
    conversation_id: int,
    replies: Sequence[BotReply],
    *,
    answering_message_id: int | None = None,
) -> list[Event]:
    conversation = get_conversation(session, conversation_id)
    events: list[Event] = []
    for reply in replies:
        payload = dict(reply.payload)
        if answering_message_id is not None:
            # Which message this answers: the customer may have written again meanwhile.
            payload["in_reply_to"] = answering_message_id
        message = add_message(session, conversation, MessageRole.BOT, reply.text, payload=payload)
        events.append(message_created(conversation.id, message.id))
    _mark(session, answering_message_id, MessageStatus.PROCESSED)
    if replies:
        events.append(conversation_changed(conversation.id))
    return events


def _next_ticket_number(session: Session) -> int:
    current = session.scalar(select(func.max(Ticket.number)))
    return FIRST_TICKET_NUMBER if current is None else current + 1


def _transcript(conversation: Conversation) -> list[dict[str, Any]]:
    return [
        {
            "id": m.id,
            "role": m.role.value,
            "text": m.text,
            "author": m.agent.name if m.agent else None,
            "created_at": m.created_at.isoformat(),
            "payload": m.payload,
        }
        for m in conversation.messages
    ]


_FEEDBACK = {"/helpful": "helpful", "/not_helpful": "not_helpful"}


def _bot_attempts(conversation: Conversation) -> list[dict[str, Any]]:
    """Every knowledge-base attempt, with the question it answered and what it found."""
    attempts: list[dict[str, Any]] = []
    last_question: str | None = None
    asked: dict[Any, str | None] = {
        m.id: m.text for m in conversation.messages if m.role is MessageRole.CUSTOMER
    }
    for m in conversation.messages:
        if m.role is MessageRole.CUSTOMER:
            feedback = _FEEDBACK.get(str(m.payload.get("button")))
            if feedback and attempts and attempts[-1]["decision"] == "answer":
                attempts[-1]["feedback"] = feedback  # the customer's verdict on that answer
                continue
            last_question = m.text
        elif m.role is MessageRole.BOT and "decision" in m.payload:
            attempts.append(
                {
                    "question": asked.get(m.payload.get("in_reply_to"), last_question),
                    "decision": m.payload["decision"],
                    "answer": m.text,
                    "sources": m.payload.get("sources") or m.payload.get("candidates", []),
                    "hits": m.payload.get("hits", []),
                }
            )
    return attempts


def _subject(conversation: Conversation, attempts: list[dict[str, Any]]) -> str:
    # The question the bot could not settle says more than "hi" or "talk to a person".
    unsettled = [a["question"] for a in attempts if a["question"] and a["decision"] != "answer"]
    candidates = unsettled or [a["question"] for a in attempts if a["question"]]
    if not candidates:
        candidates = [m.text for m in conversation.messages if m.role is MessageRole.CUSTOMER]
    subject = candidates[-1] if candidates else "Conversation handed off"
    return subject if len(subject) <= 120 else subject[:117] + "..."


_QUEUE_NOTICE: dict[str, str] = {
    HandoffReason.BOT_UNAVAILABLE.value: (
        "Our assistant is unavailable right now, so I have passed your message to our team."
    ),
}


def _topic(
    attempts: list[dict[str, Any]], article_tags: Mapping[str, Sequence[str]]
) -> tuple[str | None, list[str]]:
    """The ticket's category and tags: from the article the bot came closest with, on the
    last question it could not settle (or the last one asked)."""
    ordered = sorted(attempts, key=lambda a: a.get("decision") == "answer")
    for attempt in reversed(ordered):
        hits = attempt.get("hits") or attempt.get("sources") or []
        for hit in hits[:1]:
            tags = list(article_tags.get(str(hit.get("article_id")), ()))
            if tags:
                return tags[0], tags
    return None, []


def _queue_notice(session: Session, ticket: Ticket) -> str:
    place = routing.position(session, ticket)
    wait = routing.estimated_wait(session, ticket, place)
    text = f"You are number {place} in the queue for a person (ticket #{ticket.number})"
    if wait is not None:
        minutes = max(1, round(wait.total_seconds() / 60)) if wait else 0
        text += "; someone will be with you shortly" if not minutes else f", about {minutes} min"
    return text + ". Everything you wrote is with them, and you can keep writing here."


def hand_off(
    session: Session,
    conversation_id: int,
    *,
    reason: HandoffReason | str,
    priority: Priority = Priority.NORMAL,
    customer_message_id: int | None = None,
    error: str | None = None,
    contact_email: str | None = None,
    offline: bool = False,
    business_hours: str | None = None,
    article_tags: Mapping[str, Sequence[str]] | None = None,
    rules: Rules = DEFAULT_RULES,
    now: datetime | None = None,
) -> tuple[Ticket, list[Event]]:
    """Move the conversation to the people's queue with a ticket that carries it all:
    transcript, what the bot tried, category and tags (from the knowledge base's tags,
    `article_tags`), the team whose skills fit, and SLA due times.

    `offline`: nobody is online to take it now; the customer is told the team replies by
    email (to `contact_email`, which is kept on the contact)."""
    now = now or utcnow()
    conversation = get_conversation(session, conversation_id)
    if contact_email:
        conversation.contact.email = contact_email
    conversation.state = conversation.state.transition(ConversationState.QUEUED)
    conversation.agent = None
    if error is not None:
        _mark(session, customer_message_id, MessageStatus.FAILED, error=error)
    else:
        _mark(session, customer_message_id, MessageStatus.PROCESSED)
    session.flush()
    session.refresh(conversation, ["messages"])
    attempts = _bot_attempts(conversation)
    category, tags = _topic(attempts, article_tags or {})
    team = routing.choose_team(
        session, category=category, language=conversation.language, channel=conversation.channel
    )
    ticket = Ticket(
        number=_next_ticket_number(session),
        conversation=conversation,
        contact_id=conversation.contact_id,
        subject=_subject(conversation, attempts),
        reason=str(reason),
        priority=priority,
        priority_rank=priority.rank,
        category=category,
        tags=tags,
        channel=conversation.channel,
        language=conversation.language,
        team=team,
        transcript=_transcript(conversation),
        bot_attempts=attempts,
        created_at=now,
        updated_at=now,
    )
    session.add(ticket)
    clocks.start(ticket, clocks.policies(session).get(priority), rules.calendar, now)
    session.flush()
    clocks.log(
        session,
        ticket,
        "created",
        now,
        reason=str(reason),
        priority=priority.value,
        team=team.id if team else None,
    )
    lead = _QUEUE_NOTICE.get(str(reason), "")
    if offline:
        where = f" at {conversation.contact.email}" if conversation.contact.email else ""
        notice = (
            f"I've opened ticket #{ticket.number} with everything you wrote. Our team will reply"
            f" by email{where} "
            + (
                f"during business hours, {business_hours}."
                if business_hours
                else "as soon as they are back."
            )
            + " You can keep writing here too."
        )
    else:
        notice = (lead + " " if lead else "") + _queue_notice(session, ticket)
    message = add_message(session, conversation, MessageRole.SYSTEM, notice)
    return ticket, [
        message_created(conversation.id, message.id),
        conversation_changed(conversation.id),
        queue_moved(),
        *routing.auto_assign(session, now),
    ]


def open_ticket(conversation: Conversation) -> Ticket | None:
    for ticket in reversed(conversation.tickets):
        if ticket.status.is_active:
            return ticket
    return None


def _agent(session: Session, agent_id: int) -> Agent:
    agent = session.get(Agent, agent_id)
    if agent is None or not agent.is_active:
        raise NotFound(f"agent {agent_id} not found")
    return agent


def take_over(
    session: Session, conversation_id: int, agent_id: int, now: datetime | None = None
) -> list[Event]:
    """An agent takes a queued conversation (exactly one of several racing agents wins)."""
    return routing.claim(session, conversation_id, agent_id, now or utcnow())


def post_agent_message(
    session: Session, conversation_id: int, agent_id: int, text: object
) -> tuple[Message, list[Event]]:
    body = clean_text(text)
    conversation = get_conversation(session, conversation_id)
    agent = _agent(session, agent_id)
    if conversation.state is not ConversationState.AGENT or conversation.agent_id != agent.id:
        raise NotAllowed("take the conversation over before replying")
    message = add_message(session, conversation, MessageRole.AGENT, body, agent=agent)
    ticket = open_ticket(conversation)
    if ticket is not None and ticket.first_response_at is None:
        ticket.first_response_at = message.created_at
        clocks.log(session, ticket, "first_response", message.created_at, agent=agent)
    return message, [
        message_created(conversation.id, message.id),
        conversation_changed(conversation.id),
    ]


def resolve(
    session: Session, conversation_id: int, agent_id: int, now: datetime | None = None
) -> list[Event]:
    now = now or utcnow()
    conversation = get_conversation(session, conversation_id)
    agent = _agent(session, agent_id)
    if conversation.state is ConversationState.AGENT and conversation.agent_id != agent.id:
        raise NotAllowed("another agent has this conversation")
    conversation.state = conversation.state.transition(ConversationState.RESOLVED)
    ticket = open_ticket(conversation)
    if ticket is not None:
        ticket.status = ticket.status.transition(TicketStatus.RESOLVED)
        ticket.assignee = ticket.assignee or agent
        ticket.resolved_at = ticket.updated_at = now
        ticket.resolution = "resolved"
        ticket.pending_since = None
        clocks.log(session, ticket, "resolved", now, agent=agent)
    message = add_message(
        session,
        conversation,
        MessageRole.SYSTEM,
        f"{agent.name} marked this conversation as resolved. Write again any time.",
    )
    events = [message_created(conversation.id, message.id)]
    if ticket is not None:
        from handoff import csat

        text, payload = csat.rating_prompt(ticket)
        prompt = add_bot_message(session, conversation, text, payload)
        events.append(message_created(conversation.id, prompt.id))
    session.flush()
    return [
        *events,
        conversation_changed(conversation.id),
        queue_moved(),
        *routing.auto_assign(session, now),
    ]
