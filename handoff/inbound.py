"""The inbound event log: what a channel brought in, stored first and once, then turned
into the customer's message in the conversation of its chat or thread."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from handoff import contacts, intake, outbox
from handoff.errors import InvalidInput, NotFound
from handoff.events import Event, message_created
from handoff.lookups import offered_buttons
from handoff.messages import MAX_MESSAGE_CHARS, add_message
from handoff.models import Conversation, Delivery, InboundEvent, Message, Ticket
from handoff.rules import DEFAULT_RULES, Rules
from handoff.states import DeliveryStatus, InboundStatus, MessageRole, MessageStatus
from handoff.text import scrub

MAX_EXTERNAL_ID = 255


def record_event(
    session: Session, *, channel: str, external_id: str, kind: str, data: Mapping[str, Any]
) -> tuple[InboundEvent | None, list[Event]]:
    """Store an accepted event; None if this channel delivered it before (a retry)."""
    external_id = scrub(external_id)[:MAX_EXTERNAL_ID]
    earlier = session.scalar(
        select(InboundEvent.id).where(
            InboundEvent.channel == channel, InboundEvent.external_id == external_id
        )
    )
    if earlier is not None:
        return None, []
    row = InboundEvent(channel=channel, external_id=external_id, kind=kind, data=dict(data))
    try:
        with session.begin_nested():  # two copies racing: the unique constraint decides
            session.add(row)
            session.flush()
    except IntegrityError:
        return None, []
    return row, []


def pending_events(
    session: Session, *, limit: int = 500, before: datetime | None = None
) -> Sequence[InboundEvent]:
    """Events stored but not processed (their hub stopped in between), oldest first; only
    those received before `before` if given (younger ones may be in a live hub's hands)."""
    query = select(InboundEvent).where(InboundEvent.status == InboundStatus.RECEIVED)
    if before is not None:
        query = query.where(InboundEvent.received_at < before)
    return session.scalars(query.order_by(InboundEvent.id).limit(limit)).all()


def conversation_for_thread(
    session: Session, *, channel: str, thread_id: str
) -> Conversation | None:
    return session.scalar(
        select(Conversation).where(
            Conversation.channel == channel, Conversation.external_id == thread_id
        )
    )


def _find_thread(
    session: Session, channel: str, thread_id: str, extra: Mapping[str, Any]
) -> Conversation | None:
    """The chat's conversation: by its thread id, else by other ids the platform says the
    thread has had (`extra["thread_aliases"]`, e.g. a mail's References), else by a ticket
    number the customer quoted (`extra["ticket_number"]`, e.g. "[#1001]" in a subject)."""
    for candidate in [thread_id, *(str(a) for a in extra.get("thread_aliases") or ())]:
        found = conversation_for_thread(
            session, channel=channel, thread_id=candidate[:MAX_EXTERNAL_ID]
        )
        if found is not None:
            return found
    number = extra.get("ticket_number")
    if isinstance(number, int):
        ticket = session.scalar(select(Ticket).where(Ticket.number == number))
        if ticket is not None and ticket.conversation.channel == channel:
            return ticket.conversation
    return None


def _choice(session: Session, conversation_id: int, choice: str | None, text: str) -> str | None:
    """The button payload the customer chose: given outright, by its number in a numbered
    list ("2"), or by index from a platform's button callback ("#1")."""
    offered = [str(b.get("payload")) for b in offered_buttons(session, conversation_id)]
    if choice is not None:
        if choice.startswith("#") and choice[1:].isdigit():
            index = int(choice[1:])
            return offered[index] if index < len(offered) else None
        # A button of an older message: its title arrives as text instead.
        return choice if choice in offered else None
    number = text.strip().rstrip(".)")
    if number.isdigit() and 1 <= int(number) <= len(offered):
        return str(offered[int(number) - 1])
    return None


def accept_event(
    session: Session,
    *,
    event_id: int,
    thread_id: str,
    user_id: str,
    text: str,
    kind: str = "message",
    choice: str | None = None,
    name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    language: str | None = None,
    attachments: Sequence[Mapping[str, Any]] = (),
    extra: Mapping[str, Any] | None = None,
    rules: Rules = DEFAULT_RULES,
) -> tuple[Message | None, list[Event]]:
    """Turn a stored event into the customer's message (once: a processed event returns
    its message again). The chat's conversation is found or opened, its customer filed
    under the channel's identity. Edits and notes (kind "note": a story reply, a reaction,
    a type the channel cannot show) are kept in the transcript as processed customer
    messages, not asked again; an event of a kind we do not handle is marked ignored.

    The row is locked (PostgreSQL: FOR UPDATE) so two hubs accepting one event at once
    (one recovering it) take turns, and the second sees it processed."""
    row = session.get(InboundEvent, event_id, with_for_update=True)
    if row is None:
        raise NotFound(f"inbound event {event_id} not found")
    if row.status is not InboundStatus.RECEIVED:
        return (session.get(Message, row.message_id) if row.message_id else None), []
    if kind == "ignored":
        row.status = InboundStatus.IGNORED
        # A delivery report returning our mail: that message did not reach the customer.
        events: list[Event] = []
        for bounced in (extra or {}).get("bounced_ids") or ():
            _delivery, changed = outbox.mark_status(
                session,
                channel=row.channel,
                external_id=str(bounced),
                status=DeliveryStatus.FAILED,
                reason="bounced: the customer's mail server refused it",
            )
            events += changed
        return None, events
    events = []
    conversation = _find_thread(session, row.channel, thread_id, extra or {})
    if conversation is None:
        contact, events = contacts.identify(
            session, channel=row.channel, external_id=user_id, name=name, email=email
        )
        if phone and not contact.phone:
            contact.phone = phone[:64]
        conversation, opened = intake.open_conversation(
            session, channel=row.channel, contact=contact, language=language or None
        )
        conversation.external_id = thread_id[:MAX_EXTERNAL_ID]
        events += opened
    details: dict[str, Any] = {"external_id": row.external_id}
    if attachments:
        details["attachments"] = [dict(a) for a in attachments]
    if extra:
        details["channel"] = dict(extra)
    body = text.strip()
    if not body and attachments:
        body = "[attachment: " + ", ".join(str(a.get("name") or "file") for a in attachments) + "]"
    body = body[:MAX_MESSAGE_CHARS] or "[empty message]"
    if kind in ("edit", "note"):
        message = add_message(
            session,
            conversation,
            MessageRole.CUSTOMER,
            (f"(edited) {body}" if kind == "edit" else body)[:MAX_MESSAGE_CHARS],
            status=MessageStatus.PROCESSED,
            payload={**details, kind: True},
        )
        events.append(message_created(conversation.id, message.id))
    else:
        button = _choice(session, conversation.id, choice, body)
        message, received = intake.receive_customer_message(
            session, conversation_id=conversation.id, text=body, button=button, rules=rules
        )
        message.payload = {**message.payload, **details}
        events += received
    row.status = InboundStatus.PROCESSED
    row.conversation_id = conversation.id
    row.message_id = message.id
    return message, events


def fail_event(session: Session, *, event_id: int, error: str) -> tuple[InboundEvent, list[Event]]:
    """Could not become a message: kept, with why, for a person to see."""
    row = session.get(InboundEvent, event_id)
    if row is None:
        raise NotFound(f"inbound event {event_id} not found")
    row.status = InboundStatus.FAILED
    row.error = error[:2000]
    return row, []


def accept_status(
    session: Session, *, event_id: int, status_of: str, status: str, reason: str | None = None
) -> tuple[Delivery | None, list[Event]]:
    """A platform's delivery report (an event of kind "status": `extra["status_of"]` names
    our sent message by the platform's id, `extra["status"]` is sent / delivered / read /
    failed): moves the message's delivery forward. A report on a message we do not know (a
    message sent outside Frontline) is kept, marked ignored."""
    row = session.get(InboundEvent, event_id, with_for_update=True)
    if row is None:
        raise NotFound(f"inbound event {event_id} not found")
    if row.status is not InboundStatus.RECEIVED:
        return None, []
    try:
        target = DeliveryStatus(status)
    except ValueError:
        raise InvalidInput(f"unknown delivery status {status!r}") from None
    delivery, events = outbox.mark_status(
        session, channel=row.channel, external_id=status_of, status=target, reason=reason
    )
    if delivery is None:
        row.status = InboundStatus.IGNORED
        return None, []
    # Not linked to the conversation: its events are what the customer sent (the outbox
    # reads them for the thread's context).
    row.status = InboundStatus.PROCESSED
    return delivery, events
