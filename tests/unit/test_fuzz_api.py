"""Schemathesis against the hub's own OpenAPI schema (issue 15, item 6): every operation, a
bounded number of generated requests each (boundary ids, odd strings, missing fields), sent
with a lead's token to a real hub (uvicorn, SQLite, fake Rasa) on 127.0.0.1. The one check:
no response is a 5xx. Marked `fuzz`; runs with the unit tests and in `make test`."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from schemathesis import APIOperation, Case
from schemathesis.core.transport import Response

from api.app import create_app
from api.hub import KnowledgeHolder
from api.rasa_client import RasaClient
from api.security import WS_MAX_SIZE
from api.settings import Settings
from retrieval.search import KnowledgeBase
from tests.fakes import HashingEncoder
from tests.fakes.paths import ROOT
from tests.fakes.rasa import FakeRasa

EXAMPLES = 25  # per operation: ~35 operations in well under a couple of minutes


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def hub_url(tmp_path_factory: pytest.TempPathFactory, index_dir: Path) -> Iterator[str]:
    var = tmp_path_factory.mktemp("fuzz")
    # Copies: the fuzzer may add phrasings to an article, which edits its file and rebuilds
    # the index (POST /api/kb/gaps/phrasings).
    shutil.copytree(ROOT / "kb_content", var / "kb")
    shutil.copytree(index_dir, var / "index")
    index_dir = var / "index"
    app_settings = Settings(
        var_dir=var,
        kb_dir=var / "kb",
        index_dir=index_dir,
        embedding_model=HashingEncoder.name,
        api_docs=True,
        channels_file=var / "channels.yml",
        port=_free_port(),
    )
    knowledge = KnowledgeHolder(KnowledgeBase.open(index_dir, HashingEncoder()))
    rasa = RasaClient("http://rasa.test", timeout=5, transport=httpx.MockTransport(FakeRasa()))
    app = create_app(app_settings, knowledge=knowledge, rasa=rasa)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=app_settings.port,
            log_level="warning",
            ws_max_size=WS_MAX_SIZE,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the hub did not start"
        time.sleep(0.05)
    url = f"http://127.0.0.1:{app_settings.port}"
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="module")
def lead_headers(hub_url: str) -> dict[str, str]:
    """The demo lead's token, and a conversation with a ticket for the ids to hit."""
    from websockets.sync.client import connect

    login = httpx.post(
        f"{hub_url}/api/auth/login", json={"email": "agent@example.com", "password": "frontline"}
    )
    login.raise_for_status()
    ws_url = hub_url.replace("http://", "ws://") + "/ws/widget"
    with connect(ws_url) as ws:
        ws.send('{"type": "hello", "token": null}')
        ws.recv(timeout=10)
        ws.send('{"type": "message", "text": "I want to talk to a person", "client_id": "1"}')
        ws.recv(timeout=10)
    return {"Authorization": f"Bearer {login.json()['token']}"}


def _fuzz(operation: APIOperation, hub_url: str, headers: dict[str, str]) -> list[str]:
    """EXAMPLES generated requests to one operation; the 5xx answers, described."""
    failures: list[str] = []

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,  # the same requests every run: a failure is reproducible
        database=None,
    )
    def run(case: Case) -> None:
        response: Response = case.call(base_url=hub_url, headers=headers, timeout=30)
        if response.status_code >= 500:
            failures.append(
                f"{case.method} {case.formatted_path} -> {response.status_code}:"
                f" {response.text[:200]}\n  {case.as_curl_command()}"
            )

    run()
    return failures


@pytest.mark.fuzz
def test_no_operation_answers_5xx(hub_url: str, lead_headers: dict[str, str]) -> None:
    """Schemathesis' pytest plugin does not run under this pytest, so the operations are
    driven through its Python API: each one's hypothesis strategy, EXAMPLES cases each."""
    schema = schemathesis.openapi.from_url(f"{hub_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25  # the whole agents' API is in the schema
    failures = [f for op in operations for f in _fuzz(op, hub_url, lead_headers)]
    assert failures == [], "\n".join(failures)
    assert httpx.get(f"{hub_url}/health").status_code == 200
