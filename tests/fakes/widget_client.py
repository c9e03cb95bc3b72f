"""A small synchronous client for the widget WebSocket, as the browser widget uses it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
from websockets.sync.client import ClientConnection, connect

Frame = dict[str, Any]


class WidgetClient:
    def __init__(
        self,
        url: str,
        token: str | None = None,
        language: str | None = None,
        explicit: bool = False,
    ) -> None:
        # Unbounded, so unread frames never stall the close handshake (see agent_socket).
        self.ws: ClientConnection = connect(url, max_queue=None)
        self.frames: list[Frame] = []
        hello: Frame = {"type": "hello", "token": token}
        if language is not None:
            hello["language"] = language  # the widget's `lang`, or the page's or browser's
            hello["language_explicit"] = explicit
        self.ws.send(json.dumps(hello))
        self.welcome = self.wait_for(lambda f: f["type"] == "welcome")
        self.token: str = self.welcome["token"]
        # None until the first message: the hub stores nothing for a visitor who never writes.
        self.conversation_id: int | None = self.welcome["conversation"]["id"]

    def wait_for(self, match: Callable[[Frame], bool], timeout: float = 60) -> Frame:
        for frame in self.frames:
            if match(frame):
                self.frames.remove(frame)
                return frame
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                frame = json.loads(self.ws.recv(timeout=left))
            except TimeoutError:
                break
            if match(frame):
                return frame
            self.frames.append(frame)
        raise AssertionError(f"no matching frame within {timeout} s; got {self.frames}")

    def say(self, text: str) -> Frame:
        """Send a message and return its ack (the stored message)."""
        client_id = f"c{time.monotonic_ns()}"
        self.ws.send(json.dumps({"type": "message", "text": text, "client_id": client_id}))
        message: Frame = self.wait_for(
            lambda f: f["type"] == "ack" and f["client_id"] == client_id
        )["message"]
        self.conversation_id = message["conversation_id"]
        return message

    def next_message(self, role: str, timeout: float = 60) -> Frame:
        frame = self.wait_for(
            lambda f: f["type"] == "message" and f["message"]["role"] == role, timeout
        )
        return frame["message"]

    def wait_state(self, state: str, timeout: float = 60) -> Frame:
        return self.wait_for(lambda f: f["type"] == "state" and f["state"] == state, timeout)

    def close(self) -> None:
        self.ws.close()


def choose(widget: WidgetClient, button: dict[str, str]) -> Frame:
    """Click one of the bot's buttons, as the widget does: its title shown, its payload sent."""
    client_id = f"b{time.monotonic_ns()}"
    widget.ws.send(
        json.dumps(
            {
                "type": "message",
                "text": button["title"],
                "payload": button["payload"],
                "client_id": client_id,
            }
        )
    )
    return widget.wait_for(
        lambda f: f["type"] in ("ack", "error") and f.get("client_id") == client_id
    )


def agent_headers(stack: Any) -> dict[str, str]:
    s = stack.settings
    response = httpx.post(
        f"{stack.hub_url}/api/auth/login",
        json={"email": s.demo_agent_email, "password": s.demo_agent_password},
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['token']}"}


def conversation(stack: Any, widget: WidgetClient) -> dict[str, Any]:
    response = httpx.get(
        f"{stack.hub_url}/api/conversations/{widget.conversation_id}", headers=agent_headers(stack)
    )
    return response.json()
