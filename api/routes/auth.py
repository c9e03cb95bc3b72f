"""Signing in and out, and the agents' socket's sign-in by its first frame.

Sessions are bearer tokens that only ever travel in an `Authorization` header or in the
socket's first frame, never in a URL (URLs end up in access logs). Logging out deletes the
session; open sockets of a session that ended are closed with 4401 (`watch_session`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response, WebSocket
from fastapi.websockets import WebSocketDisconnect
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api import schemas
from api.hub import Hub
from api.routes.deps import AgentRef, agent_from_token, client_ip, current_agent, get_hub
from handoff import agents as agent_accounts
from handoff import audit
from handoff.events import Event
from handoff.models import Agent

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/auth", tags=["agents"])
AUTH_FRAME_SECONDS = 10.0  # a socket that has not signed in by then is closed
SESSION_ENDED = 4401


class LoginBody(BaseModel):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1000)


@router.post(
    "/login",
    response_model=schemas.LoginOut,
    responses={429: {"description": "too many failed logins; see Retry-After"}},
)
async def login(body: LoginBody, request: Request, hub: Hub = Depends(get_hub)) -> dict[str, Any]:
    """A bearer token. Failed attempts are counted per account and per address (before the
    password is hashed); past the limits the answer is 429 with Retry-After, even for the
    right password, until the oldest failure leaves the window."""
    ip = client_ip(request)
    guard = hub.login_guard
    wait = await guard.retry_after(body.email, ip)
    if wait:
        log.warning("login throttled for %r from %s (%d s)", body.email[:80], ip, wait)
        raise HTTPException(
            status_code=429,
            detail=f"too many failed logins; try again in {wait} seconds",
            headers={"Retry-After": str(wait)},
        )

    def operation(session: Session) -> tuple[tuple[Agent, str] | None, list[Event]]:
        result, events = agent_accounts.log_in(session, email=body.email, password=body.password)
        if result is None:
            target = body.email.strip().lower()
            audit.record(session, actor_id=None, action="login_failed", target=target, ip=ip)
        else:
            agent = result[0]
            audit.record(session, actor_id=agent.id, action="login", target=agent.email, ip=ip)
        return result, events

    result = await hub.flow.write(operation)
    if result is None:
        await guard.failed(body.email, ip)
        raise HTTPException(status_code=401, detail="wrong email or password")
    await guard.succeeded(body.email, ip)
    agent, token = result
    return {"token": token, "agent": {"id": agent.id, "name": agent.name, "email": agent.email}}


@router.post("/logout", status_code=204, response_class=Response)
async def logout(hub: Hub = Depends(get_hub), agent: AgentRef = Depends(current_agent)) -> Response:
    """Ends this session: its token is refused from now on (its sockets close with 4401)."""

    def operation(session: Session) -> tuple[None, list[Event]]:
        agent_accounts.end_session(session, token=agent.token)
        audit.record(session, actor_id=agent.id, action="logout", target=agent.email, ip=agent.ip)
        return None, []

    await hub.flow.write(operation)
    return Response(status_code=204)


async def socket_sign_in(websocket: WebSocket, hub: Hub) -> tuple[AgentRef, str] | None:
    """The agent of an accepted socket whose first frame is `{"type": "auth", "token": …}`;
    anything else (or nothing within AUTH_FRAME_SECONDS) closes the socket with 4401."""
    token = ""
    try:
        text = await asyncio.wait_for(websocket.receive_text(), AUTH_FRAME_SECONDS)
        frame = json.loads(text)
        if isinstance(frame, dict) and frame.get("type") == "auth":
            value = frame.get("token")
            token = value if isinstance(value, str) and len(value) <= 200 else ""
    except WebSocketDisconnect:
        return None
    except (TimeoutError, ValueError, KeyError, RuntimeError, RecursionError):
        pass
    agent = await asyncio.to_thread(agent_from_token, hub, token) if token else None
    if agent is None:
        with contextlib.suppress(Exception):
            await websocket.close(code=SESSION_ENDED, reason="sign in with a valid token")
        return None
    return agent, token


async def watch_session(websocket: WebSocket, hub: Hub, token: str) -> None:
    """Close the socket with 4401 once its session is gone: logged out, the account
    deactivated or its password reset, or simply expired."""
    while True:
        await asyncio.sleep(hub.settings.session_check_interval)
        try:
            agent = await asyncio.to_thread(agent_from_token, hub, token)
        except Exception:  # a locked or restarting database is not the end of a session
            log.exception("could not check an agent socket's session")
            continue
        if agent is None:
            with contextlib.suppress(Exception):
                await websocket.close(code=SESSION_ENDED, reason="session ended")
            return
