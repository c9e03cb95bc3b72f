"""Migration 0003 upgrades a database that has data at 0002, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, inspect, text

from handoff.db import alembic_config, upgrade


def test_upgrade_from_0002_keeps_tickets_and_seeds_routing(database_url: str) -> None:
    command.downgrade(alembic_config(database_url), "0002")
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO agents (email, name, password_hash, is_active, created_at)"
                " VALUES ('a@x.io', 'Ann', 'h', true, '2026-01-01')"
            )
        )
        connection.execute(
            text("INSERT INTO contacts (name, created_at) VALUES ('Bo', '2026-01-01')")
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
                " status, priority, channel, transcript, bot_attempts, created_at, updated_at,"
                " csat_flagged)"
                " VALUES (1001, 1, 1, 's', 'r', 'new', 'urgent', 'widget', '[]', '[]',"
                " '2026-01-01', '2026-01-01', false)"
            )
        )
    upgrade(database_url)
    with engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT t.number, t.priority_rank, teams.name, t.reopen_count, t.tags"
                " FROM tickets t JOIN teams ON teams.id = t.team_id"
            )
        ).one()
        assert tuple(row[:4]) == (1001, 0, "Support", 0)
        members = connection.execute(text("SELECT count(*) FROM team_members")).scalar()
        policies = connection.execute(text("SELECT count(*) FROM sla_policies")).scalar()
        presence = connection.execute(text("SELECT presence, capacity FROM agents")).one()
    assert (members, policies, tuple(presence)) == (1, 4, ("offline", 3))
    command.downgrade(alembic_config(database_url), "0002")
    assert "teams" not in inspect(engine).get_table_names()
    engine.dispose()
