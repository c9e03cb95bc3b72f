"""A person's data: everything we hold on them (export), forgetting them (erase), and the
retention limit on old conversations (purge).

A person is a contact and every contact merged into it (those rows stay as pointers and
still carry the old name and email). Erasing keeps the rows reports count, ticket numbers,
statuses, priorities, timestamps, scores, and replaces what a person wrote or is called by:
a report for last quarter still adds up after a customer asked to be forgotten.

Rasa keeps its own copy of what the bot saw (its tracker, in Rasa's memory); the hub resets
it through the REST channel after the erasure commits (`api/routes/contacts.py`), which is
best-effort by design: Rasa being down must not keep the database from forgetting.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Delete, Update, and_, delete, exists, not_, or_, select, update
from sqlalchemy.orm import Session

from handoff import audit
from handoff.events import Event, contact_changed, conversation_changed
from handoff.intake import new_public_token
from handoff.lookups import get_contact
from handoff.models import (
    Contact,
    ContactIdentity,
    Conversation,
    Delivery,
    InboundEvent,
    Message,
    Note,
    Ticket,
    utcnow,
)
from handoff.states import ConversationState, DeliveryStatus, TicketStatus

ERASED = "[erased]"
# Conversations purged by one sweep pass at most: the rest wait for the next pass, so one
# transaction stays small even when retention is first switched on over years of data.
PURGE_BATCH = 100


@dataclass(frozen=True)
class Erasure:
    """What an erasure (or a retention purge) changed, by count; `conversation_ids` are the
    conversations whose texts went (their Rasa trackers are reset after the commit)."""

    contact_id: int
    contacts: int
    conversations: int
    messages: int
    tickets: int
    notes: int
    identities: int
    deliveries: int
    inbound_events: int
    conversation_ids: list[int]

    def counts(self) -> dict[str, int]:
        return {k: v for k, v in asdict(self).items() if isinstance(v, int)}


def _rows(session: Session, statement: Update | Delete) -> int:
    """How many rows a bulk UPDATE or DELETE touched."""
    result = cast(CursorResult[Any], session.execute(statement))
    return result.rowcount or 0


def _row(session: Session, contact_id: int) -> Contact:
    """The contact row itself (`get_contact` would follow a merge)."""
    contact = session.get(Contact, contact_id)
    assert contact is not None
    return contact


def _person(session: Session, contact_id: int) -> list[int]:
    """The contact and every contact merged into it, however many merges deep."""
    ids = [get_contact(session, contact_id).id]
    frontier = list(ids)
    while frontier:
        frontier = [
            i
            for i in session.scalars(
                select(Contact.id).where(Contact.merged_into_id.in_(frontier))
            ).all()
            if i not in ids
        ]
        ids += frontier
    return ids


def _conversations(session: Session, contact_ids: Sequence[int]) -> list[Conversation]:
    return list(
        session.scalars(
            select(Conversation)
            .where(Conversation.contact_id.in_(contact_ids))
            .order_by(Conversation.id)
        ).all()
    )


def _tickets(
    session: Session, contact_ids: Sequence[int], conversation_ids: Sequence[int]
) -> list[Ticket]:
    return list(
        session.scalars(
            select(Ticket)
            .where(
                or_(
                    Ticket.contact_id.in_(contact_ids),
                    Ticket.conversation_id.in_(conversation_ids),
                )
            )
            .order_by(Ticket.id)
        ).all()
    )


def _notes(
    session: Session, contact_ids: Sequence[int], conversation_ids: Sequence[int]
) -> list[Note]:
    return list(
        session.scalars(
            select(Note)
            .where(
                or_(Note.contact_id.in_(contact_ids), Note.conversation_id.in_(conversation_ids))
            )
            .order_by(Note.id)
        ).all()
    )


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def export_contact(session: Session, *, contact_id: int) -> tuple[dict[str, Any], list[Event]]:
    """Everything held on the person, as JSON-able data (a subject access request).

    Agents' own names appear as authors; internal notes are included, as they are data
    about the person. Reading changes nothing, so there are no events."""
    ids = _person(session, contact_id)
    contacts = [_row(session, i) for i in ids]
    conversations = _conversations(session, ids)
    conversation_ids = [c.id for c in conversations]
    main = contacts[0]
    return {
        "exported_at": utcnow().isoformat(),
        "contact": {
            "id": main.id,
            "name": main.name,
            "email": main.email,
            "phone": main.phone,
            "created_at": main.created_at.isoformat(),
        },
        "merged_contacts": [
            {
                "id": c.id,
                "name": c.name,
                "email": c.email,
                "phone": c.phone,
                "created_at": c.created_at.isoformat(),
            }
            for c in contacts[1:]
        ],
        "identities": [
            {"channel": i.channel, "external_id": i.external_id, "created_at": _when(i.created_at)}
            for c in contacts
            for i in c.identities
        ],
        "conversations": [
            {
                "id": c.id,
                "channel": c.channel,
                "language": c.language,
                "state": c.state.value,
                "created_at": c.created_at.isoformat(),
                "updated_at": c.updated_at.isoformat(),
                "messages": [
                    {
                        "id": m.id,
                        "role": m.role.value,
                        "text": m.text,
                        "payload": m.payload,
                        "author": m.agent.name if m.agent else None,
                        "created_at": m.created_at.isoformat(),
                    }
                    for m in c.messages
                ],
            }
            for c in conversations
        ],
        "tickets": [
            {
                "id": t.id,
                "number": t.number,
                "conversation_id": t.conversation_id,
                "subject": t.subject,
                "reason": t.reason,
                "status": t.status.value,
                "priority": t.priority.value,
                "category": t.category,
                "tags": t.tags,
                "channel": t.channel,
                "created_at": t.created_at.isoformat(),
                "resolved_at": _when(t.resolved_at),
                "closed_at": _when(t.closed_at),
                "transcript": t.transcript,
                "bot_attempts": t.bot_attempts,
                "csat_score": t.csat_score,
                "csat_comment": t.csat_comment,
                "csat_at": _when(t.csat_at),
            }
            for t in _tickets(session, ids, conversation_ids)
        ],
        "notes": [
            {
                "id": n.id,
                "text": n.text,
                "author": n.author.name,
                "conversation_id": n.conversation_id,
                "created_at": n.created_at.isoformat(),
            }
            for n in _notes(session, ids, conversation_ids)
        ],
    }, []


def _scrub_conversations(session: Session, conversation_ids: Sequence[int]) -> dict[str, int]:
    """Every text of these conversations replaced, wherever the hub copied it: messages and
    their payloads, tickets' subjects, transcripts, bot attempts and comments, the inbound
    log's normalised events; replies still waiting in the outbox will never leave."""
    if not conversation_ids:
        return {"messages": 0, "tickets": 0, "deliveries": 0, "inbound_events": 0}
    messages = _rows(
        session,
        update(Message)
        .where(Message.conversation_id.in_(conversation_ids))
        .values(text=ERASED, payload={})
        .execution_options(synchronize_session=False),
    )
    tickets = _rows(
        session,
        update(Ticket)
        .where(Ticket.conversation_id.in_(conversation_ids))
        .values(subject=ERASED, transcript=[], bot_attempts=[], csat_comment=None)
        .execution_options(synchronize_session=False),
    )
    now = utcnow()
    deliveries = _rows(
        session,
        update(Delivery)
        .where(
            Delivery.conversation_id.in_(conversation_ids),
            Delivery.status == DeliveryStatus.QUEUED,
        )
        .values(status=DeliveryStatus.FAILED, error="erased", updated_at=now)
        .execution_options(synchronize_session=False),
    )
    inbound = _rows(
        session,
        update(InboundEvent)
        .where(InboundEvent.conversation_id.in_(conversation_ids))
        .values(data={})
        .execution_options(synchronize_session=False),
    )
    return {
        "messages": messages,
        "tickets": tickets,
        "deliveries": deliveries,
        "inbound_events": inbound,
    }


def erase_contact(
    session: Session, *, contact_id: int, actor_id: int | None, ip: str = ""
) -> tuple[Erasure, list[Event]]:
    """Forget the person (a right-to-erasure request); it cannot be undone.

    The contact rows stay (tickets and conversations point at them) as "Erased contact N"
    without email or phone; identities and notes are deleted; every text of their
    conversations is replaced (`_scrub_conversations`), and each conversation gets a new
    widget token and loses its platform chat id, so nothing the customer's device or a
    platform still holds leads back to it. Recorded in the audit log ("delete"), with the
    counts but nothing that names the person."""
    ids = _person(session, contact_id)
    conversations = _conversations(session, ids)
    conversation_ids = [c.id for c in conversations]
    notes = _rows(
        session,
        delete(Note)
        .where(or_(Note.contact_id.in_(ids), Note.conversation_id.in_(conversation_ids)))
        .execution_options(synchronize_session=False),
    )
    identities = _rows(
        session,
        delete(ContactIdentity)
        .where(ContactIdentity.contact_id.in_(ids))
        .execution_options(synchronize_session=False),
    )
    scrubbed = _scrub_conversations(session, conversation_ids)
    # Tickets of the person outside these conversations (none today; a merge moves both).
    scrubbed["tickets"] += _rows(
        session,
        update(Ticket)
        .where(Ticket.contact_id.in_(ids), Ticket.conversation_id.not_in(conversation_ids))
        .values(subject=ERASED, transcript=[], bot_attempts=[], csat_comment=None)
        .execution_options(synchronize_session=False),
    )
    for conversation in conversations:
        conversation.public_token = new_public_token()
        conversation.external_id = None
    for i in ids:
        contact = _row(session, i)
        contact.name = f"Erased contact {contact.id}"
        contact.email = None
        contact.phone = None
    session.flush()
    session.expire_all()
    erasure = Erasure(
        contact_id=ids[0],
        contacts=len(ids),
        conversations=len(conversation_ids),
        notes=notes,
        identities=identities,
        conversation_ids=conversation_ids,
        **scrubbed,
    )
    audit.record(
        session,
        actor_id=actor_id,
        action="delete",
        target=f"contact {ids[0]}",
        detail=erasure.counts(),
        ip=ip,
    )
    events = [contact_changed(i) for i in ids]
    events += [conversation_changed(c) for c in conversation_ids]
    return erasure, events


def expired_conversations(
    session: Session, *, now: datetime, retention: timedelta, limit: int = PURGE_BATCH
) -> list[int]:
    """Conversations over for longer than `retention` whose texts are still there.

    Over means: not with people (state bot or resolved), nothing written for `retention`,
    and every ticket closed for `retention` (a conversation the bot handled alone has none)."""
    cutoff = now - retention
    live_ticket = exists().where(
        Ticket.conversation_id == Conversation.id,
        or_(
            Ticket.status != TicketStatus.CLOSED,
            Ticket.closed_at.is_(None),
            Ticket.closed_at > cutoff,
        ),
    )
    unpurged = exists().where(Message.conversation_id == Conversation.id, Message.text != ERASED)
    return list(
        session.scalars(
            select(Conversation.id)
            .where(
                and_(
                    Conversation.state.in_([ConversationState.BOT, ConversationState.RESOLVED]),
                    Conversation.updated_at <= cutoff,
                    not_(live_ticket),
                    unpurged,
                )
            )
            .order_by(Conversation.id)
            .limit(limit)
        ).all()
    )


def purge_expired(
    session: Session, *, now: datetime, retention: timedelta
) -> tuple[list[int], list[Event]]:
    """The retention limit (run by the sweep): texts of conversations over for longer than
    `retention` are replaced as an erasure does, the contact and its notes stay. A zero
    `retention` keeps everything."""
    if retention <= timedelta(0):
        return [], []
    conversation_ids = expired_conversations(session, now=now, retention=retention)
    _scrub_conversations(session, conversation_ids)
    return conversation_ids, [conversation_changed(c) for c in conversation_ids]
