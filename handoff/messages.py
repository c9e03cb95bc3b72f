"""Appending a message to a conversation (shared by the operations modules)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from handoff.models import Agent, Conversation, Message, utcnow
from handoff.states import MessageRole, MessageStatus


def add_message(
    session: Session,
    conversation: Conversation,
    role: MessageRole,
    text: str,
    *,
    status: MessageStatus = MessageStatus.PROCESSED,
    payload: dict[str, Any] | None = None,
    agent: Agent | None = None,
) -> Message:
    message = Message(
        conversation=conversation,
        role=role,
        text=text,
        status=status,
        payload=payload or {},
        agent=agent,
    )
    session.add(message)
    conversation.updated_at = utcnow()
    session.flush()
    return message
