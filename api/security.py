"""HTTP hardening as ASGI middleware: bounded request bodies (compressed ones inflated with a
cap) and the security headers every response carries.

Middleware rather than per-route checks because the danger is in *reading* a body: by the
time a route runs, FastAPI has already buffered it. Here the declared `Content-Length` is
refused before a byte is read, and a body that lies about its length (or is chunked) is
counted as it streams and cut off at the limit.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

KIB = 1024
MIB = 1024 * KIB
DEFAULT_BODY_LIMIT = MIB
# Login needs a few hundred bytes and costs a password hash: its bound is the smallest.
LOGIN_BODY_LIMIT = 64 * KIB
# Socket frames (uvicorn's `ws_max_size`): larger ones close the socket with 1009.
WS_MAX_SIZE = 64 * KIB
# Sockets without permessage-deflate: our frames are small JSON, and each connection's zlib
# windows cost the hub more memory than an idle socket may (docs/performance.md).
WS_PER_MESSAGE_DEFLATE = False

# The console's pages: only our own scripts, styles and sockets, and never inside a frame.
CONSOLE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
CONSOLE_PAGES = frozenset(
    f"/console{page}{slash}"
    for page in ("", "/dashboard", "/admin", "/audit", "/gaps", "/kb")
    for slash in ("", "/")
)
COMMON_HEADERS = ((b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"))
CONSOLE_HEADERS = (
    (b"content-security-policy", CONSOLE_CSP.encode()),
    (b"x-frame-options", b"DENY"),
)


class BodyTooLarge(HTTPException):
    """Raised while a body streams in past its bound (FastAPI turns it into the 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body too large (at most {limit} bytes)")


class BadEncoding(Exception):
    """A compressed body that does not inflate."""


def inflate(raw: bytes, encoding: str, limit: int) -> bytes:
    """`raw` decompressed, never to more than `limit` bytes (a 200 KB deflate bomb would
    otherwise become 200 MB). Raises BodyTooLarge past the limit, BadEncoding when corrupt."""
    if encoding == "deflate":
        # HTTP's "deflate" is zlib-wrapped, but some clients send raw deflate.
        zlib_header = len(raw) >= 2 and raw[0] & 0x0F == 8 and (raw[0] << 8 | raw[1]) % 31 == 0
        wbits = zlib.MAX_WBITS if zlib_header else -zlib.MAX_WBITS
    else:
        wbits = 16 + zlib.MAX_WBITS  # gzip
    inflater = zlib.decompressobj(wbits)
    try:
        body = inflater.decompress(raw, limit + 1)
    except zlib.error as error:
        raise BadEncoding(str(error)) from error
    if len(body) > limit or inflater.unconsumed_tail:
        raise BodyTooLarge(limit)
    if not inflater.eof or inflater.unused_data:
        raise BadEncoding("truncated or trailing data")
    return body


async def _json(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """413 for a body past its route's bound; compressed bodies inflated with the same bound
    (corrupt: 400; an encoding we do not inflate: 415)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        default: int = DEFAULT_BODY_LIMIT,
        per_path: Mapping[str, int] | None = None,
    ) -> None:
        self.app = app
        self.default = default
        self.per_path = dict(per_path or {"/api/auth/login": LOGIN_BODY_LIMIT})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.per_path.get(scope["path"].rstrip("/") or "/", self.default)
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                await _json(send, 400, "Content-Length is not a number")
                return
            if int(declared) > limit:
                await _json(send, 413, f"request body too large (at most {limit} bytes)")
                return
        encoding = headers.get("content-encoding", "").strip().lower()
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            if encoding in ("", "identity"):
                await self.app(scope, _counting(receive, limit), tracking_send)
                return
            if encoding not in ("gzip", "x-gzip", "deflate"):
                await _json(send, 415, f"Content-Encoding {encoding!r} is not accepted")
                return
            try:
                body = inflate(await _read_all(receive, limit), encoding, limit)
            except BadEncoding as error:
                await _json(send, 400, f"body is not valid {encoding}: {error}")
                return
            inner = dict(scope)
            inner["headers"] = [
                (k, v)
                for k, v in scope["headers"]
                if k.lower() not in (b"content-encoding", b"content-length")
            ] + [(b"content-length", str(len(body)).encode())]
            await self.app(inner, _replay(body, receive), tracking_send)
        except BodyTooLarge as error:
            if started:
                raise
            await _json(send, 413, str(error.detail))


def _counting(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(limit)
        return message

    return counted


async def _read_all(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The inflated body as one message, then whatever the server says next (a disconnect)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


class SecurityHeaders:
    """`nosniff` and `no-referrer` on every response; on the console's pages a strict CSP
    and no framing. The demo page and /static/widget.js stay frameable and embeddable:
    customers' sites load the widget."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = COMMON_HEADERS + (CONSOLE_HEADERS if scope["path"] in CONSOLE_PAGES else ())

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message = dict(message)
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in extra if k not in present
                ]
            await send(message)

        await self.app(scope, receive, with_headers)
