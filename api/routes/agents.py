"""The agents' REST API and their live WebSocket (docs/protocol.md)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import serializers
from api.hub import Hub
from api.routes.deps import AgentRef, agent_from_token, current_agent, get_hub, socket_hub
from handoff import agents as agent_accounts
from handoff import contacts, routing, tickets
from handoff import operations as ops
from handoff.db import transaction
from handoff.events import Event
from handoff.models import Agent, Conversation, Note, utcnow
from handoff.rules import Rules
from handoff.states import ConversationState, Presence

router = APIRouter(prefix="/api", tags=["agents"])
socket_router = APIRouter()


class LoginBody(BaseModel):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1000)


class ReplyBody(BaseModel):
    text: str = Field(min_length=1, max_length=ops.MAX_MESSAGE_CHARS)


@router.post("/auth/login")
def login(body: LoginBody, hub: Hub = Depends(get_hub)) -> dict[str, Any]:
    with transaction(hub.sessions) as session:
        agent = agent_accounts.authenticate(session, body.email, body.password)
        if agent is None:
            raise HTTPException(status_code=401, detail="wrong email or password")
        token = agent_accounts.start_session(session, agent)
        return {"token": token, "agent": {"id": agent.id, "name": agent.name, "email": agent.email}}


@router.get("/me")
def me(hub: Hub = Depends(get_hub), agent: AgentRef = Depends(current_agent)) -> dict[str, Any]:
    with hub.sessions() as session:
        row = session.get(Agent, agent.id)
        assert row is not None
        return serializers.agent_full(row)


@router.get("/conversations")
def list_conversations(
    state: Literal["bot", "queued", "agent", "resolved"] | None = None,
    limit: int = 200,
    hub: Hub = Depends(get_hub),
    _agent: AgentRef = Depends(current_agent),
) -> dict[str, Any]:
    query = select(Conversation).order_by(Conversation.updated_at.desc()).limit(min(limit, 1000))
    if state is not None:
        query = query.where(Conversation.state == ConversationState(state))
    with hub.sessions() as session:
        rows = session.scalars(query).all()
        calendar = hub.settings.rules.calendar
        return {
            "conversations": [serializers.conversation_summary(session, c, calendar) for c in rows]
        }


@router.get("/conversations/{conversation_id}")
def get_conversation(
    conversation_id: int, hub: Hub = Depends(get_hub), _agent: AgentRef = Depends(current_agent)
) -> dict[str, Any]:
    with hub.sessions() as session:
        conversation = ops.get_conversation(session, conversation_id)
        notes = session.scalars(
            select(Note).where(Note.conversation_id == conversation.id).order_by(Note.id)
        ).all()
        ticket = serializers.latest_ticket(conversation)
        calendar = hub.settings.rules.calendar
        return {
            "conversation": serializers.conversation_summary(session, conversation, calendar),
            "messages": [serializers.message_dict(m) for m in conversation.messages],
            "notes": [serializers.note_dict(n) for n in notes],
            "ticket": serializers.ticket_dict(ticket, calendar) if ticket else None,
            "contact": contacts.history(session, conversation.contact_id),
        }


def _summary(hub: Hub, conversation_id: int) -> dict[str, Any]:
    with hub.sessions() as session:
        conversation = ops.get_conversation(session, conversation_id)
        calendar = hub.settings.rules.calendar
        return {"conversation": serializers.conversation_summary(session, conversation, calendar)}


@router.post("/conversations/{conversation_id}/takeover")
async def take_over(
    conversation_id: int, hub: Hub = Depends(get_hub), agent: AgentRef = Depends(current_agent)
) -> dict[str, Any]:
    await hub.flow.write(lambda s: (None, ops.take_over(s, conversation_id, agent.id)))
    return await asyncio.to_thread(_summary, hub, conversation_id)


@router.post("/conversations/{conversation_id}/messages")
async def reply(
    conversation_id: int,
    body: ReplyBody,
    hub: Hub = Depends(get_hub),
    agent: AgentRef = Depends(current_agent),
) -> dict[str, Any]:
    message = await hub.flow.write(
        lambda s: ops.post_agent_message(s, conversation_id, agent.id, body.text)
    )

    def render() -> dict[str, Any]:
        with hub.sessions() as session:
            return {"message": serializers.message_dict(session.merge(message, load=True))}

    return await asyncio.to_thread(render)


@router.post("/conversations/{conversation_id}/resolve")
async def resolve(
    conversation_id: int, hub: Hub = Depends(get_hub), agent: AgentRef = Depends(current_agent)
) -> dict[str, Any]:
    await hub.flow.write(lambda s: (None, ops.resolve(s, conversation_id, agent.id)))
    return await asyncio.to_thread(_summary, hub, conversation_id)


class TransferBody(BaseModel):
    agent_id: int | None = None
    team_id: int | None = None


class NoteBody(BaseModel):
    text: str = Field(min_length=1, max_length=ops.MAX_MESSAGE_CHARS)


class PresenceBody(BaseModel):
    presence: Literal["online", "away", "offline"]


@router.put("/me/presence")
async def set_presence(
    body: PresenceBody, hub: Hub = Depends(get_hub), agent: AgentRef = Depends(current_agent)
) -> dict[str, Any]:
    def operation(session: Session) -> tuple[dict[str, Any], list[Event]]:
        row = agent_accounts.set_presence(session, agent.id, body.presence)
        # Someone came online: queued conversations may be assigned to them now.
        return {"presence": row.presence.value}, routing.auto_assign(session, utcnow())

    result = await hub.flow.write(operation)
    hub.broker.send_to_agents({"type": "presence", "agent_id": agent.id, **result})
    return result


def _conversation_action(
    path: str, operation: Callable[[Session, int, AgentRef, Rules], list[Event]]
) -> None:
    async def endpoint(
        conversation_id: int, hub: Hub = Depends(get_hub), agent: AgentRef = Depends(current_agent)
    ) -> dict[str, Any]:
        rules = hub.settings.rules
        await hub.flow.write(lambda s: (None, operation(s, conversation_id, agent, rules)))
        return await asyncio.to_thread(_summary, hub, conversation_id)

    endpoint.__name__ = path.replace("-", "_")
    router.post(f"/conversations/{{conversation_id}}/{path}")(endpoint)


_conversation_action(
    "pending", lambda s, cid, agent, rules: tickets.set_pending(s, cid, agent.id, rules=rules)
)
_conversation_action("handback", lambda s, cid, agent, _rules: tickets.hand_back(s, cid, agent.id))


@router.post("/conversations/{conversation_id}/transfer")
async def transfer(
    conversation_id: int,
    body: TransferBody,
    hub: Hub = Depends(get_hub),
    agent: AgentRef = Depends(current_agent),
) -> dict[str, Any]:
    await hub.flow.write(
        lambda s: (
            None,
            routing.transfer(
                s,
                conversation_id,
                agent.id,
                utcnow(),
                to_agent_id=body.agent_id,
                to_team_id=body.team_id,
            ),
        )
    )
    return await asyncio.to_thread(_summary, hub, conversation_id)


@router.post("/conversations/{conversation_id}/notes", status_code=201)
async def add_note(
    conversation_id: int,
    body: NoteBody,
    hub: Hub = Depends(get_hub),
    agent: AgentRef = Depends(current_agent),
) -> dict[str, Any]:
    note = await hub.flow.write(
        lambda s: tickets.add_note(s, agent.id, body.text, conversation_id=conversation_id)
    )
    return {"note": {"id": note.id, "text": note.text}}


@socket_router.websocket("/ws/agents")
async def agents_socket(websocket: WebSocket, token: str = "") -> None:
    hub = socket_hub(websocket)
    agent = await asyncio.to_thread(agent_from_token, hub, token) if token else None
    if agent is None:
        await websocket.close(code=4401, reason="invalid token")
        return
    await websocket.accept()
    queue = hub.broker.subscribe_agent(agent.id)
    await _presence_on_connect(hub, agent)

    async def forward() -> None:
        while True:
            await websocket.send_json(await queue.get())

    sender = asyncio.create_task(forward())
    try:
        while True:
            frame = await websocket.receive_json()
            if (
                isinstance(frame, dict)
                and frame.get("type") == "typing"
                and isinstance(frame.get("conversation_id"), int)
            ):
                hub.broker.send_to_widget(
                    frame["conversation_id"],
                    {"type": "typing", "role": "agent", "name": agent.name},
                )
    except (WebSocketDisconnect, ValueError):
        pass
    finally:
        last = hub.broker.unsubscribe_agent(queue, agent.id)
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await sender
        if last:
            await _presence_on_disconnect(hub, agent)


async def _presence_on_connect(hub: Hub, agent: AgentRef) -> None:
    """Opening the console brings an offline agent online (an away one stays away)."""

    def operation(session: Session) -> tuple[None, list[Event]]:
        row = session.get(Agent, agent.id)
        if row is None or row.presence is not Presence.OFFLINE:
            return None, []
        agent_accounts.set_presence(session, agent.id, Presence.ONLINE)
        return None, routing.auto_assign(session, utcnow())

    await hub.flow.write(operation)
    hub.broker.send_to_agents({"type": "presence", "agent_id": agent.id, "presence": "online"})


async def _presence_on_disconnect(hub: Hub, agent: AgentRef) -> None:
    """The last console closed: the agent is offline (their conversations stay theirs)."""
    with contextlib.suppress(Exception):
        await hub.flow.write(
            lambda s: (agent_accounts.set_presence(s, agent.id, Presence.OFFLINE), [])
        )
        hub.broker.send_to_agents({"type": "presence", "agent_id": agent.id, "presence": "offline"})
