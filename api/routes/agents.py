"""The agents' REST API and their live WebSocket (docs/protocol.md)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, Field

from api import inputs, presence, schemas, serializers
from api.channels.base import Capabilities
from api.channels.registry import capabilities_of
from api.hub import Hub
from api.routes import auth
from api.routes.deps import AgentRef, audited, current_agent, get_hub, socket_hub
from api.routes.params import BodyId, PathId, limit_query
from api.stopping import cancel_and_wait
from handoff import agent_actions, contacts, lookups
from handoff import agents as agent_accounts
from handoff.messages import MAX_MESSAGE_CHARS
from handoff.models import Message
from handoff.states import ConversationState

router = APIRouter(prefix="/api", tags=["agents"])
socket_router = APIRouter()


class ReplyBody(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)


@router.get("/me", response_model=schemas.AgentOut)
def me(hub: Hub = Depends(get_hub), agent: AgentRef = Depends(current_agent)) -> dict[str, Any]:
    with hub.sessions() as session:
        return serializers.agent_full(lookups.get_agent(session, agent.id))


@router.get("/conversations", response_model=schemas.ConversationList)
def list_conversations(
    state: Literal["bot", "queued", "agent", "resolved"] | None = None,
    limit: int = limit_query(200),
    hub: Hub = Depends(get_hub),
    _agent: AgentRef = Depends(current_agent),
) -> dict[str, Any]:
    with hub.sessions() as session:
        rows = lookups.conversations(
            session,
            state=ConversationState(state) if state is not None else None,
            limit=limit,
        )
        calendar = hub.settings.rules.calendar
        return {
            "conversations": [serializers.conversation_summary(session, c, calendar) for c in rows]
        }


@router.get("/conversations/{conversation_id}", response_model=schemas.ConversationDetail)
def get_conversation(
    conversation_id: PathId, hub: Hub = Depends(get_hub), _agent: AgentRef = Depends(current_agent)
) -> dict[str, Any]:
    with hub.sessions() as session:
        conversation = lookups.get_conversation(session, conversation_id)
        notes = lookups.conversation_notes(session, conversation.id)
        ticket = lookups.latest_ticket(conversation)
        calendar = hub.settings.rules.calendar
        return {
            "conversation": serializers.conversation_summary(session, conversation, calendar),
            "messages": [serializers.message_dict(m) for m in conversation.messages],
            "notes": [serializers.note_dict(n) for n in notes],
            "ticket": serializers.ticket_dict(ticket, calendar) if ticket else None,
            "contact": contacts.history(session, conversation.contact_id),
            "channel": _channel_info(
                hub,
                conversation.channel,
                lookups.last_customer_message_at(session, conversation.id),
            ),
        }


def _channel_info(hub: Hub, name: str, last_customer_at: datetime | None) -> dict[str, Any]:
    """What the customer's channel can show, for the reply box, and whether its
    customer-service window (if it has one) still lets an agent reply."""
    capabilities = capabilities_of(hub.channels, name)
    window_open = capabilities.window_open(last_customer_at)
    limits = [] if capabilities.live else capabilities.limits()
    if not window_open:
        limits.insert(0, capabilities.window_closed())
    return {
        "name": name,
        "live": capabilities.live,
        "buttons": capabilities.buttons,
        "text_limit": capabilities.text_limit,
        "limits": limits,
        "window_hours": capabilities.window_hours,
        "window_open": window_open,
        "template": capabilities.template,
    }


def _reply_window(hub: Hub, conversation_id: int) -> tuple[Capabilities, bool]:
    with hub.sessions() as session:
        conversation = lookups.get_conversation(session, conversation_id)
        capabilities = capabilities_of(hub.channels, conversation.channel)
        last = lookups.last_customer_message_at(session, conversation.id)
        return capabilities, capabilities.window_open(last)


def _summary(hub: Hub, conversation_id: int) -> dict[str, Any]:
    with hub.sessions() as session:
        conversation = lookups.get_conversation(session, conversation_id)
        calendar = hub.settings.rules.calendar
        return {"conversation": serializers.conversation_summary(session, conversation, calendar)}


@router.post("/conversations/{conversation_id}/takeover", response_model=schemas.ConversationOut)
async def take_over(
    conversation_id: PathId, hub: Hub = Depends(get_hub), agent: AgentRef = Depends(current_agent)
) -> dict[str, Any]:
    await hub.flow.write(
        audited(
            agent_actions.take_over,
            agent=agent,
            action="takeover",
            target=f"conversation {conversation_id}",
            conversation_id=conversation_id,
            agent_id=agent.id,
        )
    )
    return await asyncio.to_thread(_summary, hub, conversation_id)


@router.post("/conversations/{conversation_id}/messages", response_model=schemas.MessageCreated)
async def reply(
    conversation_id: PathId,
    body: ReplyBody,
    hub: Hub = Depends(get_hub),
    agent: AgentRef = Depends(current_agent),
) -> dict[str, Any]:
    """An agent's reply, refused before it is queued when the channel's customer-service
    window has closed (409, saying what can still be done)."""
    capabilities, window_open = await asyncio.to_thread(_reply_window, hub, conversation_id)
    if not window_open:
        raise HTTPException(status_code=409, detail=capabilities.window_closed())
    message = await hub.flow.run(
        agent_actions.post_agent_message,
        conversation_id=conversation_id,
        agent_id=agent.id,
        text=body.text,
    )
    return await asyncio.to_thread(_render_message, hub, message)


def _render_message(hub: Hub, message: Message) -> dict[str, Any]:
    with hub.sessions() as session:
        return {"message": serializers.message_dict(session.merge(message, load=True))}


@router.post("/conversations/{conversation_id}/template", response_model=schemas.MessageCreated)
async def send_template(
    conversation_id: PathId,
    hub: Hub = Depends(get_hub),
    agent: AgentRef = Depends(current_agent),
) -> dict[str, Any]:
    """Queue the channel's configured template (WhatsApp: the one message allowed outside
    the 24-hour window); 422 when the channel has none."""
    capabilities, _ = await asyncio.to_thread(_reply_window, hub, conversation_id)
    if not capabilities.template:
        raise HTTPException(status_code=422, detail="this channel has no template configured")
    message = await hub.flow.run(
        agent_actions.post_agent_message,
        conversation_id=conversation_id,
        agent_id=agent.id,
        text=f'[template "{capabilities.template}"]',
        payload={"template": capabilities.template},
    )
    return await asyncio.to_thread(_render_message, hub, message)


@router.post("/conversations/{conversation_id}/resolve", response_model=schemas.ConversationOut)
async def resolve(
    conversation_id: PathId, hub: Hub = Depends(get_hub), agent: AgentRef = Depends(current_agent)
) -> dict[str, Any]:
    await hub.flow.run(agent_actions.resolve, conversation_id=conversation_id, agent_id=agent.id)
    return await asyncio.to_thread(_summary, hub, conversation_id)


class TransferBody(BaseModel):
    agent_id: BodyId | None = None
    team_id: BodyId | None = None


class NoteBody(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)


class PresenceBody(BaseModel):
    presence: Literal["online", "away", "offline"]


@router.put("/me/presence", response_model=schemas.PresenceOut)
async def set_presence(
    body: PresenceBody, hub: Hub = Depends(get_hub), agent: AgentRef = Depends(current_agent)
) -> dict[str, Any]:
    row = await hub.flow.run(agent_accounts.set_presence, agent_id=agent.id, presence=body.presence)
    return {"presence": row.presence.value}


@router.post("/conversations/{conversation_id}/pending", response_model=schemas.ConversationOut)
async def pending(
    conversation_id: PathId, hub: Hub = Depends(get_hub), agent: AgentRef = Depends(current_agent)
) -> dict[str, Any]:
    await hub.flow.run(
        agent_actions.set_pending,
        conversation_id=conversation_id,
        agent_id=agent.id,
        rules=hub.settings.rules,
    )
    return await asyncio.to_thread(_summary, hub, conversation_id)


@router.post("/conversations/{conversation_id}/handback", response_model=schemas.ConversationOut)
async def handback(
    conversation_id: PathId, hub: Hub = Depends(get_hub), agent: AgentRef = Depends(current_agent)
) -> dict[str, Any]:
    await hub.flow.run(agent_actions.hand_back, conversation_id=conversation_id, agent_id=agent.id)
    return await asyncio.to_thread(_summary, hub, conversation_id)


@router.post("/conversations/{conversation_id}/transfer", response_model=schemas.ConversationOut)
async def transfer(
    conversation_id: PathId,
    body: TransferBody,
    hub: Hub = Depends(get_hub),
    agent: AgentRef = Depends(current_agent),
) -> dict[str, Any]:
    await hub.flow.write(
        audited(
            agent_actions.transfer,
            agent=agent,
            action="transfer",
            target=f"conversation {conversation_id}",
            detail={"to_agent_id": body.agent_id, "to_team_id": body.team_id},
            conversation_id=conversation_id,
            by_agent_id=agent.id,
            to_agent_id=body.agent_id,
            to_team_id=body.team_id,
        )
    )
    return await asyncio.to_thread(_summary, hub, conversation_id)


@router.post(
    "/conversations/{conversation_id}/notes",
    status_code=201,
    response_model=schemas.NoteCreated,
)
async def add_note(
    conversation_id: PathId,
    body: NoteBody,
    hub: Hub = Depends(get_hub),
    agent: AgentRef = Depends(current_agent),
) -> dict[str, Any]:
    note = await hub.flow.run(
        agent_actions.add_note, agent_id=agent.id, text=body.text, conversation_id=conversation_id
    )
    return {"note": {"id": note.id, "text": note.text}}


@socket_router.websocket("/ws/agents")
async def agents_socket(websocket: WebSocket) -> None:
    hub = socket_hub(websocket)
    await websocket.accept()
    signed_in = await auth.socket_sign_in(websocket, hub)
    if signed_in is None:
        return
    agent, token = signed_in
    queue = hub.broker.subscribe_agent(agent.id)
    connection_id = await presence.console_opened(hub, agent.id)
    tasks: list[asyncio.Task[None]] = []

    async def forward() -> None:
        while True:
            await websocket.send_json(await queue.get())

    try:
        # Only now: "ready" means the console's record is written and the agent online, so
        # a hand-off right after it goes to the queue (before, one could still find nobody
        # online: the previous console's close had set the agent offline). Inside the try:
        # a console gone before "ready" reaches it must still be closed, or its agent
        # would stay online with no console.
        await websocket.send_json(
            {"type": "ready", "agent": {"id": agent.id, "name": agent.name, "role": agent.role}}
        )
        tasks.append(asyncio.create_task(auth.watch_session(websocket, hub, token)))
        tasks.append(asyncio.create_task(forward()))
        while True:
            try:
                frame = await inputs.receive_json(websocket)
            except inputs.Refused as refused:  # binary, bad or deep JSON: say so, read on
                await websocket.send_json({"type": "error", "error": f"frame refused: {refused}"})
                continue
            if (
                isinstance(frame, dict)
                and frame.get("type") == "typing"
                and isinstance(frame.get("conversation_id"), int)
            ):
                hub.broker.send_to_widget(
                    frame["conversation_id"],
                    {"type": "typing", "role": "agent", "name": agent.name},
                )
    except (WebSocketDisconnect, ValueError, KeyError, RuntimeError):
        pass  # gone, a frame that is not JSON text, or closed by watch_session
    finally:
        hub.broker.unsubscribe_agent(queue, agent.id)
        # The agent's last live console on any hub sets them offline (api/presence.py): in
        # the background, so that it happens even when this handler is being cancelled.
        hub.spawn(presence.console_closed(hub, connection_id))
        await cancel_and_wait(tasks)
        for task in tasks:
            if not task.cancelled():
                task.exception()  # retrieved: a failed sender is the closed socket's, no news
