"""Databases for the tests: SQLite always, PostgreSQL too when FRONTLINE_TEST_DATABASE_URL is set.

`FRONTLINE_TEST_DATABASE_URL=$(.ci/postgres.sh) make test` runs every database test twice,
with the ids `[sqlite]` and `[postgresql]`; `.ci/run` does that. The URL's user must be
allowed to create databases (the throwaway server of .ci/postgres.sh connects as `postgres`).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from handoff.db import make_engine, upgrade

PG_URL = os.environ.get("FRONTLINE_TEST_DATABASE_URL", "")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


def _pg_admin() -> Engine:
    """An autocommit engine on the test server, for CREATE/DROP DATABASE and schema resets."""
    return create_engine(PG_URL, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session", params=BACKENDS)
def migrated_engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """One real database for the whole run, built by the Alembic migrations (session scope).

    Parametrized over the backends: `sqlite` (a file in the run's temporary folder) always,
    and `postgresql` when FRONTLINE_TEST_DATABASE_URL is set. On PostgreSQL the URL's
    database gets its `public` schema dropped and recreated first, so each run starts from
    nothing whatever the previous one left. Tests reach it through `session`, whose writes
    are rolled back, so it holds no rows between tests.
    """
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'unit.db'}"
    else:
        url = PG_URL
        admin = _pg_admin()
        with admin.connect() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        admin.dispose()
    upgrade(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(migrated_engine: Engine) -> Iterator[Session]:
    """A session whose every write is rolled back when the test ends."""
    connection = migrated_engine.connect()
    outer = connection.begin()
    db = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield db
    finally:
        db.close()
        outer.rollback()
        connection.close()


class _Databases:
    """Creates throwaway databases of one backend; PostgreSQL copies a migrated template."""

    def __init__(self, backend: str, folder: Path) -> None:
        self.backend = backend
        self.folder = folder
        self.run = uuid.uuid4().hex[:8]
        self.template: str | None = None  # PostgreSQL: a migrated database to copy
        self.admin = _pg_admin() if backend == "postgresql" else None

    def _pg_url(self, name: str) -> str:
        return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)

    def _create(self, name: str, template: str | None = None) -> None:
        assert self.admin is not None
        source = f' TEMPLATE "{template}"' if template else ""
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"{source}'))

    def blank(self) -> tuple[str, str]:
        """A new database without any table: (url, name)."""
        name = f"frontline_t_{uuid.uuid4().hex[:12]}"
        if self.backend == "sqlite":
            return f"sqlite:///{self.folder / name}.db", name
        self._create(name)
        return self._pg_url(name), name

    def migrated(self) -> tuple[str, str]:
        """A new database at the head revision, without rows: (url, name)."""
        if self.backend == "sqlite":
            url, name = self.blank()
            upgrade(url)
            return url, name
        if self.template is None:
            # Migrate once per run, then copy: CREATE DATABASE ... TEMPLATE is much quicker
            # than running the migrations for every test.
            url, self.template = self.blank()
            upgrade(url)
        name = f"frontline_t_{uuid.uuid4().hex[:12]}"
        self._create(name, self.template)
        return self._pg_url(name), name

    def drop(self, name: str) -> None:
        if self.admin is None:
            return  # SQLite files live in pytest's temporary folders
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        if self.template is not None:
            self.drop(self.template)
        if self.admin is not None:
            self.admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def _databases(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[_Databases]:
    databases = _Databases(request.param, tmp_path_factory.mktemp("databases"))
    yield databases
    databases.close()


@pytest.fixture
def database_url(_databases: _Databases) -> Iterator[str]:
    """The URL of a fresh database of the test's own: migrated to head and without rows.

    For tests that need real commits: their own engine, several connections or threads
    (concurrency), the hub, the CLI. Parametrized like `migrated_engine` (`sqlite`, plus
    `postgresql` when FRONTLINE_TEST_DATABASE_URL is set). SQLite: a file in a temporary
    folder. PostgreSQL: a database `frontline_t_<hex>` on the test server, copied from a
    template migrated once per run, and dropped (WITH FORCE) when the test ends.
    """
    url, name = _databases.migrated()
    try:
        yield url
    finally:
        _databases.drop(name)


@pytest.fixture
def blank_database_url(_databases: _Databases) -> Iterator[str]:
    """Like `database_url`, but with no table at all: for tests of the migrations themselves."""
    url, name = _databases.blank()
    try:
        yield url
    finally:
        _databases.drop(name)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis server for the run (tests/fakes/redis_server.py); skipped with the reason
    when Debian's redis-server is not installed (`make test` installs it when run as root)."""
    from tests.fakes.redis_server import redis_available, redis_server

    missing = redis_available()
    if missing:
        pytest.skip(missing)
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url
