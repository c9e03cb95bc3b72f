"""The agents' REST API and their live WebSocket (docs/protocol.md)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, Field
from sqlalchemy import select

from api import serializers
from api.hub import Hub
from api.routes.deps import AgentRef, agent_from_token, current_agent, get_hub, socket_hub
from handoff import agents as agent_accounts
from handoff import operations as ops
from handoff.db import transaction
from handoff.errors import NotFound
from handoff.models import Conversation, Ticket
from handoff.states import ConversationState

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
def me(agent: AgentRef = Depends(current_agent)) -> dict[str, Any]:
    return {"id": agent.id, "name": agent.name, "email": agent.email}


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
        return {"conversations": [serializers.conversation_summary(session, c) for c in rows]}


@router.get("/conversations/{conversation_id}")
def get_conversation(
    conversation_id: int, hub: Hub = Depends(get_hub), _agent: AgentRef = Depends(current_agent)
) -> dict[str, Any]:
    with hub.sessions() as session:
        conversation = ops.get_conversation(session, conversation_id)
        return {
            "conversation": serializers.conversation_summary(session, conversation),
            "messages": [serializers.message_dict(m) for m in conversation.messages],
        }


def _summary(hub: Hub, conversation_id: int) -> dict[str, Any]:
    with hub.sessions() as session:
        conversation = ops.get_conversation(session, conversation_id)
        return {"conversation": serializers.conversation_summary(session, conversation)}


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


@router.get("/tickets")
def list_tickets(
    hub: Hub = Depends(get_hub), _agent: AgentRef = Depends(current_agent)
) -> dict[str, Any]:
    with hub.sessions() as session:
        tickets = session.scalars(select(Ticket).order_by(Ticket.id.desc()).limit(500)).all()
        return {"tickets": [serializers.ticket_dict(t) for t in tickets]}


@router.get("/tickets/{ticket_id}")
def get_ticket(
    ticket_id: int, hub: Hub = Depends(get_hub), _agent: AgentRef = Depends(current_agent)
) -> dict[str, Any]:
    with hub.sessions() as session:
        ticket = session.get(Ticket, ticket_id)
        if ticket is None:
            raise NotFound(f"ticket {ticket_id} not found")
        return serializers.ticket_dict(ticket)


@socket_router.websocket("/ws/agents")
async def agents_socket(websocket: WebSocket, token: str = "") -> None:
    hub = socket_hub(websocket)
    agent = await asyncio.to_thread(agent_from_token, hub, token) if token else None
    if agent is None:
        await websocket.close(code=4401, reason="invalid token")
        return
    await websocket.accept()
    queue = hub.broker.subscribe_agent()

    async def forward() -> None:
        while True:
            await websocket.send_json(await queue.get())

    sender = asyncio.create_task(forward())
    try:
        while True:
            await websocket.receive_text()  # the console sends nothing we need; keep reading
    except WebSocketDisconnect:
        pass
    finally:
        hub.broker.unsubscribe_agent(queue)
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await sender
