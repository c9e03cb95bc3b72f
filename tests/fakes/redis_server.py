"""A throwaway Redis server (Debian's `redis-server`) for the tests that need one.

Not a fake: the real server, on loopback, a free port, no persistence, its files in a
temporary folder. `FRONTLINE_TEST_REDIS_URL` points the tests at a server of your own instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.fakes.stack import free_port

REDIS_BIN = os.environ.get("FRONTLINE_REDIS_SERVER", "redis-server")


def redis_available() -> str | None:
    """Why the tests cannot start Redis, or None when they can."""
    if os.environ.get("FRONTLINE_TEST_REDIS_URL"):
        return None
    if shutil.which(REDIS_BIN) is None:
        return (
            f"{REDIS_BIN} not found: apt-get install redis-server (make test installs it as root)"
        )
    return None


@contextmanager
def redis_server(folder: Path, port: int | None = None) -> Iterator[str]:
    """Start redis-server in `folder` (on `port`, else a free one); yields its URL; stops it
    (and waits) on exit."""
    configured = os.environ.get("FRONTLINE_TEST_REDIS_URL")
    if configured:
        yield configured
        return
    folder.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    process = subprocess.Popen(
        [
            REDIS_BIN,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(folder),
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--logfile",
            str(folder / "redis.log"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start (see {folder / 'redis.log'})")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
