"""A local fake of the LINE Messaging API, and helpers that deliver webhooks like LINE does.

The LINE adapter is tested through real HTTP against this server: reply (a token works once;
`expire` one to make it "Invalid reply token"), push with `X-Line-Retry-Key` (a key seen
before answers 409 with `x-line-accepted-request-id`, as LINE does), 429 and blocked users
(403), the profile and bot info. Bodies are validated as LINE does (≤ 5 messages, text
≤ 5,000 characters, ≤ 13 quick reply items with labels ≤ 20 characters). Sources:
tests/fixtures/channels/line/README.md.

    with FakeLineApi() as fake:
        config.api_base = fake.base_url
        token = fake.issue_reply_token("U1")
        post_webhook(hub_url, webhook([text_event("Hi", user_id="U1", reply_token=token)]), SECRET)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.fakes._http import BackgroundHttpServer, Failures, Reply, Request

DEFAULT_TOKEN = "frontline-test-channel-access-token"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "channels" / "line"
INVALID_REPLY_TOKEN = "Invalid reply token"


def load_fixture(name: str) -> dict[str, Any]:
    path = FIXTURES / (name if name.endswith(".json") else f"{name}.json")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@dataclass(frozen=True)
class Call:
    """One request as received; `to` is the user a reply or push went to."""

    endpoint: str  # "reply", "push", "profile", "info"
    body: dict[str, Any]
    headers: Mapping[str, str]
    status: int
    to: str | None

    @property
    def texts(self) -> list[str]:
        return [str(m.get("text", "")) for m in self.body.get("messages", [])]


class FakeLineApi(BackgroundHttpServer):
    def __init__(self, token: str = DEFAULT_TOKEN, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(self._handle, host, port)
        self.token = token
        self._lock = threading.Condition()
        self._calls: list[Call] = []
        self._failures: Failures[Reply] = Failures()
        self._tokens: dict[str, str] = {}  # reply token -> user
        self._spent: set[str] = set()
        self._retry_keys: dict[str, str] = {}  # accepted retry key -> request id
        self._blocked: set[str] = set()
        self.profiles: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(461230966842064897)

    # scripting

    def issue_reply_token(self, user_id: str) -> str:
        token = uuid.uuid4().hex
        with self._lock:
            self._tokens[token] = user_id
        return token

    def expire(self, token: str) -> None:
        with self._lock:
            self._spent.add(token)

    def block(self, user_id: str) -> None:
        with self._lock:
            self._blocked.add(user_id)

    def add_profile(self, user_id: str, name: str, language: str = "en") -> None:
        with self._lock:
            self.profiles[user_id] = {"displayName": name, "userId": user_id, "language": language}

    def fail_next(
        self,
        endpoint: str,
        status: int,
        message: str,
        *,
        retry_after: int | None = None,
        count: int = 1,
    ) -> None:
        headers = {"Retry-After": str(retry_after)} if retry_after else {}
        with self._lock:
            self._failures.add(Reply.json(status, {"message": message}, headers), count, endpoint)

    # inspection

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def delivered(self, user_id: str) -> list[Call]:
        """Replies and pushes that reached `user_id` (answered 200), in order."""
        return [
            c
            for c in self.calls
            if c.endpoint in ("reply", "push") and c.status == 200 and c.to == user_id
        ]

    def texts_to(self, user_id: str) -> list[str]:
        return [t for c in self.delivered(user_id) for t in c.texts]

    # serving

    def _handle(self, request: Request) -> Reply:
        body: dict[str, Any] = json.loads(request.body) if request.body else {}
        endpoint = {
            "/v2/bot/message/reply": "reply",
            "/v2/bot/message/push": "push",
            "/v2/bot/info": "info",
        }.get(request.path, "profile" if request.path.startswith("/v2/bot/profile/") else "")
        with self._lock:
            to = self._tokens.get(str(body.get("replyToken"))) or body.get("to")
            if endpoint == "profile":
                to = request.path.rsplit("/", 1)[-1]
            reply = self._answer(endpoint, body, request, to)
            self._calls.append(Call(endpoint, body, request.headers, reply.status, to))
            self._lock.notify_all()
        return reply

    def _answer(
        self, endpoint: str, body: dict[str, Any], request: Request, to: str | None
    ) -> Reply:
        if not endpoint:
            return Reply.json(404, {"message": "Not found"})
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return Reply.json(
                401,
                {
                    "message": "Authentication failed. Confirm that the access token in the"
                    " authorization header is valid."
                },
            )
        failure = self._failures.take(endpoint)
        if failure is not None:
            return failure
        if endpoint == "info":
            return Reply.json(
                200, {"userId": "U0bot", "basicId": "@frontline", "displayName": "Frontline"}
            )
        if endpoint == "profile":
            profile = self.profiles.get(str(to))
            return (
                Reply.json(200, profile) if profile else Reply.json(404, {"message": "Not found"})
            )
        problem = _invalid(body)
        if problem:
            return Reply.json(
                400,
                {
                    "message": "The request body has 1 error(s)",
                    "details": [{"message": problem, "property": "messages"}],
                },
            )
        if endpoint == "reply":
            token = str(body.get("replyToken"))
            if token not in self._tokens or token in self._spent:
                return Reply.json(400, {"message": INVALID_REPLY_TOKEN})
            self._spent.add(token)
        else:
            if request.headers.get("x-line-retry-key"):
                key = request.headers["x-line-retry-key"]
                try:
                    uuid.UUID(key)
                except ValueError:
                    return Reply.json(
                        400, {"message": "The value for the 'X-Line-Retry-Key' header is invalid"}
                    )
                if key in self._retry_keys:
                    return Reply.json(
                        409,
                        {"message": "The retry key is already accepted", "sentMessages": []},
                        {"x-line-accepted-request-id": self._retry_keys[key]},
                    )
                self._retry_keys[key] = str(uuid.uuid4())
            if str(to) in self._blocked:
                return Reply.json(403, {"message": "Not authorized to use the API."})
        sent = [{"id": str(next(self._ids)), "quoteToken": "q"} for _ in body["messages"]]
        return Reply.json(200, {"sentMessages": sent})


def _invalid(body: dict[str, Any]) -> str | None:
    messages = body.get("messages")
    if not isinstance(messages, list) or not 1 <= len(messages) <= 5:
        return "Size must be between 1 and 5"
    for message in messages:
        if message.get("type") == "text" and not 1 <= len(str(message.get("text"))) <= 5000:
            return "Length must be between 1 and 5000"
        items = (message.get("quickReply") or {}).get("items")
        if items is not None:
            if not 1 <= len(items) <= 13:
                return "Size must be between 1 and 13"
            if any(len(str(i["action"].get("label", ""))) > 20 for i in items):
                return "Length must be between 0 and 20"
    return None


# ---- delivering webhooks like LINE ----------------------------------------------------


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def post_webhook(
    hub_url: str, body: Mapping[str, Any] | bytes, secret: str | None
) -> httpx.Response:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Line-Signature"] = sign(secret, raw)
    return httpx.post(f"{hub_url.rstrip('/')}/channels/line", content=raw, headers=headers)


def webhook(events: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {"destination": "U0frontlinebot", "events": list(events)}


_ids = itertools.count(1)


def text_event(
    text: str,
    *,
    user_id: str,
    reply_token: str | None,
    event_id: str | None = None,
    redelivery: bool = False,
    timestamp_ms: int | None = None,
) -> dict[str, Any]:
    """A text `message` event, shaped like webhook_text.json."""
    n = next(_ids)
    event: dict[str, Any] = {
        "type": "message",
        "mode": "active",
        "timestamp": timestamp_ms if timestamp_ms is not None else int(time.time() * 1000),
        "source": {"type": "user", "userId": user_id},
        "webhookEventId": event_id or f"01FRONTLINE{int(time.time())}{n:06d}",
        "deliveryContext": {"isRedelivery": redelivery},
        "message": {"id": str(500000000 + n), "type": "text", "text": text, "quoteToken": "q"},
    }
    if reply_token:
        event["replyToken"] = reply_token
    return event


def postback_event(data: str, *, user_id: str, reply_token: str | None) -> dict[str, Any]:
    """A `postback` event (a quick reply pressed), shaped like the SDK fixture's."""
    event = text_event("", user_id=user_id, reply_token=reply_token)
    event.pop("message")
    event["type"] = "postback"
    event["postback"] = {"data": data}
    return event
