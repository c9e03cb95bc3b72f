"""The hub in process (FastAPI's TestClient) on a fake Rasa, and helpers to drive it."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from api.app import create_app
from api.hub import KnowledgeHolder
from api.rasa_client import RasaClient
from api.settings import Settings
from retrieval.search import KnowledgeBase
from tests.fakes import HashingEncoder
from tests.fakes.hashing_index import hashing_index
from tests.fakes.paths import ROOT
from tests.fakes.rasa import API_KEY as FAKE_RASA_API_KEY

Frame = dict[str, Any]


def make_client(
    tmp_path: Path,
    index_dir: Path,
    rasa_handler: Callable[[httpx.Request], httpx.Response],
    **overrides: Any,
) -> TestClient:
    """The hub on fake Rasa; pass `database_url=` (the fixture) to choose its database, which
    is otherwise a SQLite file in `tmp_path`. The hub holds the fake Rasa's API key unless
    `rasa_api_key=` says otherwise (None: a Rasa whose HTTP API the hub cannot use)."""
    rasa_api_key = overrides.pop("rasa_api_key", FAKE_RASA_API_KEY)
    settings = Settings(
        var_dir=tmp_path, index_dir=index_dir, embedding_model=HashingEncoder.name, **overrides
    )
    knowledge = KnowledgeHolder(KnowledgeBase.open(index_dir, HashingEncoder()))
    rasa = RasaClient(
        "http://rasa.test",
        timeout=5,
        transport=httpx.MockTransport(rasa_handler),
        api_key=rasa_api_key,
    )
    return TestClient(create_app(settings, knowledge=knowledge, rasa=rasa))


def editable_hub(
    tmp_path: Path, rasa_handler: Callable[[httpx.Request], httpx.Response], **overrides: Any
) -> tuple[TestClient, Path, Path]:
    """The hub (as `make_client`) on a copy of the starter knowledge base, whose files its
    edits change, served from the hashing encoder's index: (client, its kb folder, index)."""
    kb_dir = tmp_path / "kb"
    shutil.copytree(ROOT / "kb_content", kb_dir)
    index_dir = hashing_index(kb_dir, tmp_path / "index")
    return (
        make_client(tmp_path, index_dir, rasa_handler, kb_dir=kb_dir, **overrides),
        kb_dir,
        index_dir,
    )


def login(client: TestClient) -> dict[str, str]:
    """The demo agent's authorization header."""
    response = client.post(
        "/api/auth/login", json={"email": "agent@example.com", "password": "frontline"}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def token_of(headers: dict[str, str]) -> str:
    """The bearer token of an authorization header."""
    return headers["Authorization"].split()[1]


@contextmanager
def agent_socket(client: TestClient, token: str) -> Iterator[WebSocketTestSession]:
    """The agents' live socket, signed in by its first frame (the token is never in the URL);
    yields once the hub has answered `ready`."""
    with client.websocket_connect("/ws/agents") as ws:
        ws.send_json({"type": "auth", "token": token})
        ready = ws.receive_json()
        assert ready["type"] == "ready", ready
        yield ws


def until(ws: WebSocketTestSession, match: Callable[[Frame], bool], limit: int = 30) -> Frame:
    """The first frame that matches, within `limit` frames."""
    for _ in range(limit):
        frame = ws.receive_json()
        if match(frame):
            return frame
    raise AssertionError("expected frame never came")


def is_msg(role: str) -> Callable[[Frame], bool]:
    """Matches a `message` frame of that role."""
    return lambda f: f["type"] == "message" and f["message"]["role"] == role


def hello(ws: WebSocketTestSession, token: str | None = None) -> Frame:
    """The widget's hello; returns the welcome."""
    ws.send_json({"type": "hello", "token": token})
    return until(ws, lambda f: f["type"] == "welcome")


ACCOUNT_PASSWORD = "a long enough passphrase"


def make_agent(client: TestClient, admin: dict[str, str], name: str, role: str) -> dict[str, Any]:
    """A new account (through the admins' API) and its authorization header (`headers`)."""
    email = f"{name.lower()}@example.com"
    created = client.post(
        "/api/agents",
        json={"email": email, "name": name, "password": ACCOUNT_PASSWORD, "role": role},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    token = client.post("/api/auth/login", json={"email": email, "password": ACCOUNT_PASSWORD})
    assert token.status_code == 200, token.text
    return {**created.json(), "headers": {"Authorization": f"Bearer {token.json()['token']}"}}


def builds_settled(
    client: TestClient, headers: dict[str, str], seconds: float = 120
) -> dict[str, Any]:
    """The hub's index builds after edits (GET /api/kb/build) once none is running: an
    edit's build may outlast the edit's wait on a busy machine, and go on in the background."""
    deadline = time.monotonic() + seconds
    while True:
        status: dict[str, Any] = client.get("/api/kb/build", headers=headers).json()
        if status["state"] != "building":
            return status
        assert time.monotonic() < deadline, "the index build never ended"
        time.sleep(0.1)
