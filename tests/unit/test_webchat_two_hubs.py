"""rasa-webchat (socket.io) across two hubs on one database and one real Redis, each served
by uvicorn: python-socketio's AsyncRedisManager carries an emit to a client on the other hub,
and a client that reconnects to the other hub gets what it missed and keeps its session."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from api.app import create_app
from api.hub import KnowledgeHolder
from api.rasa_client import RasaClient
from api.security import WS_MAX_SIZE
from api.settings import Settings
from retrieval.search import KnowledgeBase
from tests.fakes import HashingEncoder
from tests.fakes.stack import free_port
from tests.fakes.webchat_client import Webchat, WebchatRasa, api, webchat_conversations

SHARED = {"secret_key": "the same key on every hub", "action_token": "the same action token"}


@contextmanager
def served(settings: Settings, index_dir: Path, rasa: WebchatRasa) -> Iterator[FastAPI]:
    knowledge = KnowledgeHolder(KnowledgeBase.open(index_dir, HashingEncoder()))
    client = RasaClient("http://rasa.test", timeout=5, transport=httpx.MockTransport(rasa))
    app = create_app(settings, knowledge=knowledge, rasa=client)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=settings.port,
            log_level="warning",
            ws_max_size=WS_MAX_SIZE,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the hub did not start"
        time.sleep(0.05)
    try:
        yield app
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def hubs(
    tmp_path: Path, index_dir: Path, database_url: str, redis_url: str
) -> Iterator[tuple[str, str, FastAPI]]:
    """(hub A's URL, hub B's URL, hub A's app)."""
    import redis

    # The run's Redis outlives each test's database: conversation ids start again at 1.
    with redis.Redis.from_url(redis_url) as client:
        client.flushdb()
    rasa = WebchatRasa()

    def settings(name: str) -> Settings:
        return Settings(
            var_dir=tmp_path / name,
            index_dir=index_dir,
            embedding_model=HashingEncoder.name,
            database_url=database_url,
            redis_url=redis_url,
            port=free_port(),
            sweep_interval=3600,
            **SHARED,
        )

    first, second = settings("a"), settings("b")
    with served(first, index_dir, rasa) as app_a, served(second, index_dir, rasa):
        yield f"http://127.0.0.1:{first.port}", f"http://127.0.0.1:{second.port}", app_a


def on_loop_of(app: FastAPI, work: Any) -> Any:
    """Run a coroutine on the event loop serving `app` (its uvicorn thread)."""
    loop = next(iter(app.state.hub._forever)).get_loop()
    return asyncio.run_coroutine_threadsafe(work, loop).result(timeout=10)


def drain(chat: Webchat, quiet: float = 1.0) -> list[Any]:
    out = []
    while True:
        try:
            out.append(chat.next(timeout=quiet))
        except Exception:
            return out


def test_an_emit_on_hub_a_reaches_a_client_on_hub_b(hubs: tuple[str, str, FastAPI]) -> None:
    _, url_b, app_a = hubs
    chat = Webchat(url_b)
    try:
        chat.session(None)
        sid = chat.sio.get_sid("/")
        assert sid is not None
        sio_a = app_a.state.webchat.sio
        on_loop_of(app_a, sio_a.emit("bot_uttered", {"text": "through Redis"}, to=sid))
        assert chat.next() == {"text": "through Redis"}
    finally:
        chat.close()


def test_a_client_back_on_the_other_hub_gets_what_it_missed(
    hubs: tuple[str, str, FastAPI],
) -> None:
    url_a, url_b, _ = hubs
    chat = Webchat(url_b)
    session_id = chat.session(None)
    chat.say("I want to talk to a person")
    assert "Of course" in chat.next()["text"]
    drain(chat)  # the hand-off's notices
    chat.close()

    # Gone: an agent on hub A takes over and replies while nobody listens.
    agents = api(url_a)
    [conversation] = webchat_conversations(agents)
    cid = conversation["id"]
    assert agents.post(f"/api/conversations/{cid}/takeover").is_success
    assert agents.post(f"/api/conversations/{cid}/messages", json={"text": "Missed me?"}).is_success

    # The page reloads and its socket lands on hub A: the reply is replayed there.
    chat = Webchat(url_a)
    try:
        assert chat.session(session_id) == session_id
        texts = [chat.next()["text"]]
        while "Missed me?" not in texts[-1]:  # replayed, after anything else it missed
            texts.append(chat.next()["text"])
        later = [frame["text"] for frame in drain(chat)]
        assert not any("Missed me?" in text for text in later), (texts, later)  # once
        # And live: a reply committed through hub B reaches the client on hub A.
        other = api(url_b)
        assert other.post(
            f"/api/conversations/{cid}/messages", json={"text": "Still here"}
        ).is_success
        assert "Still here" in chat.next()["text"]
    finally:
        chat.close()


def test_a_session_id_issued_by_one_hub_is_resumed_by_the_other(
    hubs: tuple[str, str, FastAPI],
) -> None:
    url_a, url_b, _ = hubs
    chat = Webchat(url_a)
    issued = chat.session(None)  # nothing said yet: nothing stored
    chat.close()
    chat = Webchat(url_b)
    try:
        assert chat.session(issued) == issued
        chat.say("I forgot my password")
        assert "Forgot password" in chat.next()["text"]
    finally:
        chat.close()
    agents = api(url_a)
    assert [c["id"] for c in webchat_conversations(agents)] != []
