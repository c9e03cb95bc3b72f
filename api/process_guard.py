"""No orphaned Rasa and no stale one: the child dies with its parent, and who holds a port is
found by name.

A hub killed with SIGKILL (the OOM killer, `kill -9`, a crashed container runtime) runs no
`finally:`, so the Rasa it started would live on, keep the port, and serve the old model to
the next hub. Two guards, because either alone has a gap:

- Linux's parent-death signal (`prctl(PR_SET_PDEATHSIG, SIGTERM)`, set in the child between
  fork and exec): the kernel signals Rasa when the thread that started it ends;
- a watchdog process that polls for the parent and terminates Rasa's process group when
  the parent is gone (for other platforms, or a parent thread that is not the main one).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

PR_SET_PDEATHSIG = 1


def die_with_parent() -> Callable[[], None] | None:
    """A `preexec_fn` that makes the child receive SIGTERM when its parent dies (Linux), or
    None where there is no prctl. libc is resolved here, before the fork: the function runs
    in the forked child, where only async-signal-safe work is sound."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


# The watchdog runs as `python -c`: it needs nothing of ours, so no import path to set up.
_WATCHDOG = """
import os, signal, sys, time
parent, child, grace = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
while alive(child) and os.getppid() == parent:
    time.sleep(0.5)
if alive(child):
    try:
        os.killpg(child, signal.SIGTERM)
    except ProcessLookupError:
        sys.exit(0)
    deadline = time.monotonic() + grace
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.2)
    try:
        os.killpg(child, signal.SIGKILL)
    except ProcessLookupError:
        pass
"""


def start_watchdog(child_pid: int, grace: float = 15.0) -> subprocess.Popen[bytes]:
    """A process that ends `child_pid`'s process group (SIGTERM, SIGKILL after `grace` s)
    once this process is gone, and exits by itself when the child does."""
    return subprocess.Popen(
        [sys.executable, "-c", _WATCHDOG, str(os.getpid()), str(child_pid), str(grace)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a Ctrl-C to the hub's group must not end the watchdog first
    )


def answers(host: str, port: int, timeout: float = 1.0) -> bool:
    """Whether something accepts TCP connections at host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _listening_inodes(port: int) -> set[str]:
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            # local_address is HEXIP:HEXPORT; state 0A is LISTEN; field 9 is the inode.
            if (
                len(fields) > 9
                and fields[3] == "0A"
                and int(fields[1].rsplit(":", 1)[1], 16) == port
            ):
                inodes.add(fields[9])
    return inodes


def listener_pids(port: int) -> list[int]:
    """The processes (that we may inspect: our user's) with a socket listening on `port`."""
    targets = {f"socket:[{inode}]" for inode in _listening_inodes(port)}
    if not targets:
        return []
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fds = list((entry / "fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(fd) in targets:
                    found.append(int(entry.name))
                    break
            except OSError:
                continue
    return sorted(found)


def describe(pid: int) -> str:
    """`PID 1234 (its command line)`, shortened."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        command = " ".join(part.decode(errors="replace") for part in raw.split(b"\0") if part)
    except OSError:
        command = "?"
    if len(command) > 160:
        command = command[:157] + "..."
    return f"PID {pid} ({command})"


def who_listens(port: int) -> str:
    """A sentence naming what holds `port`, for refusals."""
    pids = listener_pids(port)
    if not pids:
        return "a process this user cannot inspect (another user's, or in another container)"
    return ", ".join(describe(pid) for pid in pids)


def descendants(pid: int) -> set[int]:
    """`pid` and every process below it (from /proc/*/stat)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = {pid}, [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found
