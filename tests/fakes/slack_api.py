"""A local fake of Slack's Web API, and helpers that deliver events like Slack does.

The Slack adapter is tested through real HTTP against this server: `chat.postMessage`
(success; HTTP 429 `ratelimited` with Retry-After; `ok: false` errors such as
`channel_not_found`, `is_archived`), `auth.test` and `users.info`. Answers have the Web API's
shape (`{"ok": true, ...}` / `{"ok": false, "error": code}`), see
tests/fixtures/channels/slack/README.md for the sources. Events are signed with
`slack_sdk.signature.SignatureVerifier`, Slack's own code.

    with FakeSlackApi() as fake:
        config.api_base = fake.api_base        # calls go to {api_base}/chat.postMessage
        fake.fail_next("chat.postMessage", "ratelimited", status=429, retry_after=1)
        post_event(hub_url, message_event("Hi", user="U1", channel="D1"), SIGNING_SECRET)
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote

import httpx
from slack_sdk.signature import SignatureVerifier

from tests.fakes._http import BackgroundHttpServer, Failures, Reply, Request

DEFAULT_TOKEN = "xoxb-1000000001-2000000002-FrontlineTestToken"
BOT_USER_ID = "U0FRONTBOT"
BOT_ID = "B0FRONTBOT"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "channels" / "slack"


def load_fixture(name: str) -> dict[str, Any]:
    path = FIXTURES / (name if name.endswith(".json") else f"{name}.json")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@dataclass(frozen=True)
class Call:
    """One Web API call as received: `status`/`error` are what the fake answered."""

    method: str
    params: dict[str, Any]
    status: int
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.error is None


class FakeSlackApi(BackgroundHttpServer):
    def __init__(self, token: str = DEFAULT_TOKEN, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(self._handle, host, port)
        self.token = token
        self._lock = threading.Condition()
        self._calls: list[Call] = []
        self._failures: Failures[tuple[int, dict[str, Any], dict[str, str]]] = Failures()
        self._channel_errors: dict[str, str] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self._ts = itertools.count(1)

    @property
    def api_base(self) -> str:
        return f"{self.base_url}/api"

    # scripting

    def fail_next(
        self,
        method: str,
        error: str,
        *,
        status: int = 200,
        retry_after: int | None = None,
        count: int = 1,
    ) -> None:
        """The next `count` calls of `method` answer this error instead of working."""
        headers = {"Retry-After": str(retry_after)} if retry_after else {}
        with self._lock:
            self._failures.add((status, {"ok": False, "error": error}, headers), count, method)

    def break_channel(self, channel: str, error: str) -> None:
        """Every post to `channel` answers `ok: false` with `error` (is_archived, ...)."""
        with self._lock:
            self._channel_errors[channel] = error

    def add_user(self, user_id: str, real_name: str) -> None:
        with self._lock:
            self.users[user_id] = {
                "id": user_id,
                "name": real_name.lower().replace(" ", "."),
                "locale": "en-US",
                "profile": {"real_name": real_name, "display_name": real_name},
            }

    # inspection

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def posts(self, channel: str | None = None) -> list[Call]:
        """chat.postMessage calls answered ok (to `channel`), in arrival order."""
        return [
            c
            for c in self.calls
            if c.method == "chat.postMessage"
            and c.ok
            and (channel is None or c.params.get("channel") == channel)
        ]

    def attempts(self, channel: str) -> list[Call]:
        return [
            c
            for c in self.calls
            if c.method == "chat.postMessage" and c.params.get("channel") == channel
        ]

    # serving

    def _handle(self, request: Request) -> Reply:
        method = request.path.removeprefix("/api/")
        if request.headers.get("content-type", "").startswith("application/json"):
            params: dict[str, Any] = json.loads(request.body or b"{}")
        else:
            params = dict(parse_qsl(request.body.decode(), keep_blank_values=True))
        with self._lock:
            status, body, headers = self._answer(method, params, request)
            error = None if body.get("ok") else str(body.get("error"))
            self._calls.append(Call(method, params, status, error))
            self._lock.notify_all()
        return Reply.json(status, body, headers)

    def _answer(
        self, method: str, params: dict[str, Any], request: Request
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        failure = self._failures.take(method)
        if failure is not None:
            return failure
        if method == "auth.test":
            return 200, self._auth_test(), {}
        if method == "users.info":
            user = self.users.get(str(params.get("user")))
            if user is None:
                return 200, {"ok": False, "error": "user_not_found"}, {}
            return 200, {"ok": True, "user": user}, {}
        if method == "chat.postMessage":
            return self._post(params)
        return 404, {"ok": False, "error": "unknown_method"}, {}

    def _auth_test(self) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://frontline-test.slack.com/",
            "team": "Frontline Test",
            "user": "frontline",
            "team_id": "T0FRONT",
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
        }

    def _post(self, params: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        channel = str(params.get("channel") or "")
        if not channel:
            return 200, {"ok": False, "error": "channel_not_found"}, {}
        if channel in self._channel_errors:
            return 200, {"ok": False, "error": self._channel_errors[channel]}, {}
        if not params.get("text") and not params.get("blocks"):
            return 200, {"ok": False, "error": "no_text"}, {}
        if len(str(params.get("text") or "")) > 40000:
            return 200, {"ok": False, "error": "msg_too_long"}, {}
        ts = f"{int(time.time())}.{next(self._ts):06d}"
        message = {
            "type": "message",
            "text": params.get("text"),
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "ts": ts,
            **({"thread_ts": params["thread_ts"]} if params.get("thread_ts") else {}),
        }
        return 200, {"ok": True, "channel": channel, "ts": ts, "message": message}, {}


# ---- delivering events like Slack -----------------------------------------------------


def signed_headers(
    secret: str, body: bytes, *, timestamp: int | None = None, content_type: str | None = None
) -> dict[str, str]:
    """X-Slack-Request-Timestamp and X-Slack-Signature as slack_sdk computes them."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    return {
        "Content-Type": content_type or "application/json",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": str(signature),
    }


def form_body(payload: Mapping[str, Any]) -> bytes:
    """An interactive payload as Slack sends it: `payload=<url-encoded JSON>`."""
    return f"payload={quote(json.dumps(payload))}".encode()


def post_event(
    hub_url: str,
    body: Mapping[str, Any] | bytes,
    secret: str | None,
    *,
    retry_num: int | None = None,
    timestamp: int | None = None,
    path: str = "/channels/slack",
) -> httpx.Response:
    """POSTs an Events API body (a dict) or an interactive payload (bytes from
    `form_body`) to the hub, signed with `secret` (None: unsigned)."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    form = isinstance(body, bytes)
    headers: dict[str, str] = {
        "Content-Type": "application/x-www-form-urlencoded" if form else "application/json"
    }
    if secret is not None:
        headers = signed_headers(
            secret, raw, timestamp=timestamp, content_type=headers["Content-Type"]
        )
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    return httpx.post(f"{hub_url.rstrip('/')}{path}", content=raw, headers=headers, timeout=10)


_event_ids = itertools.count(1)
_message_ts = itertools.count(1)


def new_ts() -> str:
    return f"{int(time.time())}.{next(_message_ts):06d}"


def message_event(
    text: str,
    *,
    user: str,
    channel: str,
    ts: str | None = None,
    thread_ts: str | None = None,
    name: str | None = None,
    event_id: str | None = None,
    channel_type: str = "im",
) -> dict[str, Any]:
    """An `event_callback` with a person's `message`, shaped like event_message_user.json."""
    ts = ts or new_ts()
    event: dict[str, Any] = {
        "client_msg_id": f"00000000-0000-4000-8000-{next(_event_ids):012d}",
        "type": "message",
        "text": text,
        "user": user,
        "ts": ts,
        "team": "T0FRONT",
        "channel": channel,
        "event_ts": ts,
        "channel_type": channel_type,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    if name:
        event["user_profile"] = {"real_name": name, "display_name": name, "name": name.lower()}
    return {
        "token": "verification-token",
        "team_id": "T0FRONT",
        "api_app_id": "A0FRONT",
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{int(time.time())}{next(_event_ids):06d}",
        "event_time": int(time.time()),
        "authorizations": [
            {"team_id": "T0FRONT", "user_id": BOT_USER_ID, "is_bot": True},
        ],
    }


def button_payload(post: Call, index: int, *, user: str, name: str = "Customer") -> dict[str, Any]:
    """A `block_actions` payload pressing button `index` of a message we posted (as the
    fake recorded it), shaped like block_actions.json."""
    blocks = post.params.get("blocks")
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    actions = next(b for b in blocks or [] if b.get("type") == "actions")
    button = actions["elements"][index]
    channel = str(post.params["channel"])
    return {
        "type": "block_actions",
        "user": {"id": user, "username": name.lower(), "name": name, "team_id": "T0FRONT"},
        "api_app_id": "A0FRONT",
        "token": "verification_token",
        "container": {
            "type": "message",
            "message_ts": "1.0",
            "channel_id": channel,
            "is_ephemeral": False,
            "thread_ts": post.params.get("thread_ts"),
        },
        "trigger_id": f"{int(time.time())}.{next(_event_ids)}.trigger",
        "team": {"id": "T0FRONT", "domain": "frontline-test"},
        "channel": {"id": channel, "name": "support"},
        "message": {"type": "message", "ts": "1.0", "thread_ts": post.params.get("thread_ts")},
        "response_url": "https://hooks.slack.com/actions/T0FRONT/1/x",
        "actions": [
            {
                "action_id": button["action_id"],
                "block_id": actions.get("block_id", "b"),
                "text": button["text"],
                "value": button["value"],
                "type": "button",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
