"""A child dies with its parent (parent-death signal, watchdog), and whoever holds a port is
named (issue 15, item 5). Real processes, polled with generous deadlines, never timed."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from api import process_guard, rasa_process
from tests.fakes.paths import ROOT
from tests.fakes.stack import free_port

SLEEPER = [sys.executable, "-c", "import time; time.sleep(600)"]


def gone(pid: int) -> bool:
    """Exited (a zombie nobody reaped yet counts as exited)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


def wait_until(condition: object, deadline: float = 60.0) -> bool:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.2)
    return False


def start_parent(guard: str) -> tuple[subprocess.Popen[str], int]:
    """A parent process that starts a sleeping child with `guard` and prints its pid."""
    code = (
        "import subprocess, sys, time\n"
        "from api import process_guard\n"
        f"child = subprocess.Popen({SLEEPER!r}, start_new_session=True, "
        "preexec_fn=process_guard.die_with_parent() if sys.argv[1] == 'pdeathsig' else None)\n"
        "if sys.argv[1] == 'watchdog':\n"
        "    process_guard.start_watchdog(child.pid, grace=5)\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", code, guard],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert parent.stdout is not None
    return parent, int(parent.stdout.readline())


@pytest.mark.parametrize("guard", ["pdeathsig", "watchdog"])
def test_the_child_dies_with_a_killed_parent(guard: str) -> None:
    if guard == "pdeathsig" and process_guard.die_with_parent() is None:
        pytest.skip("no prctl on this platform")
    parent, child = start_parent(guard)
    try:
        assert not gone(child)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        assert wait_until(lambda: gone(child)), f"child {child} outlived its parent ({guard})"
    finally:
        if not gone(child):
            os.kill(child, signal.SIGKILL)


def test_the_watchdog_leaves_when_the_child_does() -> None:
    child = subprocess.Popen(SLEEPER, start_new_session=True)
    watchdog = process_guard.start_watchdog(child.pid)
    child.kill()
    child.wait()
    assert watchdog.wait(timeout=60) == 0


@pytest.fixture
def listener() -> Iterator[int]:
    """A port this test process listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield int(s.getsockname()[1])


def test_the_process_on_a_port_is_named(listener: int) -> None:
    assert process_guard.answers("127.0.0.1", listener)
    assert process_guard.listener_pids(listener) == [os.getpid()]
    assert f"PID {os.getpid()} (" in process_guard.who_listens(listener)
    assert "pytest" in process_guard.who_listens(listener)


def test_a_free_port_has_nobody() -> None:
    port = free_port()
    assert not process_guard.answers("127.0.0.1", port)
    assert process_guard.listener_pids(port) == []


def test_a_taken_rasa_port_is_refused_by_name(listener: int) -> None:
    with pytest.raises(rasa_process.RasaError, match=rf"PID {os.getpid()} .*--rasa-port"):
        rasa_process.refuse_if_taken("127.0.0.1", listener)
    rasa_process.refuse_if_taken("127.0.0.1", free_port())  # a free port passes


def test_the_serving_rasa_must_be_ours(listener: int) -> None:
    port = free_port()
    code = (
        "import socket, sys, time\n"
        "s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen()\n"
        "print('ready', flush=True); time.sleep(600)\n"
    )
    ours = subprocess.Popen([sys.executable, "-c", code, str(port)], stdout=subprocess.PIPE)
    try:
        assert ours.stdout is not None and ours.stdout.readline().strip() == b"ready"
        rasa_process.verify_serving(ours, port, Path("frontline-abc.tar.gz"))
        with pytest.raises(rasa_process.RasaError, match=r"not the one started on frontline-abc"):
            rasa_process.verify_serving(ours, listener, Path("frontline-abc.tar.gz"))
    finally:
        ours.kill()
        ours.wait()


def test_descendants_include_children() -> None:
    child = subprocess.Popen(SLEEPER)
    try:
        assert {os.getpid(), child.pid} <= process_guard.descendants(os.getpid())
    finally:
        child.kill()
        child.wait()
