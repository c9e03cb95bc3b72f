"""Which agents have a live console: connection records, read by routing and availability.

An agent's presence (online, away, offline) is what they chose; whether a console of theirs
is still open is what the records say. A record whose hub stopped heartbeating it (the hub
died) is expired; an agent with records and none live is offline for routing at once, before
the expiry step (handoff/agents.expire_connections) writes it down. An agent without any
record (presence set through the API, no console) is taken at their word, as before.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from handoff.models import AgentConnection


def live_agent_ids(now: datetime) -> Select[int]:
    """Agents with at least one console still heartbeated (a subquery)."""
    return select(AgentConnection.agent_id).where(AgentConnection.expires_at >= now)


def stranded_agent_ids(now: datetime) -> Select[int]:
    """Agents whose consoles all expired (a subquery)."""
    return (
        select(AgentConnection.agent_id)
        .where(AgentConnection.expires_at < now)
        .where(AgentConnection.agent_id.not_in(live_agent_ids(now)))
        .distinct()
    )


def stranded(session: Session, now: datetime) -> set[int]:
    return set(session.scalars(stranded_agent_ids(now)))
