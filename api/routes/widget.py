"""The website widget's WebSocket (protocol: docs/protocol.md)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlalchemy.orm import Session

from api import serializers
from api.hub import Hub
from api.routes.deps import socket_hub
from handoff import operations as ops
from handoff.errors import InvalidInput
from handoff.models import Conversation

router = APIRouter()
log = logging.getLogger(__name__)


def _welcome(hub: Hub, token: str) -> dict[str, Any] | None:
    with hub.sessions() as session:
        conversation = ops.find_conversation_by_token(session, token)
        return None if conversation is None else _welcome_frame(session, conversation)


def _welcome_frame(session: Session, conversation: Conversation) -> dict[str, Any]:
    return {
        "type": "welcome",
        "token": conversation.public_token,
        "conversation": serializers.widget_conversation(conversation, session),
        "messages": [serializers.message_dict(m) for m in conversation.messages],
    }


async def _receive_frame(websocket: WebSocket) -> dict[str, Any] | None:
    """The next JSON object from the client, or None (after telling it) if it is not one."""
    raw = await websocket.receive_text()
    try:
        frame = json.loads(raw)
    except ValueError:
        frame = None
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        await websocket.send_json(
            {"type": "error", "error": "frames must be JSON objects with a 'type'"}
        )
        return None
    return frame


async def _hello(websocket: WebSocket, hub: Hub) -> dict[str, Any] | None:
    while True:
        frame = await _receive_frame(websocket)
        if frame is None:
            continue
        if frame["type"] != "hello":
            await websocket.send_json({"type": "error", "error": "send 'hello' first"})
            continue
        token = frame.get("token")
        if token is not None and not isinstance(token, str):
            await websocket.send_json({"type": "error", "error": "token must be a string or null"})
            continue
        if token:
            welcome = await asyncio.to_thread(_welcome, hub, token)
            if welcome is None:
                await websocket.send_json(
                    {
                        "type": "error",
                        "error": "unknown token; send hello with token null to start again",
                    }
                )
                continue
            return welcome
        conversation = await hub.flow.open_conversation()
        welcome = await asyncio.to_thread(_welcome, hub, conversation.public_token)
        if welcome is not None:
            return welcome


@router.websocket("/ws/widget")
async def widget_socket(websocket: WebSocket) -> None:
    hub = socket_hub(websocket)
    await websocket.accept()
    try:
        welcome = await _hello(websocket, hub)
    except WebSocketDisconnect:
        return
    assert welcome is not None
    conversation_id: int = welcome["conversation"]["id"]
    queue = hub.broker.subscribe_widget(conversation_id)
    sender = asyncio.create_task(_forward(websocket, queue))
    try:
        await websocket.send_json(welcome)
        while True:
            frame = await _receive_frame(websocket)
            if frame is None:
                continue
            if frame["type"] != "message":
                await websocket.send_json(
                    {"type": "error", "error": f"unknown frame type {frame['type']!r}"}
                )
                continue
            try:
                message = await hub.flow.receive(
                    conversation_id, frame.get("text"), frame.get("client_id"), frame.get("payload")
                )
            except InvalidInput as error:
                await websocket.send_json(
                    {"type": "error", "error": str(error), "client_id": frame.get("client_id")}
                )
                continue
            await websocket.send_json(
                {
                    "type": "ack",
                    "client_id": frame.get("client_id"),
                    "message": serializers.message_dict(message),
                }
            )
            # Processing outlives this socket: the customer may close the tab mid-answer.
            hub.spawn(hub.flow.process(message))
    except WebSocketDisconnect:
        pass
    finally:
        hub.broker.unsubscribe_widget(conversation_id, queue)
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender


async def _forward(websocket: WebSocket, queue: asyncio.Queue[dict[str, Any]]) -> None:
    while True:
        frame = await queue.get()
        try:
            await websocket.send_json(frame)
        except Exception:
            log.debug("widget socket closed while sending", exc_info=True)
            return
