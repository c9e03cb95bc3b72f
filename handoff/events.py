"""What a write operation tells the hub to publish once its transaction has committed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

EventKind = Literal["message", "conversation"]


@dataclass(frozen=True)
class Event:
    """A change to publish: a new message, or a conversation whose summary changed.

    Events carry ids, not rows: the publisher reads the committed state, so nothing is
    published that a rolled-back transaction never wrote.
    """

    kind: EventKind
    conversation_id: int
    message_id: int | None = None


def message_created(conversation_id: int, message_id: int) -> Event:
    return Event("message", conversation_id, message_id)


def conversation_changed(conversation_id: int) -> Event:
    return Event("conversation", conversation_id)
