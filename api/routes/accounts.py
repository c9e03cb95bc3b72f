"""Agent accounts for admins (create, reset a password) and the audit log they read.

Roles and deactivation are `PATCH /api/agents/{id}` (api/routes/admin.py). The audit log
has no route that changes it: no PUT, PATCH or DELETE exists, so it answers 405."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api import schemas, serializers
from api.hub import Hub
from api.routes.deps import AgentRef, current_admin, get_hub
from handoff import agents as agent_accounts
from handoff import audit, lookups
from handoff.errors import InvalidInput
from handoff.events import Event

router = APIRouter(prefix="/api", tags=["accounts"])


class NewAgent(BaseModel):
    email: str = Field(min_length=3, max_length=320)
    name: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1000)
    role: Literal["agent", "lead", "admin"] = "agent"


class NewPassword(BaseModel):
    password: str = Field(min_length=1, max_length=1000)


@router.post("/agents", status_code=201, response_model=schemas.AccountOut)
async def create_agent(
    body: NewAgent, hub: Hub = Depends(get_hub), admin: AgentRef = Depends(current_admin)
) -> dict[str, Any]:
    """A new account; the password must meet the policy (422 says what is wrong)."""

    def operation(session: Session) -> tuple[dict[str, Any], list[Event]]:
        agent, events = agent_accounts.create_agent(
            session, email=body.email, name=body.name, password=body.password, role=body.role
        )
        audit.record(
            session,
            actor_id=admin.id,
            action="agent_create",
            target=agent.email,
            detail={"agent_id": agent.id, "role": body.role},
            ip=admin.ip,
        )
        return serializers.account_dict(agent), events

    return await hub.flow.write(operation)


@router.post("/agents/{agent_id}/password", status_code=204, response_class=Response)
async def reset_password(
    agent_id: int,
    body: NewPassword,
    hub: Hub = Depends(get_hub),
    admin: AgentRef = Depends(current_admin),
) -> Response:
    """A new password for the account; its sessions end (it signs in again)."""

    def operation(session: Session) -> tuple[None, list[Event]]:
        agent, _ = agent_accounts.set_password(session, agent_id=agent_id, password=body.password)
        audit.record(
            session,
            actor_id=admin.id,
            action="agent_password",
            target=agent.email,
            detail={"agent_id": agent.id},
            ip=admin.ip,
        )
        return None, []

    await hub.flow.write(operation)
    return Response(status_code=204)


@router.get("/audit", response_model=schemas.AuditPage)
def read_audit(
    actor: int | None = Query(default=None, ge=1, le=2**63 - 1, description="an agent's id"),
    action: str | None = Query(default=None, max_length=48),
    since: datetime | None = Query(default=None, description="ISO 8601; UTC when no zone"),
    before: int | None = Query(default=None, ge=1, le=2**63 - 1, description="next_before"),
    limit: int = Query(default=100, ge=1, le=500),
    hub: Hub = Depends(get_hub),
    _admin: AgentRef = Depends(current_admin),
) -> dict[str, Any]:
    """The audit log, newest first (admins only)."""
    if since is not None:
        if not 2 <= since.year <= 9998:
            raise InvalidInput("since must lie between the years 2 and 9998")
        since = since if since.tzinfo is not None else since.replace(tzinfo=UTC)
    with hub.sessions() as session:
        rows = lookups.audit_entries(
            session, actor_id=actor, action=action, since=since, before_id=before, limit=limit
        )
        return {
            "entries": [serializers.audit_dict(e) for e in rows],
            "next_before": rows[-1].id if len(rows) == limit else None,
        }
