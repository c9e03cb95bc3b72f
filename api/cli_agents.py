"""`frontline agents ...`: accounts from the command line, so a hub can run without the demo
agent and an operator who lost every admin password can get back in. Each change is in the
audit log with no actor and `cli` as its address."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from sqlalchemy.orm import Session

from api.cli_common import fail
from api.settings import Settings
from handoff import agents, audit, lookups
from handoff.db import make_engine, make_sessionmaker, transaction, upgrade
from handoff.errors import HandoffError
from handoff.models import Agent

agents_app = typer.Typer(help="Agent accounts.", no_args_is_help=True)
ROLES = ("agent", "lead", "admin")


@contextmanager
def _session() -> Iterator[Session]:
    """One transaction on the configured database (migrated first); domain errors exit 1."""
    settings = Settings()
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            yield session
    except HandoffError as error:
        fail(str(error))
    finally:
        engine.dispose()


def _find(session: Session, email: str) -> Agent:
    agent = agents.find_agent(session, email)
    if agent is None:
        fail(f"no agent with email {email.strip().lower()}")
    return agent


def _audit(session: Session, action: str, agent: Agent, **detail: object) -> None:
    audit.record(
        session,
        actor_id=None,
        action=action,
        target=agent.email,
        detail={"agent_id": agent.id, **detail},
        ip="cli",
    )


@agents_app.command("create")
def agents_create(
    email: str = typer.Option(..., prompt=True),
    name: str = typer.Option(..., prompt=True),
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
    role: str = typer.Option("agent", help="agent, lead or admin."),
) -> None:
    """Create an account (the password needs 12+ characters, not the email, not a common one)."""
    if role not in ROLES:
        fail(f"--role is one of {', '.join(ROLES)}")
    with _session() as session:
        agent, _ = agents.create_agent(
            session, email=email, name=name, password=password, role=role
        )
        _audit(session, "agent_create", agent, role=role)
        typer.echo(f"Created {agent.role.value} {agent.id}: {agent.name} <{agent.email}>")


@agents_app.command("set-password")
def agents_set_password(
    email: str = typer.Argument(..., help="The account's email."),
    password: str = typer.Option(
        ..., prompt="New password", hide_input=True, confirmation_prompt=True
    ),
) -> None:
    """Give an account a new password; its sessions end (it signs in again)."""
    with _session() as session:
        agent = _find(session, email)
        agents.set_password(session, agent_id=agent.id, password=password)
        _audit(session, "agent_password", agent)
        typer.echo(f"New password set for {agent.email}; their sessions have ended.")


@agents_app.command("deactivate")
def agents_deactivate(email: str = typer.Argument(..., help="The account's email.")) -> None:
    """The account can no longer sign in; its sessions and open consoles end at once."""
    with _session() as session:
        agent = _find(session, email)
        agents.set_active(session, agent_id=agent.id, active=False)
        _audit(session, "agent_deactivate", agent)
        typer.echo(f"Deactivated {agent.email}.")


@agents_app.command("activate")
def agents_activate(email: str = typer.Argument(..., help="The account's email.")) -> None:
    """Let a deactivated account sign in again."""
    with _session() as session:
        agent = _find(session, email)
        agents.set_active(session, agent_id=agent.id, active=True)
        _audit(session, "agent_activate", agent)
        typer.echo(f"Activated {agent.email}.")


@agents_app.command("list")
def agents_list() -> None:
    """Every account: id, role, active or not, email, name."""
    with _session() as session:
        for agent in lookups.all_agents(session):
            state = "active" if agent.is_active else "deactivated"
            typer.echo(f"{agent.id}\t{agent.role.value}\t{state}\t{agent.email}\t{agent.name}")
