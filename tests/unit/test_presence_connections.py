"""Presence as connection records (handoff/agents.py, handoff/presence.py): a console per
record, heartbeated by its hub; an agent whose consoles all expired (a dead hub) is offline
for routing at once and set offline by the expiry step."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff import agents, routing
from handoff.lookups import team_named
from handoff.models import Agent, AgentConnection
from handoff.states import Presence

LIFE = timedelta(seconds=30)
T0 = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)  # in the future: utcnow() never makes it stale


def agent(session: Session, name: str) -> Agent:
    created, _ = agents.create_agent(
        session, email=f"{name}@example.com", name=name, password="long enough secret"
    )
    team_named(session, agents.DEFAULT_TEAM).members.append(created)
    session.flush()
    return created


def open_console(session: Session, who: Agent, hub: str, name: str, now: datetime) -> None:
    agents.open_connection(
        session, agent_id=who.id, hub_id=hub, connection_id=name, lifetime=LIFE, now=now
    )


def test_a_console_brings_the_agent_online_and_the_last_one_closing_offline(
    session: Session,
) -> None:
    ana = agent(session, "ana")
    open_console(session, ana, "hub-a", "c1", T0)
    assert ana.presence is Presence.ONLINE
    open_console(session, ana, "hub-b", "c2", T0)
    went_offline, _ = agents.close_connection(session, connection_id="c1", now=T0)
    assert not went_offline and ana.presence is Presence.ONLINE  # still open on hub b
    went_offline, events = agents.close_connection(session, connection_id="c2", now=T0)
    assert went_offline and ana.presence is Presence.OFFLINE and events
    assert session.scalars(select(AgentConnection)).all() == []
    # Closing a record the expiry step removed already changes nothing.
    assert agents.close_connection(session, connection_id="c2", now=T0) == (False, [])


def test_an_away_agent_stays_away_when_a_console_opens(session: Session) -> None:
    bo = agent(session, "bo")
    agents.set_presence(session, agent_id=bo.id, presence=Presence.AWAY)
    open_console(session, bo, "hub-a", "c1", T0)
    assert bo.presence is Presence.AWAY


def test_expired_consoles_make_the_agent_offline_for_routing_then_the_step_writes_it(
    session: Session,
) -> None:
    ana, cy = agent(session, "ana"), agent(session, "cy")
    open_console(session, ana, "dead-hub", "a1", T0)
    open_console(session, cy, "live-hub", "c1", T0)
    later = T0 + LIFE + timedelta(seconds=1)
    # The live hub heartbeats its own; the dead one does not.
    count, _ = agents.heartbeat_connections(
        session, hub_id="live-hub", lifetime=LIFE, now=T0 + LIFE - timedelta(seconds=1)
    )
    assert count == 1
    assert agents.online_count(session, T0) == 2
    assert agents.online_count(session, later) == 1  # before the expiry step ran
    offline, events = agents.expire_connections(session, now=later)
    assert offline == [ana.id] and len(events) == 1
    assert ana.presence is Presence.OFFLINE and cy.presence is Presence.ONLINE
    rows = session.scalars(select(AgentConnection.connection_id)).all()
    assert rows == ["c1"]
    assert agents.expire_connections(session, now=later) == ([], [])  # idempotent


def test_routing_skips_an_agent_whose_hub_died(session: Session) -> None:
    ana = agent(session, "ana")
    team = team_named(session, agents.DEFAULT_TEAM)
    # A console record that expired long ago (utcnow() is what routing compares with).
    past = datetime.now(UTC) - timedelta(hours=1)
    open_console(session, ana, "dead-hub", "a1", past)
    assert ana.presence is Presence.ONLINE
    assert ana not in routing.online_members(session, team)
    assert all(a.id != ana.id for a, _ in routing.available(session, team))
    # An agent online through the API, with no console at all, is taken at their word.
    bo = agent(session, "bo")
    agents.set_presence(session, agent_id=bo.id, presence=Presence.ONLINE)
    assert bo in routing.online_members(session, team)


def test_a_console_on_another_hub_keeps_the_agent_online_through_expiry(
    session: Session,
) -> None:
    ana = agent(session, "ana")
    open_console(session, ana, "dead-hub", "a1", T0)
    open_console(session, ana, "other-hub", "a2", T0 + LIFE)  # reconnected elsewhere
    offline, _ = agents.expire_connections(session, now=T0 + LIFE + timedelta(seconds=1))
    assert offline == [] and ana.presence is Presence.ONLINE
