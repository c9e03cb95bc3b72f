"""Roles (agent < lead < admin) and "agents act on their own work, leads on anyone's",
through the REST API on a real database and a fake Rasa."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.fakes.hub_client import hello, login, make_agent, make_client, until
from tests.fakes.rasa import FakeRasa

PASSWORD = "a long enough passphrase"


@pytest.fixture
def client(
    tmp_path: Path, index_dir: Path, database_url: str, fake_rasa: FakeRasa
) -> Iterator[TestClient]:
    with make_client(
        tmp_path, index_dir, fake_rasa, database_url=database_url, sweep_interval=3600
    ) as c:
        yield c


def queued_conversation(client: TestClient) -> tuple[Any, int, int]:
    """A widget conversation handed off to the queue: (socket, conversation id, ticket id)."""
    ws = client.websocket_connect("/ws/widget").__enter__()
    hello(ws)
    ws.send_json({"type": "message", "text": "I want to talk to a person", "client_id": "p"})
    until(ws, lambda f: f["type"] == "state" and f["state"] == "queued")
    headers = login(client)
    [item] = client.get("/api/queue", headers=headers).json()["queue"]
    return ws, item["conversation_id"], item["id"]


def test_demo_agent_is_an_admin_and_roles_gate_routes(client: TestClient) -> None:
    admin = login(client)
    assert client.get("/api/me", headers=admin).json()["role"] == "admin"
    lead = make_agent(client, admin, "Lee", "lead")
    agent = make_agent(client, admin, "Ari", "agent")

    # Leads: teams and SLA policies; agents: 403.
    policy = {"first_response_minutes": 30, "resolution_minutes": 600, "on_breach": "none"}
    assert (
        client.put("/api/sla-policies/low", json=policy, headers=agent["headers"]).status_code
        == 403
    )
    assert (
        client.put("/api/sla-policies/low", json=policy, headers=lead["headers"]).status_code == 200
    )
    team = {"name": "Billing"}
    assert client.post("/api/teams", json=team, headers=agent["headers"]).status_code == 403
    assert client.post("/api/teams", json=team, headers=lead["headers"]).status_code == 201

    # Reports are for leads (and admins).
    assert client.get("/api/reports", headers=agent["headers"]).status_code == 403
    assert client.get("/api/reports", headers=lead["headers"]).status_code == 200
    assert client.get("/api/reports", headers=admin).status_code == 200

    # Accounts are for admins: a lead may change capacity, not roles, and cannot create.
    me = agent["id"]
    assert (
        client.patch(f"/api/agents/{me}", json={"capacity": 5}, headers=lead["headers"]).status_code
        == 200
    )
    assert (
        client.patch(
            f"/api/agents/{me}", json={"role": "lead"}, headers=lead["headers"]
        ).status_code
        == 403
    )
    assert (
        client.patch(
            f"/api/agents/{me}", json={"role": "lead"}, headers=agent["headers"]
        ).status_code
        == 403
    )
    new = {"email": "x@example.com", "name": "X", "password": PASSWORD}
    assert client.post("/api/agents", json=new, headers=lead["headers"]).status_code == 403
    assert client.get("/api/audit", headers=lead["headers"]).status_code == 403
    assert (
        client.get("/api/agents?include_inactive=true", headers=lead["headers"]).status_code == 403
    )
    promoted = client.patch(f"/api/agents/{me}", json={"role": "lead"}, headers=admin)
    assert promoted.status_code == 200 and promoted.json()["role"] == "lead"


def test_an_agent_cannot_take_a_leads_conversation_by_transfer(client: TestClient) -> None:
    """The probe's row 13: A2 transferring the lead's conversation to themself gets 403, and
    the conversation stays with the lead."""
    admin = login(client)
    lead = make_agent(client, admin, "Lee", "lead")
    a2 = make_agent(client, admin, "Ari", "agent")
    ws, cid, ticket_id = queued_conversation(client)
    assert (
        client.post(f"/api/conversations/{cid}/takeover", headers=lead["headers"]).status_code
        == 200
    )

    grab = client.post(
        f"/api/conversations/{cid}/transfer", json={"agent_id": a2["id"]}, headers=a2["headers"]
    )
    assert grab.status_code == 403 and "support lead" in grab.json()["detail"]
    detail = client.get(f"/api/conversations/{cid}", headers=a2["headers"]).json()
    assert detail["conversation"]["agent"]["id"] == lead["id"]
    assert detail["ticket"]["assignee"]["id"] == lead["id"]
    assert (
        client.post(
            f"/api/conversations/{cid}/messages", json={"text": "mine now"}, headers=a2["headers"]
        ).status_code
        == 409
    )  # still not theirs: a state conflict, as before

    # Ticket fields of someone else's ticket: 403; reading and notes stay open.
    patch = client.patch(
        f"/api/tickets/{ticket_id}", json={"priority": "low"}, headers=a2["headers"]
    )
    assert patch.status_code == 403
    assert (
        client.get(f"/api/tickets/{ticket_id}", headers=a2["headers"]).json()["priority"]
        == "normal"
    )
    note = client.post(
        f"/api/conversations/{cid}/notes", json={"text": "fyi"}, headers=a2["headers"]
    )
    assert note.status_code == 201

    # The assignee and any lead may: the lead edits and passes it on; admins are leads too.
    assert (
        client.patch(
            f"/api/tickets/{ticket_id}", json={"priority": "high"}, headers=lead["headers"]
        ).status_code
        == 200
    )
    moved = client.post(
        f"/api/conversations/{cid}/transfer", json={"agent_id": a2["id"]}, headers=admin
    )
    assert moved.status_code == 200 and moved.json()["conversation"]["agent"]["id"] == a2["id"]
    # Now it is A2's own work.
    assert (
        client.patch(
            f"/api/tickets/{ticket_id}", json={"tags": ["billing"]}, headers=a2["headers"]
        ).status_code
        == 200
    )
    ws.__exit__(None, None, None)


def test_merging_contacts_needs_a_lead_or_the_agent_helping_one(client: TestClient) -> None:
    admin = login(client)
    a2 = make_agent(client, admin, "Ari", "agent")
    ws, cid, _ = queued_conversation(client)
    other_ws = client.websocket_connect("/ws/widget").__enter__()
    hello(other_ws)
    other_ws.send_json({"type": "message", "text": "hi", "client_id": "o"})
    until(other_ws, lambda f: f["type"] == "ack")
    contact = client.get(f"/api/conversations/{cid}", headers=admin).json()["contact"]["id"]
    others = client.get("/api/contacts", params={"q": "Visitor"}, headers=admin).json()["contacts"]
    other = next(c["id"] for c in others if c["id"] != contact)

    refused = client.post(
        f"/api/contacts/{contact}/merge", json={"other_id": other}, headers=a2["headers"]
    )
    assert refused.status_code == 403
    assert client.get(f"/api/contacts/{other}", headers=admin).json()["id"] == other  # not merged

    # Once A2 has taken the customer's conversation, merging into their contact is their work.
    assert (
        client.post(f"/api/conversations/{cid}/takeover", headers=a2["headers"]).status_code == 200
    )
    merged = client.post(
        f"/api/contacts/{contact}/merge", json={"other_id": other}, headers=a2["headers"]
    )
    assert merged.status_code == 200
    assert client.get(f"/api/contacts/{other}", headers=admin).json()["id"] == contact
    ws.__exit__(None, None, None)
    other_ws.__exit__(None, None, None)


def test_the_last_admin_keeps_the_role_and_stays_active(client: TestClient) -> None:
    admin = login(client)
    me = client.get("/api/me", headers=admin).json()["id"]
    assert (
        client.patch(f"/api/agents/{me}", json={"role": "lead"}, headers=admin).status_code == 409
    )
    assert (
        client.patch(f"/api/agents/{me}", json={"is_active": False}, headers=admin).status_code
        == 409
    )
    second = make_agent(client, admin, "Ada", "admin")
    assert (
        client.patch(
            f"/api/agents/{second['id']}", json={"is_active": False}, headers=admin
        ).status_code
        == 200
    )
