"""The agents' API for tickets, queue, presence, transfers, notes, contacts, teams, SLA
policies and reports (hub on a real database, fake Rasa)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.fakes.hub_client import hello, login, make_client, until
from tests.fakes.rasa import FakeRasa


@pytest.fixture
def client(
    tmp_path: Path, index_dir: Path, database_url: str, fake_rasa: FakeRasa
) -> Iterator[TestClient]:
    with make_client(
        tmp_path, index_dir, fake_rasa, database_url=database_url, sweep_interval=3600
    ) as c:
        yield c


def handed_off(client: TestClient) -> tuple[Any, dict[str, Any]]:
    """A widget conversation waiting in the queue; returns the socket and its state frame."""
    ws = client.websocket_connect("/ws/widget").__enter__()
    hello(ws)
    ws.send_json({"type": "message", "text": "I want to talk to a person", "client_id": "p"})
    state = until(ws, lambda f: f["type"] == "state" and f["state"] == "queued")
    return ws, state


def second_agent(client: TestClient, headers: dict[str, str], name: str = "Sam") -> int:
    from handoff import agents
    from handoff.db import transaction

    hub = client.app.state.hub  # type: ignore[attr-defined]
    with transaction(hub.sessions) as session:
        return agents.create_agent(
            session, email=f"{name.lower()}@example.com", name=name, password="long enough secret"
        )[0].id


def test_queue_position_presence_and_claim(client: TestClient) -> None:
    headers = login(client)
    ws, state = handed_off(client)
    # Nobody online: the customer's place is known, the wait is not.
    assert state["queue"] == {"position": 1, "estimated_wait_seconds": None}
    queue = client.get("/api/queue", headers=headers).json()["queue"]
    [item] = queue
    assert item["priority"] == "normal" and item["team"]["name"] == "Support"
    assert item["sla"]["first_response"]["seconds_left"] > 3500
    assert item["channel"] == "widget" and item["waiting_seconds"] >= 0

    me = client.get("/api/me", headers=headers).json()
    assert me["presence"] == "offline" and me["role"] == "admin"
    assert client.put("/api/me/presence", json={"presence": "online"}, headers=headers).json() == {
        "presence": "online"
    }
    assert (
        client.put("/api/me/presence", json={"presence": "busy"}, headers=headers).status_code
        == 422
    )

    cid = item["conversation_id"]
    assert client.post(f"/api/conversations/{cid}/takeover", headers=headers).status_code == 200
    assert client.get("/api/queue", headers=headers).json()["queue"] == []
    ticket = client.get(f"/api/tickets/{item['id']}", headers=headers).json()
    assert ticket["status"] == "open" and ticket["assignee"]["name"] == "Dana (demo agent)"
    assert [h["kind"] for h in ticket["history"]] == ["created", "assigned"]
    ws.__exit__(None, None, None)


def test_notes_pending_transfer_and_hand_back(client: TestClient) -> None:
    headers = login(client)
    sam = second_agent(client, headers)
    ws, _ = handed_off(client)
    [item] = client.get("/api/queue", headers=headers).json()["queue"]
    cid = item["conversation_id"]
    client.post(f"/api/conversations/{cid}/takeover", headers=headers)

    note = client.post(
        f"/api/conversations/{cid}/notes", json={"text": "VIP customer"}, headers=headers
    )
    assert note.status_code == 201
    detail = client.get(f"/api/conversations/{cid}", headers=headers).json()
    assert [n["text"] for n in detail["notes"]] == ["VIP customer"]
    assert all(m["text"] != "VIP customer" for m in detail["messages"])
    assert detail["contact"]["notes"][0]["text"] == "VIP customer"

    pending = client.post(f"/api/conversations/{cid}/pending", headers=headers).json()
    assert pending["conversation"]["ticket"]["status"] == "pending"
    assert pending["conversation"]["ticket"]["sla"]["resolution"]["paused"] is True

    moved = client.post(
        f"/api/conversations/{cid}/transfer", json={"agent_id": sam}, headers=headers
    ).json()
    assert moved["conversation"]["agent"]["name"] == "Sam"
    assert (
        client.post(f"/api/conversations/{cid}/transfer", json={}, headers=headers).status_code
        == 422
    )
    # Dana no longer has it: she cannot hand it back.
    assert client.post(f"/api/conversations/{cid}/handback", headers=headers).status_code == 409
    ws.__exit__(None, None, None)


def test_ticket_fields_and_contacts(client: TestClient) -> None:
    headers = login(client)
    ws, _ = handed_off(client)
    [item] = client.get("/api/queue", headers=headers).json()["queue"]
    patched = client.patch(
        f"/api/tickets/{item['id']}",
        json={"priority": "urgent", "category": "billing", "tags": ["Refund", "refund", "vip"]},
        headers=headers,
    ).json()
    assert (patched["priority"], patched["category"], patched["tags"]) == (
        "urgent",
        "billing",
        ["refund", "vip"],
    )
    assert patched["history"][-1]["kind"] == "updated"

    contact_id = item["contact"]["id"]
    edited = client.patch(
        f"/api/contacts/{contact_id}",
        json={"name": "Ann", "email": "ann@example.com"},
        headers=headers,
    ).json()
    assert (edited["name"], edited["email"]) == ("Ann", "ann@example.com")
    assert edited["tickets"][0]["priority"] == "urgent"
    ws2, _ = handed_off(client)
    other = [
        q
        for q in client.get("/api/queue", headers=headers).json()["queue"]
        if q["id"] != item["id"]
    ]
    merged = client.post(
        f"/api/contacts/{contact_id}/merge",
        json={"other_id": other[0]["contact"]["id"]},
        headers=headers,
    ).json()
    assert len(merged["conversations"]) == 2 and len(merged["tickets"]) == 2
    found = client.get("/api/contacts?q=ann", headers=headers).json()["contacts"]
    assert [c["id"] for c in found] == [contact_id]
    ws.__exit__(None, None, None)
    ws2.__exit__(None, None, None)


def test_teams_and_sla_policies_are_for_leads(client: TestClient) -> None:
    lead = login(client)
    second_agent(client, lead)
    token = client.post(
        "/api/auth/login", json={"email": "sam@example.com", "password": "long enough secret"}
    ).json()["token"]
    sam = {"Authorization": f"Bearer {token}"}
    policies = client.get("/api/sla-policies", headers=sam).json()["policies"]
    assert {p["priority"]: p["first_response_minutes"] for p in policies} == {
        "urgent": 15,
        "high": 30,
        "normal": 60,
        "low": 240,
    }
    body = {"first_response_minutes": 20, "resolution_minutes": 600, "on_breach": "none"}
    assert client.put("/api/sla-policies/high", json=body, headers=sam).status_code == 403
    assert client.put("/api/sla-policies/high", json=body, headers=lead).status_code == 200
    bad = {**body, "on_breach": "page the CEO"}
    assert client.put("/api/sla-policies/high", json=bad, headers=lead).status_code == 422

    team = {"name": "Billing", "topics": ["billing"], "assignment_mode": "round_robin"}
    assert client.post("/api/teams", json=team, headers=sam).status_code == 403
    created = client.post("/api/teams", json=team, headers=lead).json()
    assert created["assignment_mode"] == "round_robin"
    names = [t["name"] for t in client.get("/api/teams", headers=sam).json()["teams"]]
    assert names == ["Support", "Billing"]
    agents = client.get("/api/agents", headers=sam).json()["agents"]
    assert {a["name"]: a["load"] for a in agents} == {"Dana (demo agent)": 0, "Sam": 0}


def test_reports_json_and_csv(client: TestClient) -> None:
    headers = login(client)
    ws, _ = handed_off(client)
    with client.websocket_connect("/ws/widget") as other:
        hello(other)
        other.send_json({"type": "message", "text": "I forgot my password", "client_id": "q"})
        until(other, lambda f: f["type"] == "message" and f["message"]["role"] == "bot")
    report = client.get("/api/reports?by=channel", headers=headers).json()
    overall = report["overall"]
    assert (overall["conversations"], overall["bot_contained"], overall["handoffs"]) == (2, 1, 1)
    assert overall["handoff_by_reason"]["customer_request"]["count"] == 1
    assert [g["key"] for g in report["groups"]] == ["widget"]
    assert len(report["series"]) == 30
    raw = client.get("/api/reports?format=csv", headers=headers)
    assert raw.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(raw.text)))
    assert rows[0]["group"] == "(all)" and rows[0]["containment_rate"] == "0.5"
    assert (
        client.get("/api/reports?start=2026-12-01&end=2026-11-01", headers=headers).status_code
        == 422
    )
    assert client.get("/api/reports").status_code == 401
    ws.__exit__(None, None, None)
