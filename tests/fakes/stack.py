"""Real servers for the integration tests and the benchmarks: the hub under uvicorn, free ports,
and `Stack`, what the integration tests' `stack` fixture hands out."""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import uvicorn

from api.app import create_app
from api.security import WS_MAX_SIZE, WS_PER_MESSAGE_DEFLATE
from api.settings import Settings


def free_port() -> int:
    """A local TCP port nothing listens on (at the time of asking)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Stack:
    """The running Rasa server and hub of an integration session."""

    settings: Settings
    hub_url: str
    rasa_url: str
    rasa_log: Path

    def link(self, article: Any) -> str:
        """Where answers from `article` link: its own `url`, else its help-center page."""
        if article.url:
            return str(article.url)
        page = f"{self.hub_url}{self.settings.help_path}/articles/{quote(article.id, safe='')}"
        return f"{page}?lang={quote(article.lang)}"

    def article(self, article_id: str, lang: str = "en") -> Any:
        """The knowledge base's article in `lang` (else its first language version)."""
        from retrieval.sources import load_articles

        versions = [a for a in load_articles(self.settings.kb_dir) if a.id == article_id]
        return next((a for a in versions if a.lang == lang), versions[0])

    @property
    def widget_ws(self) -> str:
        return self.hub_url.replace("http://", "ws://") + "/ws/widget"


class HubServer:
    """The hub under uvicorn in a background thread: a real HTTP/WebSocket server."""

    def __init__(self, settings: Settings) -> None:
        config = uvicorn.Config(
            create_app(settings),
            host=settings.host,
            port=settings.port,
            log_level="warning",
            ws_max_size=WS_MAX_SIZE,
            ws_per_message_deflate=WS_PER_MESSAGE_DEFLATE,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self, timeout: float = 120) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the hub did not start")
            time.sleep(0.1)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def agent_socket(hub_url: str, token: str) -> Any:
    """The agents' live socket on a running hub (websockets' sync client), signed in by its
    first frame and answered `ready`; the caller closes it."""
    from websockets.sync.client import connect

    # Unbounded: a test that never reads its frames would otherwise stall the reader, and
    # with it the close handshake, for websockets' whole close_timeout (10 s a test).
    console = connect(hub_url.replace("http://", "ws://") + "/ws/agents", max_queue=None)
    console.send(json.dumps({"type": "auth", "token": token}))
    ready = json.loads(console.recv(timeout=30))
    assert ready["type"] == "ready", ready
    return console
