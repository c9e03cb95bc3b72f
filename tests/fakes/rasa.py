"""A fake of Rasa's REST channel, for the hub's `RasaClient` (an `httpx.MockTransport` handler).

`FakeRasa` answers like our bot on a few scripted words and records what it was sent, on the
instance: `received` (the messages' texts) and `metadata` (their metadata), in order. Its
replies come from `reply`, which a test's subclass overrides to script other answers.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

Item = dict[str, Any]

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

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, text="Hello from Rasa: 3.6.21")
        body = json.loads(request.content)
        self.received.append(body["message"])
        self.metadata.append(body["metadata"])
        return httpx.Response(200, json=self.reply(body["sender"], body["message"]))

    def clear(self) -> None:
        """Forget what was received so far."""
        self.received.clear()
        self.metadata.clear()

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
