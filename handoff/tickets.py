"""Tickets are born here: the hand-off from the bot to people, with a ticket that carries
the transcript, what the bot tried, the topic, the team, and its SLA clocks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handoff import clocks, history, routing
from handoff.events import Event, conversation_changed, message_created, queue_moved
from handoff.lookups import get_conversation, sla_policies
from handoff.messages import add_message, settle
from handoff.models import Conversation, Ticket, utcnow
from handoff.rules import DEFAULT_RULES, Rules
from handoff.states import ConversationState, HandoffReason, MessageRole, MessageStatus, Priority
from handoff.texts import N_, Say, say, with_params

FIRST_TICKET_NUMBER = 1001


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
    HandoffReason.BOT_UNAVAILABLE.value: N_(
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


def _queue_notice(session: Session, ticket: Ticket) -> Say:
    place = routing.position(session, ticket)
    wait = routing.estimated_wait(session, ticket, place)
    number = f"#{ticket.number}"
    if wait is None:
        return say(
            N_(
                "You are number {place} in the queue for a person (ticket {ticket})."
                " Everything you wrote is with them, and you can keep writing here."
            ),
            place=place,
            ticket=number,
        )
    minutes = max(1, round(wait.total_seconds() / 60)) if wait else 0
    if not minutes:
        return say(
            N_(
                "You are number {place} in the queue for a person (ticket {ticket}); someone"
                " will be with you shortly. Everything you wrote is with them, and you can keep"
                " writing here."
            ),
            place=place,
            ticket=number,
        )
    return say(
        N_(
            "You are number {place} in the queue for a person (ticket {ticket}), about"
            " {minutes} min. Everything you wrote is with them, and you can keep writing here."
        ),
        place=place,
        ticket=number,
        minutes=minutes,
    )


def _offline_notice(ticket: Ticket, email: str | None, business_hours: str | None) -> Say:
    number = f"#{ticket.number}"
    if email and business_hours:
        text = N_(
            "I've opened ticket {ticket} with everything you wrote. Our team will reply by email"
            " at {email} during business hours, {hours}. You can keep writing here too."
        )
    elif email:
        text = N_(
            "I've opened ticket {ticket} with everything you wrote. Our team will reply by email"
            " at {email} as soon as they are back. You can keep writing here too."
        )
    elif business_hours:
        text = N_(
            "I've opened ticket {ticket} with everything you wrote. Our team will reply by email"
            " during business hours, {hours}. You can keep writing here too."
        )
    else:
        text = N_(
            "I've opened ticket {ticket} with everything you wrote. Our team will reply by email"
            " as soon as they are back. You can keep writing here too."
        )
    return say(text, ticket=number, email=email or "", hours=business_hours or "")


def hand_off(
    session: Session,
    *,
    conversation_id: int,
    reason: HandoffReason | str,
    priority: Priority = Priority.NORMAL,
    customer_message_id: int | None = None,
    error: str | None = None,
    contact_email: str | None = None,
    offline: bool = False,
    business_hours: str | None = None,
    article_tags: Mapping[str, Sequence[str]] | None = None,
    notice: str | Sequence[Say] | None = None,
    rules: Rules = DEFAULT_RULES,
    now: datetime | None = None,
) -> tuple[Ticket, list[Event]]:
    """Move the conversation to the people's queue with a ticket that carries it all:
    transcript, what the bot tried, category and tags (from the knowledge base's tags,
    `article_tags`), the team whose skills fit, and SLA due times.

    `offline`: nobody is online to take it now; the customer is told the team replies by
    email (to `contact_email`, which is kept on the contact). `notice`: what to tell the
    customer instead of their place in the queue ("{ticket}" becomes "#1001"; `Say` parts get
    the `ticket` parameter)."""
    now = now or utcnow()
    conversation = get_conversation(session, conversation_id)
    if contact_email:
        conversation.contact.email = contact_email
    conversation.state = conversation.state.transition(ConversationState.QUEUED)
    conversation.agent = None
    if error is not None:
        settle(session, customer_message_id, MessageStatus.FAILED, error=error)
    else:
        settle(session, customer_message_id, MessageStatus.PROCESSED)
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
    clocks.start(ticket, sla_policies(session).get(priority), rules.calendar, now)
    session.flush()
    history.record(
        session,
        ticket,
        "created",
        now,
        reason=str(reason),
        priority=priority.value,
        team=team.id if team else None,
    )
    lead = _QUEUE_NOTICE.get(str(reason))
    text: str | list[Say]
    if isinstance(notice, str):
        text = notice.replace("{ticket}", f"#{ticket.number}")
    elif notice is not None:
        text = with_params(notice, ticket=f"#{ticket.number}")
    elif offline:
        text = [_offline_notice(ticket, conversation.contact.email, business_hours)]
    else:
        text = [*([say(lead)] if lead else []), _queue_notice(session, ticket)]
    message = add_message(session, conversation, MessageRole.SYSTEM, text)
    return ticket, [
        message_created(conversation.id, message.id),
        conversation_changed(conversation.id),
        queue_moved(),
        *routing.auto_assign(session, now=now)[1],
    ]
