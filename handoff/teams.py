"""Teams: who covers which topics, languages and channels, and how they get work."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from handoff import routing
from handoff.errors import InvalidInput
from handoff.events import Event, queue_moved
from handoff.lookups import get_team, team_named
from handoff.models import Agent, Team, utcnow
from handoff.states import AssignmentMode


def _apply(
    session: Session,
    team: Team,
    *,
    name: str,
    topics: Sequence[str],
    languages: Sequence[str],
    channels: Sequence[str],
    assignment_mode: str,
    member_ids: Sequence[int],
    lead_id: int | None,
) -> None:
    team.name = name.strip()
    team.topics = [t.strip() for t in topics if t.strip()]
    team.languages = [x.strip().lower() for x in languages if x.strip()]
    team.channels = [c.strip() for c in channels if c.strip()]
    try:
        team.assignment_mode = AssignmentMode(assignment_mode)
    except ValueError:
        raise InvalidInput(f"unknown assignment mode {assignment_mode!r}") from None
    members = [session.get(Agent, i) for i in member_ids]
    if any(m is None for m in members):
        raise InvalidInput("unknown agent in member_ids")
    team.members = [m for m in members if m is not None]
    if lead_id is not None and session.get(Agent, lead_id) is None:
        raise InvalidInput(f"agent {lead_id} not found")
    team.lead_id = lead_id


def save_team(
    session: Session,
    *,
    team_id: int | None = None,
    name: str,
    topics: Sequence[str] = (),
    languages: Sequence[str] = (),
    channels: Sequence[str] = (),
    assignment_mode: str = AssignmentMode.CLAIM.value,
    member_ids: Sequence[int] = (),
    lead_id: int | None = None,
    now: datetime | None = None,
) -> tuple[Team, list[Event]]:
    """Create a team (`team_id` None) or replace an existing team's settings."""
    same_name = team_named(session, name.strip())
    if same_name is not None and same_name.id != team_id:  # a rename onto another team too
        raise InvalidInput(f"a team named {name!r} exists already")
    if team_id is None:
        team = Team(name=name)
        session.add(team)
    else:
        team = get_team(session, team_id)
    _apply(
        session,
        team,
        name=name,
        topics=topics,
        languages=languages,
        channels=channels,
        assignment_mode=assignment_mode,
        member_ids=member_ids,
        lead_id=lead_id,
    )
    session.flush()
    return team, [queue_moved(), *routing.auto_assign(session, now=now or utcnow())[1]]
