"""What the hub refuses on a public bind or with a remote Rasa, and private data files
(security-probe fixes 4, 9 and 10)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app as cli
from api.exposure import (
    Refused,
    is_loopback,
    make_private,
    public_bind_problems,
    rasa_problems,
)
from api.settings import Settings
from handoff import agents as agent_accounts
from handoff.db import make_engine, make_sessionmaker, transaction
from tests.fakes.hub_client import make_client
from tests.fakes.rasa import FakeRasa
from tests.fakes.stack import free_port

LONG_PASSWORD = "a demo password, long enough"


@pytest.fixture(autouse=True)
def keep_umask() -> Iterator[None]:
    old = os.umask(0o022)
    os.umask(old)
    yield
    os.umask(old)


def problems(settings: Settings) -> list[str]:
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            return public_bind_problems(settings, session)
    finally:
        engine.dispose()


def add_agent(database_url: str, email: str, password: str) -> None:
    engine = make_engine(database_url)
    with transaction(make_sessionmaker(engine)) as session:
        agent_accounts.create_agent(session, email=email, name="Op", password=password, role="lead")
    engine.dispose()


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.1.1", "::1", "[::1]", "localhost"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.4", "example.com", ""])
def test_other_hosts(host: str) -> None:
    assert not is_loopback(host)


def test_loopback_allows_the_demo_defaults(tmp_path: Path, database_url: str) -> None:
    assert problems(Settings(var_dir=tmp_path, database_url=database_url)) == []


def test_a_public_bind_with_the_defaults_names_both_fixes(
    tmp_path: Path, database_url: str
) -> None:
    found = problems(Settings(host="0.0.0.0", var_dir=tmp_path, database_url=database_url))
    assert len(found) == 2
    assert "FRONTLINE_DEMO_AGENT=false" in found[0] and "frontline agents create" in found[0]
    assert "FRONTLINE_SECRET_KEY" in found[1]


def test_a_demo_password_left_on_an_agent_is_refused(tmp_path: Path, database_url: str) -> None:
    add_agent(database_url, "agent@example.com", LONG_PASSWORD)
    settings = Settings(
        host="0.0.0.0",
        var_dir=tmp_path,
        database_url=database_url,
        demo_agent=False,
        demo_agent_password=LONG_PASSWORD,
        secret_key="configured",  # type: ignore[arg-type]
    )
    [found] = problems(settings)
    assert "still has the demo password" in found


def test_a_public_bind_with_real_accounts_and_a_key_starts(
    tmp_path: Path, database_url: str
) -> None:
    add_agent(database_url, "ops@example.com", LONG_PASSWORD)
    settings = Settings(
        host="0.0.0.0", var_dir=tmp_path, database_url=database_url, demo_agent=False,
        secret_key="configured",  # type: ignore[arg-type]
    )  # fmt: skip
    assert problems(settings) == []
    # A key generated earlier (on loopback) is kept, not refused.
    (tmp_path / "secret_key").write_text("kept\n")
    assert problems(settings.model_copy(update={"secret_key": Settings().secret_key})) == []


def test_the_app_refuses_to_start_on_a_public_bind(
    tmp_path: Path, index_dir: Path, database_url: str, fake_rasa: FakeRasa
) -> None:
    client = make_client(tmp_path, index_dir, fake_rasa, database_url=database_url, host="0.0.0.0")
    with pytest.raises(Refused, match="FRONTLINE_DEMO_AGENT=false"), client:
        pass


def test_frontline_run_refuses_a_public_bind(tmp_path: Path, database_url: str) -> None:
    env = {
        "FRONTLINE_HOST": "0.0.0.0",
        "FRONTLINE_VAR_DIR": str(tmp_path),
        "FRONTLINE_DATABASE_URL": database_url,
        "FRONTLINE_RASA_PORT": str(free_port()),
        "FRONTLINE_CHANNELS_FILE": str(tmp_path / "none.yml"),
    }
    result = CliRunner().invoke(cli, ["run"], env=env)
    assert result.exit_code != 0
    assert "refuses to start on 0.0.0.0" in result.output
    assert "FRONTLINE_SECRET_KEY" in result.output
    assert "Log in to the console" not in result.output


def test_rasa_stays_on_loopback_unless_allowed(tmp_path: Path) -> None:
    assert rasa_problems(Settings(var_dir=tmp_path)) == []
    [found] = rasa_problems(Settings(var_dir=tmp_path, rasa_host="0.0.0.0"))
    assert "FRONTLINE_RASA_ALLOW_REMOTE=true" in found
    assert rasa_problems(Settings(var_dir=tmp_path, rasa_url="http://rasa.internal:5005"))
    allowed = Settings(var_dir=tmp_path, rasa_host="10.0.0.5", rasa_allow_remote=True)
    assert rasa_problems(allowed) == []


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_wider_modes_are_tightened_with_a_warning(tmp_path: Path) -> None:
    var = tmp_path / "var"
    (var / "logs").mkdir(parents=True)
    files = [
        var / n for n in ("frontline.db", "frontline.db-wal", "frontline.db-shm", "secret_key")
    ]
    files.append(var / "logs" / "rasa.log")
    for path in files:
        path.write_text("x")
        path.chmod(0o644)
    var.chmod(0o755)
    (var / "logs").chmod(0o755)
    warnings = make_private(var)
    assert mode(var) == 0o700 and mode(var / "logs") == 0o700
    assert all(mode(path) == 0o600 for path in files)
    assert len(warnings) == len(files) + 2
    assert any("frontline.db was mode 644; tightened to 600" in w for w in warnings)
    assert make_private(var) == []  # already private: nothing to say


def test_new_files_are_private(tmp_path: Path) -> None:
    make_private(tmp_path / "fresh")
    assert mode(tmp_path / "fresh") == 0o700
    (tmp_path / "fresh" / "frontline.db").write_text("x")
    assert mode(tmp_path / "fresh" / "frontline.db") == 0o600


def test_the_app_factory_keeps_var_private(
    tmp_path: Path, index_dir: Path, fake_rasa: FakeRasa
) -> None:
    var = tmp_path / "var"
    var.mkdir(mode=0o755)
    var.chmod(0o755)
    with make_client(var, index_dir, fake_rasa):  # SQLite in var/
        pass
    assert mode(var) == 0o700
    assert mode(var / "frontline.db") == 0o600
