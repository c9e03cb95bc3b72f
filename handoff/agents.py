"""Agents: accounts, password hashing (argon2) and login sessions."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from handoff import presence as connections
from handoff import routing
from handoff.errors import InvalidInput, NotAllowed, NotFound
from handoff.events import Event, agent_changed
from handoff.lookups import team_named
from handoff.models import Agent, AgentConnection, AgentSession, utcnow
from handoff.passwords import check_password
from handoff.states import AgentRole, Presence

SESSION_LIFETIME = timedelta(hours=12)
DEFAULT_TEAM = "Support"  # created by migration 0003
_hasher = PasswordHasher()


def _normalise_email(email: str) -> str:
    email = email.strip().lower()
    if "@" not in email or len(email) > 320:
        raise InvalidInput(f"not an email address: {email!r}")
    return email


def _role(role: str) -> AgentRole:
    try:
        return AgentRole(role)
    except ValueError:
        raise InvalidInput(f"unknown role {role!r}: agent, lead or admin") from None


def create_agent(
    session: Session,
    *,
    email: str,
    name: str,
    password: str,
    role: str | None = None,
    check_policy: bool = True,
) -> tuple[Agent, list[Event]]:
    """A new account. `check_policy=False` only for the demo agent, whose well-known password
    the hub refuses to serve on a public address."""
    email = _normalise_email(email)
    if check_policy:
        check_password(password, email=email)
    if not name.strip():
        raise InvalidInput("name is empty")
    if len(name.strip()) > 200:
        raise InvalidInput("a name has at most 200 characters")
    if session.scalar(select(Agent).where(Agent.email == email)) is not None:
        raise InvalidInput(f"an agent with email {email} exists already")
    agent = Agent(email=email, name=name.strip(), password_hash=_hasher.hash(password))
    if role is not None:
        agent.role = _role(role)
    # New agents join the catch-all team (if there is one) so they can take conversations.
    default = team_named(session, DEFAULT_TEAM)
    if default is not None:
        agent.teams.append(default)
    session.add(agent)
    session.flush()
    # More room (or a lead's role) may take queued conversations now.
    return agent, [agent_changed(agent.id), *routing.auto_assign(session, now=utcnow())[1]]


def count_agents(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Agent)) or 0


def authenticate(session: Session, email: str, password: str) -> Agent | None:
    try:
        email = _normalise_email(email)
    except InvalidInput:
        return None
    agent = session.scalar(select(Agent).where(Agent.email == email, Agent.is_active))
    if agent is None:
        # Spend the same time as a real check so response times do not reveal accounts.
        _hasher.hash(password)
        return None
    try:
        _hasher.verify(agent.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    return agent


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, *, agent: Agent) -> tuple[str, list[Event]]:
    """A login for `agent`: the bearer token (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    session.add(
        AgentSession(
            agent_id=agent.id, token_hash=_digest(token), expires_at=utcnow() + SESSION_LIFETIME
        )
    )
    session.flush()
    return token, []


def log_in(
    session: Session, *, email: str, password: str
) -> tuple[tuple[Agent, str] | None, list[Event]]:
    """A login: the agent and a new bearer token, or None for a wrong email or password."""
    agent = authenticate(session, email, password)
    if agent is None:
        return None, []
    token, events = start_session(session, agent=agent)
    return (agent, token), events


def agent_for_token(session: Session, token: str) -> Agent | None:
    login = session.scalar(select(AgentSession).where(AgentSession.token_hash == _digest(token)))
    if login is None or login.expires_at <= utcnow() or not login.agent.is_active:
        return None
    return login.agent


def end_session(session: Session, *, token: str) -> tuple[int | None, list[Event]]:
    """Log out: the token's session is deleted, so the token is refused from now on.
    Returns the agent whose session it was (None for a token that was not valid)."""
    login = session.scalar(select(AgentSession).where(AgentSession.token_hash == _digest(token)))
    if login is None:
        return None, []
    agent_id = login.agent_id
    session.delete(login)
    session.flush()
    return agent_id, []


def revoke_sessions(session: Session, *, agent_id: int) -> tuple[int, list[Event]]:
    """Every login of the agent ends (deactivation, a new password). Returns how many."""
    result = session.execute(
        delete(AgentSession)
        .where(AgentSession.agent_id == agent_id)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0), []


def prune_sessions(session: Session, *, now: datetime) -> tuple[int, list[Event]]:
    """Expired sessions are deleted (by the sweep): nothing keeps dead token hashes around."""
    result = session.execute(
        delete(AgentSession)
        .where(AgentSession.expires_at <= now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0), []


def set_password(session: Session, *, agent_id: int, password: str) -> tuple[Agent, list[Event]]:
    """A new password (policy checked); the agent's sessions end, so they sign in again."""
    agent = session.get(Agent, agent_id)
    if agent is None:
        raise NotFound(f"agent {agent_id} not found")
    check_password(password, email=agent.email)
    agent.password_hash = _hasher.hash(password)
    revoke_sessions(session, agent_id=agent.id)
    session.flush()
    return agent, []


def _other_active_admins(session: Session, agent_id: int) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Agent)
            .where(Agent.is_active, Agent.role == AgentRole.ADMIN, Agent.id != agent_id)
        )
        or 0
    )


def set_active(
    session: Session, *, agent_id: int, active: bool, now: datetime | None = None
) -> tuple[Agent, list[Event]]:
    """Deactivate (the account can no longer sign in, its sessions end, it goes offline and
    gets no new conversations) or activate again. The last active admin stays active."""
    agent = session.get(Agent, agent_id)
    if agent is None:
        raise NotFound(f"agent {agent_id} not found")
    if agent.is_active is active:
        return agent, []
    if (
        not active
        and agent.role is AgentRole.ADMIN
        and _other_active_admins(session, agent.id) == 0
    ):
        raise NotAllowed("the last active admin cannot be deactivated; make another admin first")
    agent.is_active = active
    if not active:
        agent.presence = Presence.OFFLINE
        agent.presence_at = now or utcnow()
        revoke_sessions(session, agent_id=agent.id)
    session.flush()
    return agent, [agent_changed(agent.id), *routing.auto_assign(session, now=now or utcnow())[1]]


def find_agent(session: Session, email: str) -> Agent | None:
    """The account with this email (any state), for the CLI."""
    return session.scalar(select(Agent).where(Agent.email == _normalise_email(email)))


def set_presence(
    session: Session,
    *,
    agent_id: int,
    presence: Presence | str,
    only_from: Presence | None = None,
) -> tuple[Agent, list[Event]]:
    """Online agents get conversations; away ones keep theirs and get nothing new.

    `only_from`: change nothing unless the agent's presence is that now (opening the console
    brings an offline agent online, but an away one stays away). Coming online may assign
    queued conversations at once."""
    try:
        value = Presence(presence)
    except ValueError:
        raise InvalidInput("presence is one of online, away, offline") from None
    agent = session.get(Agent, agent_id)
    if agent is None:
        raise InvalidInput(f"agent {agent_id} not found")
    if agent.presence is value or (only_from is not None and agent.presence is not only_from):
        return agent, []
    agent.presence = value
    agent.presence_at = utcnow()
    session.flush()
    events = [agent_changed(agent.id)]
    if value is Presence.ONLINE:
        events += routing.auto_assign(session, now=utcnow())[1]
    return agent, events


def online_count(session: Session, now: datetime | None = None) -> int:
    """Active agents online, leaving out those whose consoles all expired (a dead hub)."""
    return (
        session.scalar(
            select(func.count())
            .select_from(Agent)
            .where(Agent.is_active, Agent.presence == Presence.ONLINE)
            .where(Agent.id.not_in(connections.stranded_agent_ids(now or utcnow())))
        )
        or 0
    )


def open_connection(
    session: Session,
    *,
    agent_id: int,
    hub_id: str,
    connection_id: str,
    lifetime: timedelta,
    now: datetime | None = None,
) -> tuple[AgentConnection, list[Event]]:
    """An agents' console opened on `hub_id`: its record, live for `lifetime` unless the hub
    heartbeats it; it brings an offline agent online (an away one stays away)."""
    now = now or utcnow()
    record = AgentConnection(
        agent_id=agent_id,
        hub_id=hub_id,
        connection_id=connection_id,
        opened_at=now,
        heartbeat_at=now,
        expires_at=now + lifetime,
    )
    session.add(record)
    session.flush()
    _, events = set_presence(
        session, agent_id=agent_id, presence=Presence.ONLINE, only_from=Presence.OFFLINE
    )
    return record, events


def close_connection(
    session: Session, *, connection_id: str, now: datetime | None = None
) -> tuple[bool, list[Event]]:
    """A console closed: its record goes; the agent's last live one sets them offline (their
    conversations stay theirs). True when the agent went offline."""
    now = now or utcnow()
    record = session.scalar(
        select(AgentConnection).where(AgentConnection.connection_id == connection_id)
    )
    if record is None:
        return False, []  # expired and swept already
    agent_id = record.agent_id
    session.delete(record)
    session.flush()
    if session.scalar(connections.live_agent_ids(now).where(AgentConnection.agent_id == agent_id)):
        return False, []  # another console of theirs, on this hub or another
    _, events = set_presence(session, agent_id=agent_id, presence=Presence.OFFLINE)
    return bool(events), events


def heartbeat_connections(
    session: Session, *, hub_id: str, lifetime: timedelta, now: datetime | None = None
) -> tuple[int, list[Event]]:
    """The hub `hub_id` still holds its consoles: their records live `lifetime` longer."""
    now = now or utcnow()
    result = session.execute(
        update(AgentConnection)
        .where(AgentConnection.hub_id == hub_id)
        .values(heartbeat_at=now, expires_at=now + lifetime)
    )
    return int(getattr(result, "rowcount", 0) or 0), []


def expire_connections(session: Session, *, now: datetime) -> tuple[list[int], list[Event]]:
    """The periodic expiry step (once per interval across the fleet; idempotent): agents
    whose consoles all expired (their hub died) go offline, and expired records are deleted.
    Returns the ids of the agents set offline."""
    stranded = sorted(connections.stranded(session, now))
    session.execute(delete(AgentConnection).where(AgentConnection.expires_at < now))
    offline: list[int] = []
    events: list[Event] = []
    for agent_id in stranded:
        agent = session.get(Agent, agent_id)
        if agent is None or agent.presence is Presence.OFFLINE:
            continue
        agent.presence = Presence.OFFLINE
        agent.presence_at = now
        offline.append(agent_id)
        events.append(agent_changed(agent_id))
    session.flush()
    return offline, events


def update_agent(
    session: Session,
    *,
    agent_id: int,
    capacity: int | None = None,
    role: str | None = None,
) -> tuple[Agent, list[Event]]:
    """A lead changes an agent's capacity, an admin their role."""
    agent = session.get(Agent, agent_id)
    if agent is None:
        raise NotFound(f"agent {agent_id} not found")
    if capacity is not None:
        agent.capacity = capacity
    if role is not None:
        new = _role(role)
        if (
            agent.role is AgentRole.ADMIN
            and new is not AgentRole.ADMIN
            and agent.is_active
            and _other_active_admins(session, agent.id) == 0
        ):
            raise NotAllowed("the last active admin keeps the role; make another admin first")
        agent.role = new
    session.flush()
    # More room (or a lead's role) may take queued conversations now.
    return agent, [agent_changed(agent.id), *routing.auto_assign(session, now=utcnow())[1]]
