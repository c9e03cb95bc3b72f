"""A person's data export and the summary of an erasure (`api/routes/contacts.py`, built by
`handoff.privacy`)."""

from __future__ import annotations

from typing import Any

from api.schemas.base import Schema
from handoff.states import ConversationState, MessageRole, Priority, TicketStatus


class ExportedContact(Schema):
    id: int
    name: str
    email: str | None
    phone: str | None
    created_at: str


class ExportedIdentity(Schema):
    channel: str
    external_id: str
    created_at: str | None


class ExportedMessage(Schema):
    id: int
    role: MessageRole
    text: str
    payload: dict[str, Any]
    author: str | None
    created_at: str


class ExportedConversation(Schema):
    id: int
    channel: str
    language: str
    state: ConversationState
    created_at: str
    updated_at: str
    messages: list[ExportedMessage]


class ExportedTicket(Schema):
    id: int
    number: int
    conversation_id: int
    subject: str
    reason: str
    status: TicketStatus
    priority: Priority
    category: str | None
    tags: list[str]
    channel: str
    created_at: str
    resolved_at: str | None
    closed_at: str | None
    transcript: list[dict[str, Any]]
    bot_attempts: list[dict[str, Any]]
    csat_score: int | None
    csat_comment: str | None
    csat_at: str | None


class ExportedNote(Schema):
    id: int
    text: str
    author: str
    conversation_id: int | None
    created_at: str


class ContactExport(Schema):
    """Everything held on one person: the contact, the records merged into it, identities,
    conversations with their messages, tickets with transcripts and ratings, notes."""

    exported_at: str
    contact: ExportedContact
    merged_contacts: list[ExportedContact]
    identities: list[ExportedIdentity]
    conversations: list[ExportedConversation]
    tickets: list[ExportedTicket]
    notes: list[ExportedNote]


class ErasureOut(Schema):
    """What an erasure changed, by count; `bot_trackers_reset` (name kept from the first
    version of this API) counts the conversations whose Rasa tracker was emptied (best-effort:
    Rasa may be down; a `/restart` fallback is not counted)."""

    contact_id: int
    contacts: int
    conversations: int
    messages: int
    tickets: int
    notes: int
    identities: int
    deliveries: int
    inbound_events: int
    bot_trackers_reset: int
