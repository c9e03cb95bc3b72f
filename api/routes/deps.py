"""Shared route dependencies: the hub, the authenticated agent, and what their role allows."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import Depends, Header, HTTPException, Request, WebSocket
from sqlalchemy.orm import Session

from api.hub import Hub
from handoff import agents as agent_accounts
from handoff import audit
from handoff.events import Event
from handoff.states import AgentRole

T = TypeVar("T")

Role = AgentRole


def get_hub(request: Request) -> Hub:
    hub: Hub = request.app.state.hub
    return hub


def socket_hub(websocket: WebSocket) -> Hub:
    hub: Hub = websocket.app.state.hub
    return hub


def client_ip(request: Request) -> str:
    """The caller's address as the server saw it (behind a proxy, run uvicorn with
    --proxy-headers and --forwarded-allow-ips so this is the client's, not the proxy's)."""
    return request.client.host if request.client else ""


@dataclass(frozen=True)
class AgentRef:
    id: int
    name: str
    email: str
    role: str = "agent"
    ip: str = ""  # where the request came from (the audit log's "from where")
    token: str = ""  # the bearer token of this request (logout ends its session)

    def has(self, role: AgentRole) -> bool:
        """An admin is also a lead, a lead also an agent."""
        return AgentRole(self.role).includes(role)


def agent_from_token(hub: Hub, token: str) -> AgentRef | None:
    with hub.sessions() as session:
        agent = agent_accounts.agent_for_token(session, token)
        return (
            None if agent is None else AgentRef(agent.id, agent.name, agent.email, agent.role.value)
        )


def current_agent(
    request: Request,
    hub: Hub = Depends(get_hub),
    authorization: str | None = Header(default=None),
) -> AgentRef:
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    agent = agent_from_token(hub, token) if scheme.lower() == "bearer" and token else None
    if agent is None:
        raise HTTPException(
            status_code=401,
            detail="missing or invalid token; log in at POST /api/auth/login",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return AgentRef(agent.id, agent.name, agent.email, agent.role, client_ip(request), token)


_REFUSALS = {
    AgentRole.LEAD: "only a support lead can change this",
    AgentRole.ADMIN: "only an admin can do this",
}


def require(role: AgentRole) -> Callable[[AgentRef], AgentRef]:
    """A dependency: the signed-in agent, if their role includes `role` (else 403).

    admin: agent accounts, channels, settings, the audit log; lead: teams, SLA policies,
    reports, the knowledge base, and anyone's conversations; agent: their own work."""

    def dependency(agent: AgentRef = Depends(current_agent)) -> AgentRef:
        if not agent.has(role):
            raise HTTPException(status_code=403, detail=_REFUSALS.get(role, "not allowed"))
        return agent

    dependency.__name__ = f"require_{role.value}"
    return dependency


current_lead = require(AgentRole.LEAD)
current_admin = require(AgentRole.ADMIN)


def audited(
    operation: Callable[..., tuple[T, list[Event]]],
    /,
    *,
    agent: AgentRef,
    action: str,
    target: str = "",
    detail: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> Callable[[Session], tuple[T, list[Event]]]:
    """`operation(session, **kwargs)` followed, in the same transaction, by its audit entry:
    an action that failed (and rolled back) leaves none, one that committed always has one.
    Use with `hub.flow.write`."""

    def run(session: Session) -> tuple[T, list[Event]]:
        result, events = operation(session, **kwargs)
        audit.record(
            session, actor_id=agent.id, action=action, target=target, detail=detail, ip=agent.ip
        )
        return result, events

    return run
