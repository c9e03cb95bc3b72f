"""A tiny HTTP server in a background thread, shared by the platform fakes.

The fakes must run inside the test process (no extra service, no new dependency) and
answer real HTTP, so the adapters are exercised through their own HTTP client, timeouts
and status handling. `http.server.ThreadingHTTPServer` on 127.0.0.1 with an OS-chosen
port does that with the standard library only.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Generic, Self, TypeVar
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Request:
    """One request as the fake received it: raw bytes, so signatures can be checked."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, data: Any, headers: Mapping[str, str] | None = None) -> Reply:
        return cls(
            status,
            json.dumps(data).encode(),
            {"Content-Type": "application/json", **(headers or {})},
        )


Handler = Callable[[Request], Reply]
A = TypeVar("A")


class Failures(Generic[A]):
    """Scripted failures: per key (a method, an endpoint, a product; None for one queue) the
    answers to give instead of working, each as often as it was added, in order. Not locked:
    a fake uses it under its own lock."""

    def __init__(self) -> None:
        self._queues: dict[str | None, list[A]] = {}

    def add(self, answer: A, count: int = 1, key: str | None = None) -> None:
        self._queues.setdefault(key, []).extend([answer] * count)

    def take(self, key: str | None = None) -> A | None:
        """The next scripted answer for `key`, used up; None when there is none."""
        queue = self._queues.get(key)
        return queue.pop(0) if queue else None

    def clear(self) -> None:
        self._queues.clear()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handle: Handler) -> None:
        self.handle_request_fn = handle
        super().__init__(address, _RequestHandler)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=parts.path,
            query=parts.query,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        try:
            reply = self.server.handle_request_fn(request)
        except Exception as exc:
            reply = Reply(500, f"fake server error: {exc!r}".encode())
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    do_GET = _serve
    do_POST = _serve
    do_PUT = _serve
    do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass


class BackgroundHttpServer:
    """Serves `handle(request) -> Reply` on 127.0.0.1 from a daemon thread.

    Use as a context manager, or call start() and stop(). The port is chosen by the OS
    unless given, so parallel test runs do not collide.
    """

    def __init__(self, handle: Handler, host: str = "127.0.0.1", port: int = 0) -> None:
        self._handle = handle
        self._address = (host, port)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the fake server is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the fake server is not started")
        return int(self._server.server_address[1])

    def start(self) -> None:
        if self._server is not None:
            return
        self._server = _Server(self._address, self._handle)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{type(self).__name__}:{self.port}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
