"""The bot's side: storing its replies to a customer message."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from handoff.events import Event, conversation_changed, message_created
from handoff.lookups import get_conversation
from handoff.messages import add_message, settle
from handoff.models import Message
from handoff.states import MessageRole, MessageStatus


@dataclass(frozen=True)
class BotReply:
    """One message the bot sends; `payload` holds structured data such as sources."""

    text: str
    payload: dict[str, Any] = field(default_factory=dict)


def record_bot_replies(
    session: Session,
    *,
    conversation_id: int,
    replies: Sequence[BotReply],
    answering_message_id: int | None = None,
) -> tuple[list[Message], list[Event]]:
    """Store the bot's replies and mark the customer message they answer as processed."""
    conversation = get_conversation(session, conversation_id)
    stored: list[Message] = []
    events: list[Event] = []
    for reply in replies:
        payload = dict(reply.payload)
        if answering_message_id is not None:
            # Which message this answers: the customer may have written again meanwhile.
            payload["in_reply_to"] = answering_message_id
        stored.append(
            add_message(
                session, conversation, MessageRole.BOT, reply.text, payload=payload, flush=False
            )
        )
    session.flush()  # once for all the replies: their ids for the events
    events += [message_created(conversation.id, message.id) for message in stored]
    settle(session, answering_message_id, MessageStatus.PROCESSED)
    if replies:
        events.append(conversation_changed(conversation.id))
    return stored, events
