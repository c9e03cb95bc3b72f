"""Customer records: one contact per person, identities across channels, merging,
history and satisfaction over time."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from handoff.errors import Forbidden, InvalidInput
from handoff.events import Event, contact_changed
from handoff.lookups import get_agent, get_contact
from handoff.models import Contact, ContactIdentity, Conversation, Note, Ticket, utcnow
from handoff.states import AgentRole, ConversationState
from handoff.text import scrub


def identify(
    session: Session,
    *,
    channel: str,
    external_id: str,
    name: str | None = None,
    email: str | None = None,
) -> tuple[Contact, list[Event]]:
    """The contact known on `channel` as `external_id`, created on first sight.

    Callers must have verified the identity (a signed site user id, a chat's sender id from
    the channel's own webhook): whoever names an identity gets its history."""
    external_id = scrub(external_id).strip()
    name = scrub(name) if name else name
    email = scrub(email) if email else email
    if not external_id or len(external_id) > 200:
        raise InvalidInput("an identity needs an id of 1-200 characters")
    identity = session.scalar(
        select(ContactIdentity).where(
            ContactIdentity.channel == channel, ContactIdentity.external_id == external_id
        )
    )
    if identity is not None:
        contact = get_contact(session, identity.contact_id)
    else:
        contact = Contact(name=(name or "").strip()[:200] or f"{channel} user {external_id}")
        session.add(contact)
        session.flush()
        session.add(ContactIdentity(contact=contact, channel=channel, external_id=external_id))
    if name and name.strip():
        contact.name = name.strip()[:200]
    if email and email.strip():
        contact.email = email.strip()[:320]
    session.flush()
    return contact, [contact_changed(contact.id)]


def update_contact(
    session: Session,
    *,
    contact_id: int,
    name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
) -> tuple[Contact, list[Event]]:
    contact = get_contact(session, contact_id)
    if name is not None:
        if not name.strip():
            raise InvalidInput("name is empty")
        contact.name = name.strip()[:200]
    if email is not None:
        if email.strip() and "@" not in email:
            raise InvalidInput(f"not an email address: {email!r}")
        contact.email = email.strip()[:320] or None
    if phone is not None:
        contact.phone = phone.strip()[:64] or None
    session.flush()
    return contact, [contact_changed(contact.id)]


def _helping(session: Session, agent_id: int, contact_ids: tuple[int, ...]) -> bool:
    """Whether the agent has taken a conversation of one of these contacts."""
    return (
        session.scalar(
            select(Conversation.id)
            .where(
                Conversation.contact_id.in_(contact_ids),
                Conversation.agent_id == agent_id,
                Conversation.state == ConversationState.AGENT,
            )
            .limit(1)
        )
        is not None
    )


def merge(
    session: Session, *, keep_id: int, other_id: int, actor_id: int | None = None
) -> tuple[Contact, list[Event]]:
    """Fold `other` into `keep`: identities, conversations, tickets and notes move over;
    `other` remains as a pointer so links to it still lead somewhere.

    It cannot be undone, so an agent (`actor_id`) may merge only while helping one of the
    two (a conversation of theirs that they took over); a lead may merge any two. Without
    an actor (the CLI, tests of the domain) nothing is checked."""
    keep = get_contact(session, keep_id)
    other = get_contact(session, other_id)
    if keep.id == other.id:
        raise InvalidInput("a contact cannot be merged into itself")
    if actor_id is not None:
        actor = get_agent(session, actor_id)
        if not actor.role.includes(AgentRole.LEAD) and not _helping(
            session, actor.id, (keep.id, other.id)
        ):
            raise Forbidden(
                "only a support lead, or the agent helping one of these contacts, can merge them"
            )
    for model in (ContactIdentity, Conversation, Ticket, Note):
        session.execute(
            update(model)
            .where(model.contact_id == other.id)
            .values(contact_id=keep.id)
            .execution_options(synchronize_session=False)
        )
    keep.email = keep.email or other.email
    keep.phone = keep.phone or other.phone
    other.merged_into_id = keep.id
    session.flush()
    session.expire_all()
    return get_contact(session, keep.id), [contact_changed(keep.id), contact_changed(other.id)]


def history(session: Session, contact_id: int) -> dict[str, Any]:
    """The record an agent sees: identities, conversations, tickets, satisfaction, notes."""
    contact = get_contact(session, contact_id)
    conversations = session.scalars(
        select(Conversation)
        .where(Conversation.contact_id == contact.id)
        .order_by(Conversation.id.desc())
    ).all()
    tickets = session.scalars(
        select(Ticket).where(Ticket.contact_id == contact.id).order_by(Ticket.id.desc())
    ).all()
    notes = session.scalars(
        select(Note).where(Note.contact_id == contact.id).order_by(Note.id.desc())
    ).all()
    rated = sorted(
        (t for t in tickets if t.csat_score is not None), key=lambda t: t.csat_at or utcnow()
    )
    return {
        "id": contact.id,
        "name": contact.name,
        "email": contact.email,
        "phone": contact.phone,
        "created_at": contact.created_at.isoformat(),
        "identities": [
            {"channel": i.channel, "external_id": i.external_id} for i in contact.identities
        ],
        "conversations": [
            {
                "id": c.id,
                "channel": c.channel,
                "state": c.state.value,
                "created_at": c.created_at.isoformat(),
                "updated_at": c.updated_at.isoformat(),
            }
            for c in conversations
        ],
        "tickets": [
            {
                "id": t.id,
                "number": t.number,
                "subject": t.subject,
                "status": t.status.value,
                "priority": t.priority.value,
                "created_at": t.created_at.isoformat(),
                "csat_score": t.csat_score,
            }
            for t in tickets
        ],
        "satisfaction": {
            "ratings": [
                {
                    "ticket": t.number,
                    "score": t.csat_score,
                    "at": t.csat_at.isoformat() if t.csat_at else None,
                }
                for t in rated
            ],
            "mean": round(sum(t.csat_score or 0 for t in rated) / len(rated), 2) if rated else None,
        },
        "notes": [
            {
                "id": n.id,
                "text": n.text,
                "author": n.author.name,
                "conversation_id": n.conversation_id,
                "created_at": n.created_at.isoformat(),
            }
            for n in notes
        ],
    }
