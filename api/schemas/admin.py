"""Agents, sign-in, teams and SLA policies (`api/routes/agents.py`, `api/routes/admin.py`)."""

from __future__ import annotations

from api.schemas.base import AgentBrief, Schema, TeamBrief
from handoff.states import AgentRole, AssignmentMode, Presence, Priority


class AgentOut(Schema):
    """An agent's own account (`serializers.agent_full`)."""

    id: int
    name: str
    email: str
    role: AgentRole
    presence: Presence
    capacity: int
    is_active: bool
    teams: list[TeamBrief]


class AgentLoad(AgentOut):
    """An agent with the conversations they have right now."""

    load: int


class AgentList(Schema):
    agents: list[AgentLoad]


class SignedInAgent(Schema):
    id: int
    name: str
    email: str


class LoginOut(Schema):
    """The bearer token for every other route, and who it belongs to."""

    token: str
    agent: SignedInAgent


class PresenceOut(Schema):
    presence: Presence


class TeamOut(Schema):
    id: int
    name: str
    topics: list[str]
    languages: list[str]
    channels: list[str]
    assignment_mode: AssignmentMode
    lead: AgentBrief | None
    members: list[AgentBrief]


class TeamList(Schema):
    teams: list[TeamOut]


class SlaPolicyOut(Schema):
    """Targets for tickets of one priority, in business minutes."""

    priority: Priority
    first_response_minutes: int
    resolution_minutes: int
    on_breach: str


class SlaPolicies(Schema):
    """The policies and the calendar their minutes are counted in."""

    calendar: str
    timezone: str
    holidays: str
    policies: list[SlaPolicyOut]
