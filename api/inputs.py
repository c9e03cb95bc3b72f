"""Input normalisation at the hub's edges: socket frames and the agents' REST API.

One place decides what a frame or a JSON body may hold, so no handler meets a RecursionError,
a binary frame, NUL or an unpaired surrogate (each used to drop a socket or end in a 500 at
the INSERT; security-probe.md rows 23-26):

- socket frames (`receive_json`): text frames only, JSON at most MAX_DEPTH deep; every string
  in them scrubbed (`handoff.text.scrub`): a customer's message is never lost for a broken
  character. A refused frame gets an error frame and the socket stays open.
- `/api` requests (`TextGuard`): a JSON body nested deeper than MAX_DEPTH, or holding NUL or an
  unpaired surrogate in any string, and a query string with either, get 422 with the reason:
  the console and scripts can fix what they send.

Message texts are also scrubbed in `handoff.messages.clean_text`, whatever their way in
(channel webhooks included).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from api.security import _json, _read_all, _replay
from handoff.text import is_clean, scrub

MAX_DEPTH = 32


class Refused(ValueError):
    """Input that is not accepted; the message says why (sent back to the client)."""


def _depth_exceeded(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether `value` nests containers deeper than `limit` (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _scrubbed(value: Any) -> Any:
    """`value` with every string (keys too) scrubbed; depth already checked."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, list):
        return [_scrubbed(v) for v in value]
    if isinstance(value, dict):
        return {scrub(k): _scrubbed(v) for k, v in value.items()}
    return value


def _unclean(value: Any) -> str | None:
    """The first string in `value` (keys too) that holds NUL or an unpaired surrogate."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not is_clean(item):
                return item
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
    return None


def parse(raw: str | bytes) -> Any:
    """JSON from a client, checked for depth, with its strings scrubbed (raises Refused)."""
    try:
        value = json.loads(raw)
    except RecursionError as error:
        raise Refused(f"JSON nested deeper than {MAX_DEPTH} levels") from error
    except ValueError as error:
        raise Refused(f"not JSON: {error}") from error
    if _depth_exceeded(value):
        raise Refused(f"JSON nested deeper than {MAX_DEPTH} levels")
    return _scrubbed(value)


async def receive_json(websocket: WebSocket) -> Any:
    """The next frame's JSON (scrubbed, depth-checked); Refused for a binary frame or bad JSON
    (the caller sends its error frame and reads on); WebSocketDisconnect when the client left.

    `receive()` rather than `receive_text()`: the latter fails with KeyError on a binary
    frame, which dropped the socket."""
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
    text = message.get("text")
    if text is None:
        raise Refused("binary frames are not accepted; send JSON as text frames")
    return parse(text)


def body_refusal(body: bytes) -> str | None:
    """Why a JSON request body is refused, or None (bodies that are not JSON are left to the
    route's own validation)."""
    try:
        value = json.loads(body)
    except RecursionError:
        return f"JSON nested deeper than {MAX_DEPTH} levels"
    except ValueError:
        return None
    if _depth_exceeded(value):
        return f"JSON nested deeper than {MAX_DEPTH} levels"
    if _unclean(value) is not None:
        return "text must not contain NUL characters or unpaired UTF-16 surrogates"
    return None


def query_refusal(query_string: bytes) -> str | None:
    """Why a query string is refused: NUL in a name or value (percent-decoding UTF-8 cannot
    produce a surrogate, so NUL is the one a database would refuse)."""
    if b"%00" in query_string or b"\x00" in query_string:
        return "query parameters must not contain NUL characters"
    return None


class TextGuard:
    """422 for `/api` requests whose JSON body or query string a database cannot store (NUL,
    unpaired surrogates) or whose JSON nests past MAX_DEPTH. Runs inside BodyLimit, so the
    body it buffers is already bounded."""

    def __init__(self, app: ASGIApp, *, prefix: str = "/api") -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        reason = query_refusal(scope.get("query_string", b""))
        if reason is not None:
            await _json(send, 422, reason)
            return
        if scope["method"] in ("GET", "HEAD", "DELETE", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        body = await _read_all(receive, limit=1 << 62)  # bounded by BodyLimit outside
        reason = body_refusal(body) if body else None
        if reason is not None:
            await _json(send, 422, reason)
            return
        await self.app(scope, _replay(body, receive), send)
