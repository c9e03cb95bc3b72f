"""Agents' replies that customers rated well, and the question each answered: the memory
the console's suggestions draw on ("what did a colleague say to this before?")."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff.models import Message, Ticket
from handoff.privacy import ERASED
from handoff.states import MessageRole, TicketStatus

# A reply this short ("ok", "thanks!") teaches nobody anything.
MIN_REPLY_CHARS = 20


@dataclass(frozen=True)
class RatedReply:
    message_id: int
    question: str  # the customer's last message before the reply
    text: str
    conversation_id: int
    ticket_number: int
    rating: int


def rated_replies(
    session: Session,
    *,
    min_rating: int = 4,
    exclude_conversation: int | None = None,
    tickets_limit: int = 300,
) -> list[RatedReply]:
    """Agents' replies in the most recently rated tickets scoring `min_rating` or more
    (resolved or closed), each with the customer's message it answered."""
    query = (
        select(Ticket)
        .where(
            Ticket.csat_score >= min_rating,
            Ticket.status.in_([TicketStatus.RESOLVED, TicketStatus.CLOSED]),
        )
        .order_by(Ticket.csat_at.desc(), Ticket.id.desc())
        .limit(tickets_limit)
    )
    if exclude_conversation is not None:
        query = query.where(Ticket.conversation_id != exclude_conversation)
    rated: dict[int, Ticket] = {}
    for ticket in session.scalars(query):
        rated.setdefault(ticket.conversation_id, ticket)  # the latest rating wins
    if not rated:
        return []
    messages = session.scalars(
        select(Message)
        .where(
            Message.conversation_id.in_(rated),
            Message.role.in_([MessageRole.CUSTOMER, MessageRole.AGENT]),
        )
        .order_by(Message.conversation_id, Message.id)
    ).all()
    return _pairs(messages, rated)


def _pairs(messages: Sequence[Message], rated: dict[int, Ticket]) -> list[RatedReply]:
    replies: list[RatedReply] = []
    question: dict[int, str] = {}
    for message in messages:
        if message.text == ERASED:
            continue
        if message.role is MessageRole.CUSTOMER:
            question[message.conversation_id] = message.text
            continue
        asked = question.get(message.conversation_id)
        if asked is None or len(message.text.strip()) < MIN_REPLY_CHARS:
            continue
        ticket = rated[message.conversation_id]
        replies.append(
            RatedReply(
                message_id=message.id,
                question=asked,
                text=message.text,
                conversation_id=message.conversation_id,
                ticket_number=ticket.number,
                rating=ticket.csat_score or 0,
            )
        )
    return replies
