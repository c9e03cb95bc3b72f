"""Shared route dependencies: the hub and the authenticated agent."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Depends, Header, HTTPException, Request, WebSocket

from api.hub import Hub
from handoff import agents as agent_accounts


def get_hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


def socket_hub(websocket: WebSocket) -> Hub:
    hub: Hub = websocket.app.state.hub
    return hub


@dataclass(frozen=True)
class AgentRef:
    id: int
    name: str
    email: str
    role: str = "agent"


def agent_from_token(hub: Hub, token: str) -> AgentRef | None:
    with hub.sessions() as session:
        agent = agent_accounts.agent_for_token(session, token)
        return (
            None if agent is None else AgentRef(agent.id, agent.name, agent.email, agent.role.value)
        )


def current_agent(
    hub: Hub = Depends(get_hub), authorization: str | None = Header(default=None)
) -> AgentRef:
    scheme, _, token = (authorization or "").partition(" ")
    agent = agent_from_token(hub, token.strip()) if scheme.lower() == "bearer" and token else None
    if agent is None:
        raise HTTPException(
            status_code=401,
            detail="missing or invalid token; log in at POST /api/auth/login",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return agent


def current_lead(agent: AgentRef = Depends(current_agent)) -> AgentRef:
    """Teams, SLA policies and agents' settings are for support leads."""
    if agent.role != "lead":
        raise HTTPException(status_code=403, detail="only a support lead can change this")
    return agent
