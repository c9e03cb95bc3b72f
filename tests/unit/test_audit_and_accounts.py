"""The audit log (every action of the list in docs/security.md leaves one entry; admins read
it, nobody edits it), the agent CLI, and migration 0005's first admin."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from api.cli import app
from handoff.db import upgrade
from tests.fakes.hub_client import hello, login, make_client, until
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


def entries(client: TestClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    answer = client.get("/api/audit", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["entries"])


def test_every_audited_action_leaves_one_entry(client: TestClient) -> None:
    client.post("/api/auth/login", json={"email": "agent@example.com", "password": "wrong"})
    admin = login(client)
    me = client.get("/api/me", headers=admin).json()["id"]
    made = client.post(
        "/api/agents",
        json={"email": "ari@example.com", "name": "Ari", "password": PASSWORD},
        headers=admin,
    ).json()
    ari = made["id"]
    client.patch(f"/api/agents/{ari}", json={"role": "lead"}, headers=admin)
    client.patch(f"/api/agents/{ari}", json={"capacity": 4}, headers=admin)
    client.post(
        f"/api/agents/{ari}/password", json={"password": "yet another passphrase"}, headers=admin
    )
    team = client.post("/api/teams", json={"name": "Billing"}, headers=admin).json()
    client.put(
        "/api/sla-policies/low",
        json={"first_response_minutes": 60, "resolution_minutes": 600, "on_breach": "none"},
        headers=admin,
    )
    client.get("/api/reports", params={"format": "csv"}, headers=admin)

    ws = client.websocket_connect("/ws/widget").__enter__()
    hello(ws)
    ws.send_json({"type": "message", "text": "I want to talk to a person", "client_id": "p"})
    until(ws, lambda f: f["type"] == "state" and f["state"] == "queued")
    [item] = client.get("/api/queue", headers=admin).json()["queue"]
    cid = item["conversation_id"]
    client.post(f"/api/conversations/{cid}/takeover", headers=admin)
    client.patch(f"/api/tickets/{item['id']}", json={"priority": "high"}, headers=admin)
    client.post(f"/api/conversations/{cid}/transfer", json={"team_id": team["id"]}, headers=admin)
    other = client.websocket_connect("/ws/widget").__enter__()
    hello(other)
    other.send_json({"type": "message", "text": "hi", "client_id": "o"})
    until(other, lambda f: f["type"] == "ack")
    contact = item["contact"]["id"]
    found = client.get("/api/contacts", params={"q": "Visitor"}, headers=admin).json()["contacts"]
    second = next(c["id"] for c in found if c["id"] != contact)
    client.post(f"/api/contacts/{contact}/merge", json={"other_id": second}, headers=admin)
    client.patch(f"/api/agents/{ari}", json={"is_active": False}, headers=admin)
    client.post("/api/auth/logout", headers=admin)
    ws.__exit__(None, None, None)
    other.__exit__(None, None, None)

    admin = login(client)
    log = entries(client, admin, limit=500)
    actions = [e["action"] for e in reversed(log)]
    assert actions == [
        "login_failed",
        "login",
        "agent_create",
        "agent_role",
        "agent_update",
        "agent_password",
        "team_save",
        "sla_policy",
        "export",
        "takeover",
        "ticket_update",
        "transfer",
        "contact_merge",
        "agent_deactivate",
        "logout",
        "login",
    ]
    failed = log[-1]
    assert failed["actor"] is None and failed["target"] == "agent@example.com"
    assert failed["ip"] == "testclient"
    by_action = {e["action"]: e for e in log}
    assert by_action["agent_role"]["detail"] == {"agent_id": ari, "from": "agent", "to": "lead"}
    assert by_action["agent_create"]["actor"]["id"] == me
    assert by_action["transfer"]["target"] == f"conversation {cid}"
    assert by_action["contact_merge"]["detail"] == {"merged": second}
    assert "password" not in str(by_action["agent_password"]["detail"]).lower()

    # Filters and pages.
    assert [e["action"] for e in entries(client, admin, action="login")] == ["login", "login"]
    assert all(e["actor"]["id"] == me for e in entries(client, admin, actor=me))
    assert entries(client, admin, since="2999-01-01T00:00:00Z") == []
    first = client.get("/api/audit", params={"limit": 3}, headers=admin).json()
    assert len(first["entries"]) == 3 and first["next_before"] == first["entries"][-1]["id"]
    more = entries(client, admin, limit=3, before=first["next_before"])
    assert more[0]["id"] < first["entries"][-1]["id"]


def test_the_audit_log_cannot_be_changed_through_the_api(client: TestClient) -> None:
    admin = login(client)
    entry = entries(client, admin)[0]["id"]
    for method in ("PUT", "PATCH", "DELETE"):
        assert client.request(method, "/api/audit", headers=admin).status_code == 405
        assert client.request(method, f"/api/audit/{entry}", headers=admin).status_code in (
            404,
            405,
        )
    assert client.get("/api/audit").status_code == 401
    assert (
        client.get("/api/audit", params={"since": "0001-01-01T00:00:00"}, headers=admin).status_code
        == 422
    )
    assert client.get("/api/audit", params={"limit": 0}, headers=admin).status_code == 422


def test_admin_api_refuses_weak_passwords_with_the_reason(client: TestClient) -> None:
    admin = login(client)
    for password, says in (("abcd", "12 characters"), ("password1234", "common")):
        answer = client.post(
            "/api/agents",
            json={"email": "ari@example.com", "name": "Ari", "password": password},
            headers=admin,
        )
        assert answer.status_code == 422 and says in answer.json()["detail"]


def test_agents_cli_create_set_password_deactivate_list(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRONTLINE_DATABASE_URL", database_url)
    monkeypatch.setenv("FRONTLINE_VAR_DIR", str(tmp_path))
    run = CliRunner().invoke
    weak = run(
        app, ["agents", "create", "--email", "l@x.io", "--name", "Lee", "--password", "abcd"]
    )
    assert weak.exit_code == 1 and "at least 12 characters" in weak.output
    made = run(
        app,
        [
            "agents",
            "create",
            "--email",
            "l@x.io",
            "--name",
            "Lee",
            "--password",
            PASSWORD,
            "--role",
            "admin",
        ],
    )
    assert made.exit_code == 0 and "Created admin" in made.output, made.output
    bad_role = run(
        app,
        [
            "agents",
            "create",
            "--email",
            "m@x.io",
            "--name",
            "M",
            "--password",
            PASSWORD,
            "--role",
            "boss",
        ],
    )
    assert bad_role.exit_code == 1 and "--role" in bad_role.output
    reset = run(app, ["agents", "set-password", "L@x.io", "--password", "a brand new passphrase"])
    assert reset.exit_code == 0, reset.output
    assert (
        run(app, ["agents", "set-password", "nobody@x.io", "--password", PASSWORD]).exit_code == 1
    )
    run(app, ["agents", "create", "--email", "a@x.io", "--name", "Ari", "--password", PASSWORD])
    gone = run(app, ["agents", "deactivate", "a@x.io"])
    assert gone.exit_code == 0 and "Deactivated a@x.io" in gone.output
    last = run(app, ["agents", "deactivate", "l@x.io"])  # the only admin
    assert last.exit_code == 1 and "last active admin" in last.output
    listed = run(app, ["agents", "list"]).output.splitlines()
    assert any(line.split("\t")[1:4] == ["admin", "active", "l@x.io"] for line in listed)
    assert any(line.split("\t")[1:4] == ["agent", "deactivated", "a@x.io"] for line in listed)


def test_upgrading_makes_the_first_lead_an_admin(blank_database_url: str) -> None:
    url = blank_database_url
    upgrade(url, "0004")
    engine = create_engine(url)
    with engine.begin() as connection:
        for n, role in ((1, "agent"), (2, "lead"), (3, "lead")):
            connection.execute(
                text(
                    "INSERT INTO agents (email, name, password_hash, is_active, role, presence,"
                    " capacity, created_at) VALUES (:e, 'A', 'x', true, :r, 'offline', 3,"
                    " '2026-01-01')"
                ),
                {"e": f"a{n}@x.io", "r": role},
            )
    upgrade(url)
    with engine.connect() as connection:
        roles = connection.execute(text("SELECT id, role FROM agents ORDER BY id")).all()
    engine.dispose()
    assert [r[1] for r in roles] == ["agent", "admin", "lead"]
