"""Teams, agents and SLA policies: read by agents, changed by leads."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy import select

from api import serializers
from api.hub import Hub
from api.routes.deps import AgentRef, current_agent, current_lead, get_hub
from handoff import routing
from handoff.clocks import BREACH_ACTIONS
from handoff.db import transaction
from handoff.errors import InvalidInput, NotFound
from handoff.models import Agent, SlaPolicy, Team, utcnow
from handoff.states import AgentRole, AssignmentMode, Priority

router = APIRouter(prefix="/api", tags=["admin"])
Mode = Literal["claim", "round_robin", "least_busy"]


class TeamBody(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    topics: list[str] = Field(default_factory=list, max_length=50)
    languages: list[str] = Field(default_factory=list, max_length=50)
    channels: list[str] = Field(default_factory=list, max_length=20)
    assignment_mode: Mode = "claim"
    lead_id: int | None = None
    member_ids: list[int] = Field(default_factory=list, max_length=500)


class AgentUpdate(BaseModel):
    capacity: int | None = Field(default=None, ge=0, le=50)
    role: Literal["agent", "lead"] | None = None


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


@router.get("/teams")
def list_teams(
    hub: Hub = Depends(get_hub), _agent: AgentRef = Depends(current_agent)
) -> dict[str, Any]:
    with hub.sessions() as session:
        return {"teams": [_team_dict(t) for t in session.scalars(select(Team).order_by(Team.id))]}


def _apply(session: Any, team: Team, body: TeamBody) -> None:
    team.name = body.name.strip()
    team.topics = [t.strip() for t in body.topics if t.strip()]
    team.languages = [x.strip().lower() for x in body.languages if x.strip()]
    team.channels = [c.strip() for c in body.channels if c.strip()]
    team.assignment_mode = AssignmentMode(body.assignment_mode)
    members = [session.get(Agent, i) for i in body.member_ids]
    if any(m is None for m in members):
        raise InvalidInput("unknown agent in member_ids")
    team.members = [m for m in members if m is not None]
    if body.lead_id is not None and session.get(Agent, body.lead_id) is None:
        raise InvalidInput(f"agent {body.lead_id} not found")
    team.lead_id = body.lead_id


@router.post("/teams", status_code=201)
def create_team(
    body: TeamBody, hub: Hub = Depends(get_hub), _lead: AgentRef = Depends(current_lead)
) -> dict[str, Any]:
    with transaction(hub.sessions) as session:
        if session.scalar(select(Team).where(Team.name == body.name.strip())) is not None:
            raise InvalidInput(f"a team named {body.name!r} exists already")
        team = Team(name=body.name)
        session.add(team)
        _apply(session, team, body)
        session.flush()
        return _team_dict(team)


@router.put("/teams/{team_id}")
def update_team(
    team_id: int,
    body: TeamBody,
    hub: Hub = Depends(get_hub),
    _lead: AgentRef = Depends(current_lead),
) -> dict[str, Any]:
    with transaction(hub.sessions) as session:
        team = session.get(Team, team_id)
        if team is None:
            raise NotFound(f"team {team_id} not found")
        _apply(session, team, body)
        session.flush()
        return _team_dict(team)


@router.get("/agents")
def list_agents(
    hub: Hub = Depends(get_hub), _agent: AgentRef = Depends(current_agent)
) -> dict[str, Any]:
    """Everyone with presence, capacity and current load (for transfers and the dashboard)."""
    with hub.sessions() as session:
        agents = session.scalars(select(Agent).where(Agent.is_active).order_by(Agent.name)).all()
        load = routing.loads(session, [a.id for a in agents])
        return {"agents": [{**serializers.agent_full(a), "load": load[a.id]} for a in agents]}


@router.patch("/agents/{agent_id}")
async def update_agent(
    agent_id: int,
    body: AgentUpdate,
    hub: Hub = Depends(get_hub),
    _lead: AgentRef = Depends(current_lead),
) -> dict[str, Any]:
    def operation(session: Any) -> tuple[dict[str, Any], list[Any]]:
        agent = session.get(Agent, agent_id)
        if agent is None:
            raise NotFound(f"agent {agent_id} not found")
        if body.capacity is not None:
            agent.capacity = body.capacity
        if body.role is not None:
            agent.role = AgentRole(body.role)
        session.flush()
        return serializers.agent_full(agent), routing.auto_assign(session, utcnow())

    return await hub.flow.write(operation)


@router.get("/sla-policies")
def list_policies(
    hub: Hub = Depends(get_hub), _agent: AgentRef = Depends(current_agent)
) -> dict[str, Any]:
    with hub.sessions() as session:
        rows = {p.priority: p for p in session.scalars(select(SlaPolicy))}
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


@router.put("/sla-policies/{priority}")
def set_policy(
    priority: Literal["urgent", "high", "normal", "low"],
    body: PolicyBody,
    hub: Hub = Depends(get_hub),
    _lead: AgentRef = Depends(current_lead),
) -> dict[str, Any]:
    """New targets apply to tickets handed off from now on."""
    if body.on_breach not in BREACH_ACTIONS:
        raise InvalidInput(f"on_breach is one of {', '.join(BREACH_ACTIONS)}")
    with transaction(hub.sessions) as session:
        policy = session.get(SlaPolicy, Priority(priority))
        if policy is None:
            policy = SlaPolicy(priority=Priority(priority))
            session.add(policy)
        policy.first_response_minutes = body.first_response_minutes
        policy.resolution_minutes = body.resolution_minutes
        policy.on_breach = body.on_breach
        return {"priority": priority, **body.model_dump()}
