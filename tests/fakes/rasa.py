"""A fake of Rasa's REST channel, for the hub's `RasaClient` (an `httpx.MockTransport` handler).

`FakeRasa` answers like our bot on a few scripted words and records what it was sent, on the
instance: `received` (the messages' texts) and `metadata` (their metadata), in order. Its
replies come from `reply`, which a test's subclass overrides to script other answers.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import jwt

Item = dict[str, Any]

# The key of the fake's HTTP API; `tests.fakes.hub_client.make_client` gives it to the hub.
API_KEY = "fake-rasa-api-key-at-least-32-bytes-long"

ANSWER_SOURCE = {
    "article_id": "reset-password",
    "title": "Reset your password",
    "url": "https://help.example/reset",
    "score": 0.9,
}


class FakeRasa:
    """Answers like Rasa's REST channel: text and `custom` payloads as separate items.

    "person" in a message hands off (customer request), "silence" gets no reply at all, and
    anything else is answered from the `reset-password` article (`ANSWER_SOURCE`).
    """

    def __init__(self) -> None:
        self.received: list[str] = []
        self.metadata: list[dict[str, Any]] = []
        self.erased: list[str] = []  # senders whose tracker was replaced by an empty one

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/conversations/"):
            return self.tracker_api(request)
        if request.method == "GET":
            return httpx.Response(200, text="Hello from Rasa: 3.6.21")
        body = json.loads(request.content)
        self.received.append(body["message"])
        self.metadata.append(body["metadata"])
        return httpx.Response(200, json=self.reply(body["sender"], body["message"]))

    def tracker_api(self, request: httpx.Request) -> httpx.Response:
        """Rasa's HTTP API as `rasa run --enable-api --jwt-secret` serves it: a JWT signed
        with the key and the role "admin", else 401/403."""
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        try:
            claims = jwt.decode(token, API_KEY, algorithms=["HS256"])
        except jwt.PyJWTError:
            return httpx.Response(401, json={"reason": "NotAuthenticated"})
        if claims.get("user", {}).get("role") != "admin":
            return httpx.Response(403, json={"reason": "NotAuthorized"})
        sender = request.url.path.split("/")[2]
        if request.method == "PUT" and request.url.path.endswith("/tracker/events"):
            if json.loads(request.content) != []:
                return httpx.Response(400, json={"reason": "BadRequest"})
            self.erased.append(sender)
            return httpx.Response(200, json={"sender_id": sender, "events": []})
        return httpx.Response(404, json={"reason": "NotFound"})

    def clear(self) -> None:
        """Forget what was received so far."""
        self.received.clear()
        self.metadata.clear()
        self.erased.clear()

    def reply(self, sender: str, message: str) -> list[Item]:
        """The items Rasa answers `message` with."""
        text = message.lower()
        if "person" in text:
            return [
                {"recipient_id": sender, "text": "Of course."},
                {
                    "recipient_id": sender,
                    "custom": {"frontline": {"kind": "handoff", "reason": "customer_request"}},
                },
            ]
        if "silence" in text:
            return []
        return [
            {"recipient_id": sender, "text": "Choose Forgot password."},
            {
                "recipient_id": sender,
                "custom": {
                    "frontline": {
                        "kind": "answer",
                        "decision": "answer",
                        "sources": [ANSWER_SOURCE],
                    }
                },
            },
        ]


def rasa_down(request: httpx.Request) -> httpx.Response:
    """Rasa not running: every request is refused."""
    raise httpx.ConnectError("connection refused", request=request)
