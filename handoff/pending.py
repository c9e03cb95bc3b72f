"""Customer messages stored but not yet handled (RECEIVED), in the order they were stored.

A message is RECEIVED only while the bot (or, on channels without a bot, the team's queue)
still has to take it: intake stores messages to a conversation with people as PROCESSED.
Whoever holds a conversation's lock handles them oldest first (api/dialogue.py); every hub
looks for ones left behind by a hub that died (`stale`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import Session

from handoff.events import Event
from handoff.models import Conversation, Message
from handoff.states import MessageRole, MessageStatus


def _received() -> ColumnElement[bool]:
    return and_(Message.role == MessageRole.CUSTOMER, Message.status == MessageStatus.RECEIVED)


def next_received(session: Session, *, conversation_id: int) -> Message | None:
    """The conversation's oldest customer message still waiting, or None."""
    return session.scalar(
        select(Message)
        .where(Message.conversation_id == conversation_id)
        .where(_received())
        .order_by(Message.id)
        .limit(1)
    )


def stale(session: Session, *, before: datetime, limit: int = 100) -> list[tuple[int, str]]:
    """Conversations with a customer message waiting since before `before`, oldest first:
    (conversation id, channel). Served by the index on (status, created_at)."""
    oldest: dict[int, str] = {}
    rows = session.execute(
        select(Message.conversation_id, Conversation.channel)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Message.status == MessageStatus.RECEIVED)
        .where(Message.created_at < before)
        .where(Message.role == MessageRole.CUSTOMER)
        .order_by(Message.created_at, Message.id)
        .limit(limit)
    )
    for conversation_id, channel in rows:
        oldest.setdefault(conversation_id, channel)
    return list(oldest.items())


def route_waiting_to_people(
    session: Session, *, conversation_id: int
) -> tuple[list[int], list[Event]]:
    """The conversation went to people while messages waited for the bot: those messages are
    routed by being stored, as intake does for a conversation with people (PROCESSED), and
    the bot never answers them. Does nothing unless the conversation is with people."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None or not conversation.state.with_people:
        return [], []
    waiting = session.scalars(
        select(Message).where(Message.conversation_id == conversation_id).where(_received())
    ).all()
    for message in waiting:
        message.status = MessageStatus.PROCESSED
    return [m.id for m in waiting], []
