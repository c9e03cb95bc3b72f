"""Agents: accounts, password hashing (argon2) and login sessions."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handoff.errors import InvalidInput
from handoff.models import Agent, AgentSession, utcnow

SESSION_LIFETIME = timedelta(hours=12)
_hasher = PasswordHasher()


def _normalise_email(email: str) -> str:
    email = email.strip().lower()
    if "@" not in email or len(email) > 320:
        raise InvalidInput(f"not an email address: {email!r}")
    return email


def create_agent(session: Session, *, email: str, name: str, password: str) -> Agent:
    email = _normalise_email(email)
    if len(password) < 4:
        raise InvalidInput("password must have at least 4 characters")
    if not name.strip():
        raise InvalidInput("name is empty")
    if session.scalar(select(Agent).where(Agent.email == email)) is not None:
        raise InvalidInput(f"an agent with email {email} exists already")
    agent = Agent(email=email, name=name.strip(), password_hash=_hasher.hash(password))
    session.add(agent)
    session.flush()
    return agent


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


def start_session(session: Session, agent: Agent) -> str:
    token = secrets.token_urlsafe(32)
    session.add(
        AgentSession(
            agent_id=agent.id, token_hash=_digest(token), expires_at=utcnow() + SESSION_LIFETIME
        )
    )
    session.flush()
    return token


def agent_for_token(session: Session, token: str) -> Agent | None:
    login = session.scalar(select(AgentSession).where(AgentSession.token_hash == _digest(token)))
    if login is None or login.expires_at <= utcnow() or not login.agent.is_active:
        return None
    return login.agent
