"""rasa-webchat on the wire (a real python-socketio client), the fake Rasa with our bot's
"Did this help?" buttons, and the agents' API: shared by the socket.io channel's tests."""

from __future__ import annotations

import json
import queue
from typing import Any

import httpx
import socketio

from tests.fakes.rasa import FakeRasa, Item

FEEDBACK = [{"title": "Yes", "payload": "/helpful"}, {"title": "No", "payload": "/not_helpful"}]
ANSWER = "Choose Forgot password\\.\n\nSource: [Reset your password](https://help.example/reset)"


class WebchatRasa(FakeRasa):
    """The fake Rasa, plus "Did this help?" buttons after an answer, as our bot sends."""

    def reply(self, sender: str, message: str) -> list[Item]:
        if message == "/helpful":
            return [{"recipient_id": "x", "text": "Glad it helped!"}]
        items = super().reply(sender, message)
        if any("custom" in item and "answer" in json.dumps(item) for item in items):
            items.append({"recipient_id": "x", "text": "Did this help?", "buttons": FEEDBACK})
        return items


class Webchat:
    """What rasa-webchat does on the wire: session_request on connect, user_uttered."""

    def __init__(self, url: str, transport: str = "websocket") -> None:
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.sio = socketio.Client(reconnection=False)
        for name in ("session_confirm", "bot_uttered"):
            self.sio.on(name, lambda data, name=name: self.events.put((name, data)))
        self.sio.connect(url, transports=[transport], socketio_path="/socket.io")
        self.session_id: str | None = None

    def session(self, session_id: str | None) -> str:
        self.sio.emit("session_request", {"session_id": session_id})
        self.session_id = self.next("session_confirm")
        return self.session_id

    def say(self, text: str, custom_data: Any = None) -> None:
        data = {"language": "en"} if custom_data is None else custom_data
        self.sio.emit(
            "user_uttered", {"message": text, "customData": data, "session_id": self.session_id}
        )

    def next(self, event: str = "bot_uttered", timeout: float = 10) -> Any:
        name, data = self.events.get(timeout=timeout)
        assert name == event, (name, data)
        return data

    def close(self) -> None:
        self.sio.disconnect()


def api(hub_url: str) -> httpx.Client:
    client = httpx.Client(base_url=hub_url, timeout=10)
    token = client.post(
        "/api/auth/login", json={"email": "agent@example.com", "password": "frontline"}
    ).json()["token"]
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def webchat_conversations(agents: httpx.Client) -> list[dict[str, Any]]:
    listed = agents.get("/api/conversations").json()["conversations"]
    return [c for c in listed if c["channel"] == "webchat"]
