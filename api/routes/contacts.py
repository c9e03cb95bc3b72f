"""Customer records (agents' API): history, edits, merges, notes; a person's data export
(leads) and erasure (admins)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api import schemas
from api.hub import Hub
from api.rasa_client import erase_trackers
from api.routes.deps import AgentRef, Role, current_agent, get_hub, require
from api.routes.params import BodyId, PathId
from handoff import agent_actions, audit, contacts, lookups, privacy
from handoff.events import Event

router = APIRouter(prefix="/api/contacts", tags=["contacts"])


class ContactUpdate(BaseModel):
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=64)


class MergeBody(BaseModel):
    other_id: BodyId


class NoteBody(BaseModel):
    text: str = Field(min_length=1, max_length=4000)


@router.get("", response_model=schemas.ContactList)
def search_contacts(
    q: str = Query(default="", max_length=200),
    hub: Hub = Depends(get_hub),
    _agent: AgentRef = Depends(current_agent),
) -> dict[str, Any]:
    with hub.sessions() as session:
        rows = lookups.search_contacts(session, q)
        return {"contacts": [{"id": c.id, "name": c.name, "email": c.email} for c in rows]}


@router.get("/{contact_id}", response_model=schemas.ContactRecord)
def get_contact(
    contact_id: PathId, hub: Hub = Depends(get_hub), _agent: AgentRef = Depends(current_agent)
) -> dict[str, Any]:
    with hub.sessions() as session:
        return contacts.history(session, contact_id)


@router.patch("/{contact_id}", response_model=schemas.ContactRecord)
async def update_contact(
    contact_id: PathId,
    body: ContactUpdate,
    hub: Hub = Depends(get_hub),
    _agent: AgentRef = Depends(current_agent),
) -> dict[str, Any]:
    def operation(session: Session) -> tuple[dict[str, Any], list[Event]]:
        contact, events = contacts.update_contact(
            session, contact_id=contact_id, name=body.name, email=body.email, phone=body.phone
        )
        return contacts.history(session, contact.id), events

    return await hub.flow.write(operation)


@router.post("/{contact_id}/merge", response_model=schemas.ContactRecord)
async def merge_contact(
    contact_id: PathId,
    body: MergeBody,
    hub: Hub = Depends(get_hub),
    agent: AgentRef = Depends(current_agent),
) -> dict[str, Any]:
    """Fold contact `other_id` into this one (the same person on another channel). It cannot
    be undone: leads, or the agent who has taken a conversation of one of them (else 403)."""

    def operation(session: Session) -> tuple[dict[str, Any], list[Event]]:
        contact, events = contacts.merge(
            session, keep_id=contact_id, other_id=body.other_id, actor_id=agent.id
        )
        audit.record(
            session,
            actor_id=agent.id,
            action="contact_merge",
            target=f"contact {contact_id}",
            detail={"merged": body.other_id},
            ip=agent.ip,
        )
        return contacts.history(session, contact.id), events

    return await hub.flow.write(operation)


@router.post("/{contact_id}/notes", status_code=201, response_model=schemas.NoteCreated)
async def add_contact_note(
    contact_id: PathId,
    body: NoteBody,
    hub: Hub = Depends(get_hub),
    agent: AgentRef = Depends(current_agent),
) -> dict[str, Any]:
    def operation(session: Session) -> tuple[dict[str, Any], list[Event]]:
        contact = lookups.get_contact(session, contact_id)
        note, events = agent_actions.add_note(
            session, agent_id=agent.id, text=body.text, contact_id=contact.id
        )
        return {"note": {"id": note.id, "text": note.text}}, events

    return await hub.flow.write(operation)


@router.get("/{contact_id}/export", response_model=schemas.ContactExport)
async def export_contact(
    contact_id: PathId, hub: Hub = Depends(get_hub), lead: AgentRef = Depends(require(Role.LEAD))
) -> dict[str, Any]:
    """Everything held on the person (a subject access request); recorded as an `export`."""

    def operation(session: Session) -> tuple[dict[str, Any], list[Event]]:
        data, events = privacy.export_contact(session, contact_id=contact_id)
        audit.record(
            session,
            actor_id=lead.id,
            action="export",
            target=f"contact {contact_id}",
            ip=lead.ip,
        )
        return data, events

    return await hub.flow.write(operation)


@router.delete("/{contact_id}", response_model=schemas.ErasureOut)
async def erase_contact(
    contact_id: PathId, hub: Hub = Depends(get_hub), admin: AgentRef = Depends(require(Role.ADMIN))
) -> dict[str, Any]:
    """Forget the person (right to erasure; cannot be undone): the contact is anonymised,
    every text of its conversations replaced, notes and identities deleted; ticket numbers
    and figures stay for reports. Then, best-effort, Rasa's trackers of its conversations
    are reset."""
    erasure = await hub.flow.run(
        privacy.erase_contact, contact_id=contact_id, actor_id=admin.id, ip=admin.ip
    )
    reset = await erase_trackers(hub.rasa, erasure.conversation_ids)
    return {**erasure.counts(), "bot_trackers_reset": reset}
