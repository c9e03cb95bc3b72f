"""Customer records (`api/routes/contacts.py`, built by `handoff.contacts.history`)."""

from __future__ import annotations

from api.schemas.base import ContactBrief, Schema
from handoff.states import ConversationState, Priority, TicketStatus


class ContactOut(Schema):
    """A contact's own fields (the agents' live `contact` frame carries this)."""

    id: int
    name: str
    email: str | None
    phone: str | None


class IdentityOut(Schema):
    """Who the contact is on a channel (a site's user id, a chat's sender id)."""

    channel: str
    external_id: str


class ContactConversation(Schema):
    id: int
    channel: str
    state: ConversationState
    created_at: str
    updated_at: str


class ContactTicket(Schema):
    id: int
    number: int
    subject: str
    status: TicketStatus
    priority: Priority
    created_at: str
    csat_score: int | None


class Rating(Schema):
    ticket: int
    score: int
    at: str | None


class Satisfaction(Schema):
    ratings: list[Rating]
    mean: float | None


class ContactNote(Schema):
    id: int
    text: str
    author: str
    conversation_id: int | None
    created_at: str


class ContactRecord(Schema):
    """The record an agent sees: identities, conversations, tickets, satisfaction, notes."""

    id: int
    name: str
    email: str | None
    phone: str | None
    created_at: str
    identities: list[IdentityOut]
    conversations: list[ContactConversation]
    tickets: list[ContactTicket]
    satisfaction: Satisfaction
    notes: list[ContactNote]


class ContactList(Schema):
    contacts: list[ContactBrief]
