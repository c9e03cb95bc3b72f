from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from handoff.db import alembic_config, upgrade
from handoff.models import Base


def test_migrations_build_the_models_schema_from_empty(blank_database_url: str) -> None:
    url = blank_database_url
    upgrade(url)
    engine = create_engine(url)
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_upgrade_from_the_previous_revision_keeps_data(blank_database_url: str) -> None:
    url = blank_database_url
    upgrade(url, "0001")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO contacts (name, created_at) VALUES ('Ann', '2026-01-01')")
        )
        connection.execute(
            text(
                "INSERT INTO conversations (contact_id, channel, public_token, state,"
                " created_at, updated_at)"
                " VALUES (1, 'widget', 't', 'queued', '2026-01-01', '2026-01-01')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO tickets (number, conversation_id, contact_id, subject, reason,"
                " status, priority, channel, transcript, bot_attempts, created_at, updated_at)"
                " VALUES (1001, 1, 1, 's', 'r', 'new', 'normal', 'widget', '[]', '[]',"
                " '2026-01-01', '2026-01-01')"
            )
        )
    upgrade(url)
    columns = {c["name"] for c in inspect(engine).get_columns("tickets")}
    assert {"csat_score", "csat_comment", "csat_at", "csat_flagged"} <= columns
    with engine.connect() as connection:
        assert connection.execute(text("SELECT number, csat_flagged FROM tickets")).one() == (
            1001,
            0,
        )
    command.downgrade(alembic_config(url), "0001")
    assert "csat_score" not in {c["name"] for c in inspect(engine).get_columns("tickets")}
