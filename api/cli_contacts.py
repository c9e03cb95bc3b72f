"""`frontline contacts ...`: a person's data from the command line, for requests that come by
mail or post: everything held on them (`export`, JSON on stdout) and forgetting them
(`erase`). Both are in the audit log with no actor and `cli` as their address."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from sqlalchemy.orm import Session

from api.cli_common import fail
from api.rasa_client import RasaClient, erase_trackers
from api.settings import Settings
from handoff import audit, privacy
from handoff.db import make_engine, make_sessionmaker, transaction, upgrade
from handoff.errors import HandoffError

contacts_app = typer.Typer(help="Customers' data: export and erasure.", no_args_is_help=True)


@contextmanager
def _session(settings: Settings) -> Iterator[Session]:
    """One transaction on the configured database (migrated first); domain errors exit 1."""
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            yield session
    except HandoffError as error:
        fail(str(error))
    finally:
        engine.dispose()


@contacts_app.command("export")
def contacts_export(contact_id: int = typer.Argument(..., help="The contact's id.")) -> None:
    """Print everything held on the person as JSON: contact, identities, conversations with
    their messages, tickets with transcripts and ratings, notes."""
    with _session(Settings()) as session:
        data, _ = privacy.export_contact(session, contact_id=contact_id)
        audit.record(
            session, actor_id=None, action="export", target=f"contact {contact_id}", ip="cli"
        )
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


async def _reset(settings: Settings, conversation_ids: list[int]) -> int:
    rasa = RasaClient(
        settings.rasa_url, timeout=settings.rasa_timeout, api_key=settings.rasa_api_key
    )
    try:
        return await erase_trackers(rasa, conversation_ids)
    finally:
        await rasa.aclose()


@contacts_app.command("erase")
def contacts_erase(
    contact_id: int = typer.Argument(..., help="The contact's id."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Forget the person (cannot be undone): the contact is anonymised, every text of their
    conversations replaced, notes and identities deleted; ticket numbers and figures stay."""
    settings = Settings()
    if not yes:
        typer.confirm(
            f"Erase contact {contact_id} and every text of their conversations? "
            "This cannot be undone",
            abort=True,
        )
    with _session(settings) as session:
        erasure, _ = privacy.erase_contact(session, contact_id=contact_id, actor_id=None, ip="cli")
    reset = asyncio.run(_reset(settings, erasure.conversation_ids))
    counts = ", ".join(f"{k} {v}" for k, v in erasure.counts().items() if k != "contact_id")
    typer.echo(f"Erased contact {erasure.contact_id}: {counts}; bot trackers reset {reset}.")
