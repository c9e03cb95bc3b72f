"""Engines, sessions and migrations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
WRITE_OPTION = "frontline_write"


def make_engine(database_url: str) -> Engine:
    kwargs: dict[str, Any] = {}
    if database_url.startswith("sqlite"):
        # The hub touches the database from the event loop's worker threads.
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        path = database_url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    else:
        # A server database: enough pooled connections for the hub's worker threads, checked
        # before use (a restarted server or a dropped idle connection is not an error) and
        # replaced after half an hour (idle timeouts in proxies and poolers).
        kwargs.update(pool_size=10, max_overflow=20, pool_timeout=30)
        kwargs.update(pool_pre_ping=True, pool_recycle=1800)
    engine = create_engine(database_url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling breaks SAVEPOINT and transactional DDL; let
        # SQLAlchemy emit BEGIN itself (the fix SQLAlchemy's SQLite docs give).
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_begin(conn: Connection) -> None:
    # A write transaction takes the write lock up front: a deferred one that read first
    # could not upgrade its lock after another writer committed ("database is locked").
    immediate = conn.get_execution_options().get(WRITE_OPTION, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets the console read while a customer's message is being written.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commits on success, rolls back on any error."""
    with factory() as session, session.begin():
        session.connection(execution_options={WRITE_OPTION: True})
        yield session


def alembic_config(database_url: str) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the schema to `revision` (Alembic), creating the database if needed."""
    from alembic import command

    make_engine(database_url).dispose()  # creates the SQLite file's folder
    if make_url(database_url).get_backend_name() == "postgresql":
        _create_postgres_database(database_url)
    command.upgrade(alembic_config(database_url), revision)


def _create_postgres_database(database_url: str) -> None:
    """CREATE DATABASE when the URL names one that does not exist yet (needs CREATEDB).

    Whatever else goes wrong (server down, wrong password, no right to create) is left for
    Alembic's own connection to report."""
    url = make_url(database_url)
    probe = create_engine(url, poolclass=NullPool)
    try:
        with probe.connect():
            return
    except OperationalError:
        pass  # perhaps the database does not exist; the maintenance database knows
    finally:
        probe.dispose()
    admin = create_engine(
        url.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    try:
        with admin.connect() as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}
            ).first()
            if exists is None:
                name = connection.dialect.identifier_preparer.quote(url.database or "")
                connection.exec_driver_sql(f"CREATE DATABASE {name}")
    except DBAPIError:
        pass
    finally:
        admin.dispose()
