"""Conversations and their messages and notes (`api/routes/agents.py`)."""

from __future__ import annotations

from typing import Any

from api.schemas.base import AgentBrief, ContactBrief, Schema
from api.schemas.contacts import ContactRecord
from api.schemas.tickets import TicketBrief, TicketOut
from handoff.states import ConversationState, DeliveryStatus, MessageRole


class DeliveryOut(Schema):
    """How a reply left by a channel's API: queued (with retries), sent, delivered, read,
    or failed for good with the reason."""

    status: DeliveryStatus
    error: str | None
    attempts: int
    updated_at: str


class MessageOut(Schema):
    """A message (docs/protocol.md "Message"). `sources` (knowledge-base articles) and
    `buttons` (choices the bot offered) come from the bot's payload as Rasa sent them."""

    id: int
    conversation_id: int
    role: MessageRole
    text: str
    author: str | None
    sources: list[dict[str, Any]]
    buttons: list[dict[str, Any]]
    created_at: str
    delivery: DeliveryOut | None = None


class NoteOut(Schema):
    """An internal note, on a conversation or on a contact."""

    id: int
    conversation_id: int | None
    contact_id: int | None
    text: str
    author: str
    created_at: str


class ConversationSummary(Schema):
    """A conversation as the console lists it (`serializers.conversation_summary`)."""

    id: int
    state: ConversationState
    channel: str
    contact: ContactBrief
    language: str
    agent: AgentBrief | None
    ticket: TicketBrief | None
    last_message: MessageOut | None
    created_at: str
    updated_at: str


class ConversationOut(Schema):
    """The conversation after an agent's action on it."""

    conversation: ConversationSummary


class ConversationList(Schema):
    conversations: list[ConversationSummary]


class ChannelInfo(Schema):
    """What the customer's channel can show, for the reply box."""

    name: str
    live: bool
    buttons: int
    text_limit: int
    limits: list[str]
    window_hours: int | None = None  # the customer-service window, if the channel has one
    window_open: bool = True  # False: agents' replies are refused (409) until the customer writes
    template: str | None = None  # what can still be sent outside the window (POST …/template)


class ConversationDetail(Schema):
    """Everything the console shows beside an open conversation."""

    conversation: ConversationSummary
    messages: list[MessageOut]
    notes: list[NoteOut]
    ticket: TicketOut | None
    contact: ContactRecord
    channel: ChannelInfo


class MessageCreated(Schema):
    message: MessageOut
