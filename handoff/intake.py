"""Customer intake: a new conversation, the customer's language, and storing what the
customer wrote before anything else happens to it (reopening, restarting or rating on the way).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from handoff import clocks, contacts, csat, history, routing
from handoff.errors import InvalidInput
from handoff.events import Event, conversation_changed, message_created, queue_moved
from handoff.languages import LanguageSource
from handoff.lookups import (
    active_ticket,
    find_conversation_by_token,
    get_contact,
    get_conversation,
    latest_open_conversation,
    offered_buttons,
    sla_policies,
)
from handoff.messages import add_message, clean_text
from handoff.models import Contact, Conversation, Message, utcnow
from handoff.rules import DEFAULT_RULES, Rules
from handoff.states import (
    HANDED_BACK,
    ConversationState,
    MessageRole,
    MessageStatus,
    Presence,
    TicketStatus,
)
from handoff.texts import N_, say

MAX_CLIENT_ID = 64


def open_conversation(
    session: Session,
    *,
    channel: str = "widget",
    contact_name: str | None = None,
    contact: Contact | None = None,
    language: str | None = None,
    language_source: LanguageSource | None = None,
    public_token: str | None = None,
) -> tuple[Conversation, list[Event]]:
    """A new conversation, for a known `contact` or a new anonymous one; `public_token` when
    the client was already given one (see `conversation_for_token`). A `language` is
    explicit unless `language_source` says otherwise; without one it is English by default."""
    if contact is None:
        contact = Contact(name=contact_name or "Visitor")
    conversation = Conversation(
        contact=contact,
        channel=channel,
        public_token=public_token or new_public_token(),
        language=(language or "en")[:16],
        language_source=("explicit" if language else "default")
        if language_source is None
        else language_source,
    )
    session.add(conversation)
    session.flush()
    if contact_name is None and contact.name == "Visitor":
        contact.name = f"Visitor {contact.id}"
    return conversation, [conversation_changed(conversation.id)]


def new_public_token() -> str:
    """A conversation's bearer key for its customer (192 random bits)."""
    return secrets.token_urlsafe(24)


def conversation_for_token(
    session: Session,
    *,
    channel: str,
    public_token: str,
    language: str | None = None,
    language_source: LanguageSource | None = None,
) -> tuple[Conversation, list[Event]]:
    """The conversation a customer's first message creates, under the token they were given
    when they arrived (the hub issues the token first and stores nothing until there is
    something to store: a visitor who never writes leaves no rows). The same token twice
    (two tabs, a re-sent message) is the same conversation."""
    existing = find_conversation_by_token(session, public_token)
    if existing is not None:
        if existing.channel != channel:
            raise InvalidInput("that token belongs to another channel's conversation")
        return existing, []
    try:
        with session.begin_nested():  # two tabs racing: the unique token decides
            return open_conversation(
                session,
                channel=channel,
                language=language,
                language_source=language_source,
                public_token=public_token,
            )
    except IntegrityError:
        existing = find_conversation_by_token(session, public_token)
        if existing is None or existing.channel != channel:
            raise
        return existing, []


def conversation_for_identity(
    session: Session,
    *,
    channel: str,
    identity_channel: str,
    external_id: str,
    name: str | None = None,
    email: str | None = None,
    public_token: str | None = None,
    language: str | None = None,
    language_source: LanguageSource | None = None,
) -> tuple[Conversation, list[Event]]:
    """The verified user's conversation on `channel`: the one `public_token` names if it is
    theirs (or an anonymous one they started before signing in, which joins their record),
    else their latest open one, else a new one.

    The caller must have verified the identity (a signed site user id, a chat's sender id
    from the channel's own verified webhook)."""
    contact, events = contacts.identify(
        session, channel=identity_channel, external_id=external_id, name=name, email=email
    )
    if public_token is not None:
        conversation = find_conversation_by_token(session, public_token)
        if conversation is not None and conversation.channel == channel:
            owner = get_contact(session, conversation.contact_id)
            if owner.id == contact.id:
                return conversation, events
            if not owner.identities:
                _merged, merged_events = contacts.merge(
                    session, keep_id=contact.id, other_id=owner.id
                )
                return conversation, [
                    *events,
                    *merged_events,
                    conversation_changed(conversation.id),
                ]
            # Another user's conversation (a shared browser): leave it alone.
    latest = latest_open_conversation(session, contact_id=contact.id, channel=channel)
    if latest is not None:
        return latest, events
    conversation, opened = open_conversation(
        session,
        channel=channel,
        contact=contact,
        language=language,
        language_source=language_source,
    )
    return conversation, [*events, *opened]


def set_language(
    session: Session, *, conversation_id: int, language: str
) -> tuple[Conversation, list[Event]]:
    """The customer's language, as the client reports it (explicit: detection will not
    change it); routing reads it at hand-off, so once a ticket exists the language stays as
    the ticket was routed."""
    conversation = get_conversation(session, conversation_id)
    language = language[:16]
    if conversation.tickets:
        return conversation, []
    if conversation.language == language and conversation.language_source == "explicit":
        return conversation, []
    conversation.language = language
    conversation.language_source = "explicit"
    return conversation, [conversation_changed(conversation.id)]


def receive_customer_message(
    session: Session,
    *,
    conversation_id: int,
    text: object,
    client_id: str | None = None,
    button: object = None,
    metadata: Mapping[str, Any] | None = None,
    rules: Rules = DEFAULT_RULES,
    now: datetime | None = None,
) -> tuple[Message, list[Event]]:
    """Store what the customer wrote, before anything else happens to it.

    `metadata` is what the client sent along for the bot (checked by
    handoff.client_metadata); it is stored with the message and goes to Rasa with it.

    The message is RECEIVED while the bot still has to answer it; while the conversation is
    with people it is routed to them by being stored, so it is PROCESSED at once. A customer
    writing after resolution starts fresh with the bot. A message re-sent with a client id
    already stored is the same message: it is returned as it is, with nothing to publish.
    A `button` payload is accepted only if the bot's latest message offers it: customers
    cannot inject intents by typing or forging payloads.

    Within `rules.reopen_window` of a resolution, a message (other than the rating)
    reopens the ticket and goes back to people; a ticket pending on the customer is open
    again, and its SLA clock runs again.
    """
    now = now or utcnow()
    body = clean_text(text)
    if client_id is not None and (not isinstance(client_id, str) or len(client_id) > MAX_CLIENT_ID):
        raise InvalidInput(f"client_id must be a string of at most {MAX_CLIENT_ID} characters")
    conversation = get_conversation(session, conversation_id)
    if client_id:
        earlier = session.scalar(
            select(Message).where(
                Message.conversation_id == conversation.id, Message.client_id == client_id
            )
        )
        if earlier is not None:
            return earlier, []
    events: list[Event] = []
    if conversation.state is ConversationState.RESOLVED:
        pending = csat.pending_step(session, conversation)
        if pending is not None and csat.is_reply(
            pending[0], button if isinstance(button, str) else None
        ):
            return _receive_csat_reply(session, conversation, body, button, client_id, pending)
        events += _reopen_or_restart(session, conversation, rules, now)
    elif conversation.state.with_people:
        ticket = active_ticket(conversation)
        if ticket is not None and ticket.status is TicketStatus.PENDING:
            ticket.status = ticket.status.transition(TicketStatus.OPEN)
            clocks.resume(ticket, rules.calendar, now)
            history.record(session, ticket, "customer_replied", now)
            events.append(conversation_changed(conversation.id))
    payload: dict[str, Any] = {}
    if button is not None:
        offered = {b.get("payload") for b in offered_buttons(session, conversation.id)}
        if not isinstance(button, str) or button not in offered:
            raise InvalidInput("that choice is not offered (any more); type your question instead")
        payload["button"] = button
    if metadata:
        payload["metadata"] = dict(metadata)
    status = MessageStatus.PROCESSED if conversation.state.with_people else MessageStatus.RECEIVED
    message = add_message(
        session,
        conversation,
        MessageRole.CUSTOMER,
        body,
        status=status,
        payload=payload,
        client_id=client_id or None,
    )
    events += [message_created(conversation.id, message.id), conversation_changed(conversation.id)]
    return message, events


def _reopen_or_restart(
    session: Session, conversation: Conversation, rules: Rules, now: datetime
) -> list[Event]:
    latest = conversation.tickets[-1] if conversation.tickets else None
    if (
        latest is not None
        and latest.status is TicketStatus.RESOLVED
        and latest.resolved_at is not None
        and now - latest.resolved_at <= rules.reopen_window
        and latest.resolution != HANDED_BACK
    ):
        latest.status = latest.status.transition(TicketStatus.OPEN)
        latest.reopen_count += 1
        latest.resolved_at = None
        latest.updated_at = now
        clocks.restart_resolution(
            latest, sla_policies(session).get(latest.priority), rules.calendar, now
        )
        history.record(session, latest, "reopened", now)
        agent = latest.assignee
        if agent is not None and agent.is_active and agent.presence is not Presence.OFFLINE:
            conversation.state = conversation.state.transition(ConversationState.AGENT)
            conversation.agent = agent
            note = say(
                N_("Your ticket {ticket} is open again; {agent} will be with you."),
                ticket=f"#{latest.number}",
                agent=agent.name,
            )
        else:
            latest.assignee = None
            conversation.state = conversation.state.transition(ConversationState.QUEUED)
            conversation.agent = None
            note = say(
                N_("Your ticket {ticket} is open again; you are back in the queue."),
                ticket=f"#{latest.number}",
            )
        message = add_message(session, conversation, MessageRole.SYSTEM, [note])
        return [
            message_created(conversation.id, message.id),
            conversation_changed(conversation.id),
            queue_moved(),
            *routing.auto_assign(session, now=now)[1],
        ]
    conversation.state = conversation.state.transition(ConversationState.BOT)
    conversation.agent = None
    return [conversation_changed(conversation.id)]


def _receive_csat_reply(
    session: Session,
    conversation: Conversation,
    body: str,
    button: object,
    client_id: str | None,
    pending: tuple[csat.Step, int],
) -> tuple[Message, list[Event]]:
    payload = {"button": button} if isinstance(button, str) else {}
    message = add_message(session, conversation, MessageRole.CUSTOMER, body, payload=payload)
    message.client_id = client_id or None
    _ticket, events = csat.record_reply(
        session, conversation=conversation, step=pending[0], ticket_id=pending[1], message=message
    )
    return message, [message_created(conversation.id, message.id), *events]
