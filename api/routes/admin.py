"""Teams, agents and SLA policies: read by agents, changed by leads (agents' roles and
accounts by admins: api/routes/accounts.py). Every change is in the audit log."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field

from api import schemas, serializers
from api.hub import Hub
from api.routes.deps import AgentRef, Role, audited, current_agent, current_lead, get_hub
from api.routes.params import BodyId, PathId
from handoff import agents as agent_accounts
from handoff import audit, lookups, policies, routing, teams
from handoff.models import Team
from handoff.states import Priority

router = APIRouter(prefix="/api", tags=["admin"])
Mode = Literal["claim", "round_robin", "least_busy"]


class TeamBody(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    topics: list[str] = Field(default_factory=list, max_length=50)
    languages: list[str] = Field(default_factory=list, max_length=50)
    channels: list[str] = Field(default_factory=list, max_length=20)
    assignment_mode: Mode = "claim"
    lead_id: BodyId | None = None
    member_ids: list[BodyId] = Field(default_factory=list, max_length=500)


class AgentUpdate(BaseModel):
    capacity: int | None = Field(default=None, ge=0, le=50)  # leads
    role: Literal["agent", "lead", "admin"] | None = None  # admins
    is_active: bool | None = None  # admins: false deactivates (sessions end at once)


class PolicyBody(BaseModel):
    first_response_minutes: int = Field(ge=1, le=60 * 24 * 60)
    resolution_minutes: int = Field(ge=1, le=60 * 24 * 365)
    on_breach: str = "none"


def _team_dict(team: Team) -> dict[str, Any]:
    return {
        "id": team.id,
        "name": team.name,
        "topics": team.topics,
        "languages": team.languages,
        "channels": team.channels,
        "assignment_mode": team.assignment_mode.value,
        "lead": serializers.agent_dict(team.lead),
        "members": [serializers.agent_dict(a) for a in team.members],
    }


@router.get("/teams", response_model=schemas.TeamList)
def list_teams(
    hub: Hub = Depends(get_hub), _agent: AgentRef = Depends(current_agent)
) -> dict[str, Any]:
    with hub.sessions() as session:
        return {"teams": [_team_dict(t) for t in lookups.teams(session)]}


async def _save_team(
    hub: Hub, team_id: int | None, body: TeamBody, lead: AgentRef
) -> dict[str, Any]:
    def operation(session: Any) -> tuple[dict[str, Any], list[Any]]:
        team, events = teams.save_team(session, team_id=team_id, **body.model_dump())
        audit.record(
            session,
            actor_id=lead.id,
            action="team_save",
            target=f"team {team.id}",
            detail={"created": team_id is None, **body.model_dump()},
            ip=lead.ip,
        )
        return _team_dict(team), events

    return await hub.flow.write(operation)


@router.post("/teams", status_code=201, response_model=schemas.TeamOut)
async def create_team(
    body: TeamBody, hub: Hub = Depends(get_hub), lead: AgentRef = Depends(current_lead)
) -> dict[str, Any]:
    return await _save_team(hub, None, body, lead)


@router.put("/teams/{team_id}", response_model=schemas.TeamOut)
async def update_team(
    team_id: PathId,
    body: TeamBody,
    hub: Hub = Depends(get_hub),
    lead: AgentRef = Depends(current_lead),
) -> dict[str, Any]:
    return await _save_team(hub, team_id, body, lead)


@router.get("/agents", response_model=schemas.AgentList)
def list_agents(
    include_inactive: bool = False,
    hub: Hub = Depends(get_hub),
    agent: AgentRef = Depends(current_agent),
) -> dict[str, Any]:
    """Everyone with presence, capacity and current load (for transfers and the dashboard);
    with `include_inactive=true` (admins) deactivated accounts too."""
    if include_inactive and not agent.has(Role.ADMIN):
        raise HTTPException(status_code=403, detail="only an admin can list deactivated accounts")
    with hub.sessions() as session:
        agents = lookups.all_agents(session) if include_inactive else lookups.active_agents(session)
        load = routing.loads(session, [a.id for a in agents])
        return {"agents": [{**serializers.agent_full(a), "load": load[a.id]} for a in agents]}


@router.patch("/agents/{agent_id}", response_model=schemas.AgentOut)
async def update_agent(
    agent_id: PathId,
    body: AgentUpdate,
    hub: Hub = Depends(get_hub),
    lead: AgentRef = Depends(current_lead),
) -> dict[str, Any]:
    """Capacity (leads); role and active (admins: 403 for a lead)."""
    if (body.role is not None or body.is_active is not None) and not lead.has(Role.ADMIN):
        raise HTTPException(status_code=403, detail="only an admin can change roles or accounts")

    def operation(session: Any) -> tuple[dict[str, Any], list[Any]]:
        before = lookups.get_account(session, agent_id).role.value
        agent, events = agent_accounts.update_agent(
            session, agent_id=agent_id, capacity=body.capacity, role=body.role
        )
        if body.is_active is not None:
            agent, more = agent_accounts.set_active(
                session, agent_id=agent_id, active=body.is_active
            )
            events += more
        entries: list[tuple[str, dict[str, Any]]] = []
        if body.capacity is not None:
            entries.append(("agent_update", {"capacity": body.capacity}))
        if body.role is not None and body.role != before:
            entries.append(("agent_role", {"from": before, "to": body.role}))
        if body.is_active is not None:
            entries.append(("agent_activate" if body.is_active else "agent_deactivate", {}))
        for action, detail in entries:
            audit.record(
                session,
                actor_id=lead.id,
                action=action,
                target=agent.email,
                detail={"agent_id": agent.id, **detail},
                ip=lead.ip,
            )
        return serializers.agent_full(agent), events

    return await hub.flow.write(operation)


@router.get("/sla-policies", response_model=schemas.SlaPolicies)
def list_policies(
    hub: Hub = Depends(get_hub), _agent: AgentRef = Depends(current_agent)
) -> dict[str, Any]:
    with hub.sessions() as session:
        rows = lookups.sla_policies(session)
        return {
            "calendar": hub.settings.business_hours or "around the clock",
            "timezone": hub.settings.timezone,
            "holidays": hub.settings.holidays,
            "policies": [
                {
                    "priority": p.value,
                    "first_response_minutes": rows[p].first_response_minutes,
                    "resolution_minutes": rows[p].resolution_minutes,
                    "on_breach": rows[p].on_breach,
                }
                for p in Priority
                if p in rows
            ],
        }


@router.put("/sla-policies/{priority}", response_model=schemas.SlaPolicyOut)
async def set_policy(
    priority: Literal["urgent", "high", "normal", "low"],
    body: PolicyBody,
    hub: Hub = Depends(get_hub),
    lead: AgentRef = Depends(current_lead),
) -> dict[str, Any]:
    """New targets apply to tickets handed off from now on."""
    await hub.flow.write(
        audited(
            policies.set_policy,
            agent=lead,
            action="sla_policy",
            target=f"sla {priority}",
            detail=body.model_dump(),
            priority=Priority(priority),
            **body.model_dump(),
        )
    )
    return {"priority": priority, **body.model_dump()}
