"""The agents' REST API declares its response shapes (api/schemas), and declaring them
changed nothing on the wire.

FastAPI filters each answer through its response model, so a route without a model shows
an empty or free-form schema in /docs, and a model missing a key would drop that key from
the answer. The models forbid extra keys, which turns such a drift into a failed response
in the tests instead of a key the console silently stops getting.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.hub import KnowledgeHolder
from api.rasa_client import RasaClient
from api.settings import Settings
from tests.fakes.hub_client import login, make_client
from tests.fakes.rasa import FakeRasa, rasa_down

METHODS = ("get", "post", "put", "patch")


@pytest.fixture
def client(
    tmp_path: Path, index_dir: Path, database_url: str, fake_rasa: FakeRasa
) -> Iterator[TestClient]:
    with make_client(tmp_path, index_dir, fake_rasa, database_url=database_url, api_docs=True) as c:
        yield c


def documented_operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, str, Any]]:
    """(method, path, status, JSON schema) of every 2xx answer with a body (204 has none) of
    the agents' API and /health."""
    for path, item in spec["paths"].items():
        if not (path.startswith("/api/") or path == "/health"):
            continue
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            for status, response in operation["responses"].items():
                if status.startswith("2") and status != "204":
                    schema = response.get("content", {}).get("application/json", {}).get("schema")
                    yield method, path, status, schema


def test_every_api_answer_declares_a_closed_model(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    components = spec["components"]["schemas"]
    operations = list(documented_operations(spec))
    assert len(operations) >= 30  # the check really walked the API
    unmodelled = []
    for method, path, status, schema in operations:
        ref = (schema or {}).get("$ref", "")
        model = components.get(ref.rpartition("/")[2]) if ref else None
        # dict[str, Any] gives an inline {"type": "object", "additionalProperties": true};
        # a route without any model gives {} or no schema at all.
        if model is None or not model.get("properties") or model.get("additionalProperties"):
            unmodelled.append(f"{method.upper()} {path} {status}: {schema}")
    assert unmodelled == []


def test_models_list_the_keys_the_console_reads(client: TestClient) -> None:
    """A few keys console.js and dashboard.js read, beyond the ones the other tests use."""
    components = client.get("/openapi.json").json()["components"]["schemas"]

    def keys(name: str) -> set[str]:
        return set(components[name]["properties"])

    assert {"last_message", "ticket", "agent", "contact", "updated_at"} <= keys(
        "ConversationSummary"
    )
    assert {"bot_attempts", "transcript", "history", "csat", "sla", "team"} <= keys("TicketOut")
    assert {"identities", "satisfaction", "notes", "tickets"} <= keys("ContactRecord")
    assert {"load", "capacity", "presence"} <= keys("AgentLoad")
    assert {"first_response", "sla_attainment", "fcr_rate", "handoff_by_reason"} <= keys("Metrics")
    assert {"paused", "seconds_left"} <= keys("ResolutionClock")


def test_health_when_down_keeps_exactly_its_keys(tmp_path: Path, database_url: str) -> None:
    settings = Settings(var_dir=tmp_path, database_url=database_url)
    rasa = RasaClient("http://rasa.test", timeout=5, transport=httpx.MockTransport(rasa_down))
    app = create_app(settings, knowledge=KnowledgeHolder(error="no index"), rasa=rasa)
    with TestClient(app) as client:
        health = client.get("/health").json()
    assert health["status"] == "degraded"
    assert health["index"] == {"ok": False, "detail": "no index"}
    assert set(health["rasa"]) == {"ok", "url", "detail"}


def test_canned_responses_error_only_when_the_file_is_unreadable(
    tmp_path: Path, index_dir: Path, database_url: str, fake_rasa: FakeRasa
) -> None:
    kb_dir = tmp_path / "kb"
    kb_dir.mkdir()
    with make_client(
        tmp_path, index_dir, fake_rasa, database_url=database_url, kb_dir=kb_dir
    ) as client:
        headers = login(client)
        assert client.get("/api/canned-responses", headers=headers).json() == {
            "canned_responses": []
        }
        (kb_dir / "canned_responses.yml").write_text("- id: hi\n  text: Hello {customer}\n")
        answer = client.get("/api/canned-responses", headers=headers).json()
        assert answer == {
            "canned_responses": [
                {"id": "hi", "title": "hi", "shortcut": "hi", "text": "Hello {customer}"}
            ]
        }
        (kb_dir / "canned_responses.yml").write_text("just: [unclosed\n")
        answer = client.get("/api/canned-responses", headers=headers).json()
        assert answer == {
            "canned_responses": [],
            "error": "canned_responses.yml could not be read",
        }
