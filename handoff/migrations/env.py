"""Alembic environment: runs against the URL the caller put in the config."""

from typing import Any

from alembic import context
from sqlalchemy import Connection

from handoff.db import make_engine
from handoff.models import Base

config = context.config
target_metadata = Base.metadata


def _raw(connection: Connection) -> Any:
    """The DB-API connection, to run a statement outside SQLAlchemy's transaction."""
    raw = connection.connection.driver_connection
    assert raw is not None
    return raw


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is not None:
        context.configure(
            connection=connectable, target_metadata=target_metadata, render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # SQLite alters a table by copying it and dropping the old one, which foreign
            # keys would refuse while other tables point at it. The pragma only takes effect
            # outside a transaction; the check afterwards proves nothing was left dangling.
            _raw(connection).execute("PRAGMA foreign_keys=OFF")
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                dangling = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if dangling:
                    raise RuntimeError(f"migration left dangling foreign keys: {dangling[:5]}")
        if sqlite:
            _raw(connection).execute("PRAGMA foreign_keys=ON")
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
