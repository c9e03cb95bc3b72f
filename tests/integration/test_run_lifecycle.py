"""`frontline run` as an operator runs it: killed with SIGKILL it leaves no Rasa behind and
starts again; a foreign process on the Rasa port makes it refuse, naming that process
(issue 15, item 5). Waits are polls with generous deadlines, never assertions on speed."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from api import process_guard
from tests.fakes.paths import ROOT
from tests.fakes.stack import free_port
from tests.fakes.widget_client import WidgetClient

pytestmark = pytest.mark.integration
# The project's own Rasa runtime (made by `make setup`), unless the environment names another.
RASA_BIN = os.environ.get("FRONTLINE_RASA_BIN", str(ROOT / ".venv-rasa" / "bin" / "rasa"))


def gone(pid: int) -> bool:
    """Exited (an unreaped zombie counts as exited)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


def poll(condition: Callable[[], bool], deadline: float) -> bool:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.5)
    return False


class Run:
    """One `frontline run` subprocess; its output goes to a file the failures quote."""

    def __init__(self, var: Path, port: int, rasa_port: int) -> None:
        self.var, self.port, self.rasa_port = var, port, rasa_port
        self.output = var / f"run-{time.monotonic_ns()}.out"
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "FRONTLINE_VAR_DIR": str(var),
            "FRONTLINE_INDEX_DIR": str(ROOT / "var" / "index"),  # the shared, built index
            "FRONTLINE_MODELS_DIR": str(ROOT / "var" / "models"),  # the shared, trained model
            "FRONTLINE_PORT": str(port),
            "FRONTLINE_RASA_PORT": str(rasa_port),
            "FRONTLINE_RASA_BIN": RASA_BIN,
            "FRONTLINE_CHANNELS_FILE": str(var / "no-channels.yml"),
        }
        with self.output.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "api.cli", "run"],
                cwd=var,  # no stray .env
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def healthy(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(
                f"frontline run exited ({self.process.returncode}):\n{self.text()}"
            )
        try:
            health = httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=5)
        except httpx.HTTPError:
            return False
        return health.status_code == 200 and health.json().get("status") == "ok"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=90)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def var(tmp_path: Path) -> Path:
    path = tmp_path / "var"
    path.mkdir()
    return path


@pytest.fixture
def runs() -> Iterator[list[Run]]:
    started: list[Run] = []
    yield started
    for run in started:
        run.stop()
    for run in started:  # whatever a failed test left listening
        for pid in process_guard.listener_pids(run.rasa_port):
            os.kill(pid, signal.SIGKILL)


def test_sigkill_leaves_no_rasa_and_the_next_start_works(var: Path, runs: list[Run]) -> None:
    port, rasa_port = free_port(), free_port()
    first = Run(var, port, rasa_port)
    runs.append(first)
    assert poll(first.healthy, 600), first.text()
    [rasa] = process_guard.listener_pids(rasa_port)
    assert rasa in process_guard.descendants(first.process.pid)

    first.process.send_signal(signal.SIGKILL)
    first.process.wait()
    assert poll(lambda: gone(rasa), 120), f"Rasa {rasa} outlived frontline run"
    assert poll(lambda: not process_guard.answers("127.0.0.1", rasa_port), 60)

    second = Run(var, port, rasa_port)
    runs.append(second)
    assert poll(second.healthy, 600), second.text()
    assert "Rasa is ready" in second.text()
    # A bot turn through the custom actions: Rasa still holds the action token.
    widget = WidgetClient(f"ws://127.0.0.1:{port}/ws/widget")
    try:
        widget.say("How do I reset my password?")
        answer = widget.next_message("bot")
        assert answer["sources"] and answer["sources"][0]["article_id"] == "reset-password"
    finally:
        widget.close()
    # The banner names the login on loopback; the files are private.
    assert "agent@example.com / frontline" in second.text()
    assert (var.stat().st_mode & 0o777) == 0o700
    for name in ("frontline.db", "secret_key", "action_token", "rasa_api_secret", "logs/rasa.log"):
        assert ((var / name).stat().st_mode & 0o777) == 0o600, name

    [rasa] = process_guard.listener_pids(rasa_port)
    second.stop()
    assert second.process.returncode is not None
    assert poll(lambda: gone(rasa), 60)


def test_a_foreign_listener_on_the_rasa_port_is_refused_by_name(var: Path, runs: list[Run]) -> None:
    with socket.socket() as foreign:
        foreign.bind(("127.0.0.1", 0))
        foreign.listen()
        run = Run(var, free_port(), int(foreign.getsockname()[1]))
        runs.append(run)
        assert run.process.wait(timeout=300) != 0
    text = run.text()
    assert "something already answers on the Rasa port" in text
    assert f"PID {os.getpid()} (" in text, text
    assert "Starting the Rasa server" not in text
