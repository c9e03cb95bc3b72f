"""What a write operation tells the hub to publish once its transaction has committed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

EventKind = Literal["message", "conversation", "queue", "note", "ticket", "contact", "agent"]


@dataclass(frozen=True)
class Event:
    """A change to publish: a new message, a conversation whose summary changed, a queue
    that moved (positions to tell the customers in it), an internal note (agents only), or
    a ticket event such as an SLA breach (agents only), a contact record that changed, or an
    agent whose presence or account changed (agents only).

    Events carry ids, not rows: the publisher reads the committed state, so nothing is
    published that a rolled-back transaction never wrote.
    """

    kind: EventKind
    conversation_id: int = 0
    message_id: int | None = None
    note_id: int | None = None
    ticket_event_id: int | None = None
    contact_id: int | None = None
    agent_id: int | None = None


def message_created(conversation_id: int, message_id: int) -> Event:
    return Event("message", conversation_id, message_id)


def conversation_changed(conversation_id: int) -> Event:
    return Event("conversation", conversation_id)


def queue_moved() -> Event:
    return Event("queue")


def note_added(conversation_id: int, note_id: int) -> Event:
    return Event("note", conversation_id, note_id=note_id)


def ticket_event(conversation_id: int, ticket_event_id: int) -> Event:
    return Event("ticket", conversation_id, ticket_event_id=ticket_event_id)


def contact_changed(contact_id: int) -> Event:
    return Event("contact", contact_id=contact_id)


def agent_changed(agent_id: int) -> Event:
    return Event("agent", agent_id=agent_id)
