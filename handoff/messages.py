"""Messages: what a usable text is, appending one to a conversation, and its status."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from handoff.errors import InvalidInput
from handoff.models import Agent, Conversation, Delivery, Message, utcnow
from handoff.states import MessageRole, MessageStatus
from handoff.text import scrub
from handoff.texts import PAYLOAD_KEY, Say, render, to_payload

MAX_MESSAGE_CHARS = 4000


def clean_text(text: object) -> str:
    """A message text as stored: a string, NUL and unpaired surrogates scrubbed
    (`handoff.text`), stripped, not empty, at most MAX_MESSAGE_CHARS characters. Every text
    from a socket, a channel's webhook or the agents' API passes here (raises InvalidInput)."""
    if not isinstance(text, str):
        raise InvalidInput("text must be a string")
    stripped = scrub(text).strip()
    if not stripped:
        raise InvalidInput("text is empty")
    if len(stripped) > MAX_MESSAGE_CHARS:
        raise InvalidInput(f"text is longer than {MAX_MESSAGE_CHARS} characters")
    return stripped


def add_message(
    session: Session,
    conversation: Conversation,
    role: MessageRole,
    text: str | Sequence[Say],
    *,
    status: MessageStatus = MessageStatus.PROCESSED,
    payload: dict[str, Any] | None = None,
    agent: Agent | None = None,
    client_id: str | None = None,
    flush: bool = True,
) -> Message:
    """Append a message. The hub's own notices come as `Say` parts (handoff.texts): stored in
    English with the parts, which the hub renders in the conversation's language. Flushed
    (it has its id) unless `flush` is False: the caller flushes several at once."""
    if not isinstance(text, str):
        payload = {**(payload or {}), PAYLOAD_KEY: to_payload(text)}
        text = render(text)
    message = Message(
        conversation=conversation,
        role=role,
        text=text,
        status=status,
        payload=payload or {},
        agent=agent,
        client_id=client_id,
    )
    session.add(message)
    conversation.updated_at = utcnow()
    if conversation.external_id is not None and role is not MessageRole.CUSTOMER:
        # The conversation lives on a channel reached by an API: the reply is queued for
        # the outbox in the transaction that stores it, so it cannot be stored and lost.
        session.add(
            Delivery(message=message, conversation=conversation, channel=conversation.channel)
        )
    if flush:
        session.flush()
    return message


def settle(session: Session, message_id: int | None, status: MessageStatus, **extra: Any) -> None:
    """A received customer message is done with: processed, or failed with the reason."""
    if message_id is None:
        return
    message = session.get(Message, message_id)
    if message is not None and message.status is MessageStatus.RECEIVED:
        message.status = status
        if extra:
            message.payload = {**message.payload, **extra}
