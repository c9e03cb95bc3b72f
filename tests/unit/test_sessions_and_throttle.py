"""Sessions that can be revoked and never travel in URLs, login throttling, and the
password policy: through the REST API and the agents' socket (real database, fake Rasa)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.websockets import WebSocketDisconnect

from api.throttle import LoginGuard, MemoryThrottle
from handoff import agents
from handoff.errors import InvalidInput
from handoff.models import AgentSession, utcnow
from handoff.passwords import check_password
from handoff.sweep import sweep
from tests.fakes.hub_client import agent_socket, login, make_client, token_of
from tests.fakes.rasa import FakeRasa

PASSWORD = "a long enough passphrase"
DEMO = {"email": "agent@example.com", "password": "frontline"}


@pytest.fixture
def client(
    tmp_path: Path, index_dir: Path, database_url: str, fake_rasa: FakeRasa
) -> Iterator[TestClient]:
    with make_client(
        tmp_path,
        index_dir,
        fake_rasa,
        database_url=database_url,
        sweep_interval=3600,
        session_check_interval=0.05,
    ) as c:
        yield c


def closed_code(ws: Any, limit: int = 50) -> int:
    """Read frames until the hub closes the socket; its close code."""
    with pytest.raises(WebSocketDisconnect) as closed:
        for _ in range(limit):
            ws.receive_json()
    return closed.value.code


def test_logout_revokes_the_token_and_closes_its_sockets(client: TestClient) -> None:
    headers = login(client)
    other = login(client)  # a second session of the same agent (another tab) lives on
    assert client.get("/api/me", headers=headers).status_code == 200
    with agent_socket(client, token_of(headers)) as console:
        assert client.post("/api/auth/logout", headers=headers).status_code == 204
        assert closed_code(console) == 4401
    assert client.get("/api/me", headers=headers).status_code == 401
    assert client.post("/api/auth/logout", headers=headers).status_code == 401
    assert client.get("/api/me", headers=other).status_code == 200


def test_agents_socket_signs_in_by_its_first_frame_only(client: TestClient) -> None:
    token = token_of(login(client))
    # A token in the query string is ignored: the first frame must sign in.
    with client.websocket_connect(f"/ws/agents?token={token}") as ws:
        ws.send_json({"type": "typing", "conversation_id": 1})
        assert closed_code(ws) == 4401
    for first in (
        {"type": "auth"},
        {"type": "auth", "token": 5},
        {"type": "auth", "token": "x" * 500},
    ):
        with client.websocket_connect("/ws/agents") as ws:
            ws.send_json(first)
            assert closed_code(ws) == 4401
    with client.websocket_connect("/ws/agents") as ws:
        ws.send_text("not json")
        assert closed_code(ws) == 4401
    with agent_socket(client, token) as ws:
        ws.send_json({"type": "typing", "conversation_id": 1})  # still open after sign-in


def test_deactivating_an_agent_ends_their_sessions_and_sockets(client: TestClient) -> None:
    admin = login(client)
    created = client.post(
        "/api/agents",
        json={"email": "ari@example.com", "name": "Ari", "password": PASSWORD},
        headers=admin,
    ).json()
    ari = client.post("/api/auth/login", json={"email": "ari@example.com", "password": PASSWORD})
    ari_headers = {"Authorization": f"Bearer {ari.json()['token']}"}
    with agent_socket(client, ari.json()["token"]) as console:
        off = client.patch(f"/api/agents/{created['id']}", json={"is_active": False}, headers=admin)
        assert off.status_code == 200 and off.json()["is_active"] is False
        assert closed_code(console) == 4401
    assert client.get("/api/me", headers=ari_headers).status_code == 401
    again = client.post("/api/auth/login", json={"email": "ari@example.com", "password": PASSWORD})
    assert again.status_code == 401
    listed = client.get("/api/agents?include_inactive=true", headers=admin).json()["agents"]
    assert any(a["email"] == "ari@example.com" and not a["is_active"] for a in listed)
    assert all(
        a["email"] != "ari@example.com"
        for a in client.get("/api/agents", headers=admin).json()["agents"]
    )


def test_password_reset_by_an_admin_signs_the_agent_out(client: TestClient) -> None:
    admin = login(client)
    created = client.post(
        "/api/agents",
        json={"email": "ari@example.com", "name": "Ari", "password": PASSWORD},
        headers=admin,
    ).json()
    old = client.post("/api/auth/login", json={"email": "ari@example.com", "password": PASSWORD})
    weak = client.post(
        f"/api/agents/{created['id']}/password", json={"password": "abcd"}, headers=admin
    )
    assert weak.status_code == 422 and "12 characters" in weak.json()["detail"]
    new = "another long passphrase"
    done = client.post(
        f"/api/agents/{created['id']}/password", json={"password": new}, headers=admin
    )
    assert done.status_code == 204
    assert (
        client.get(
            "/api/me", headers={"Authorization": f"Bearer {old.json()['token']}"}
        ).status_code
        == 401
    )
    assert (
        client.post(
            "/api/auth/login", json={"email": "ari@example.com", "password": new}
        ).status_code
        == 200
    )


def test_thirty_one_wrong_passwords_are_throttled_before_hashing(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real = agents.log_in

    def counting(session: Session, **kwargs: Any) -> Any:
        calls.append(kwargs["email"])
        return real(session, **kwargs)

    monkeypatch.setattr(agents, "log_in", counting)
    answers = [
        client.post("/api/auth/login", json={**DEMO, "password": f"wrong{i}"}) for i in range(31)
    ]
    codes = [a.status_code for a in answers]
    assert codes[:5] == [401] * 5 and codes[5:] == [429] * 26
    assert len(calls) == 5  # throttled attempts never reached the password check
    wait = int(answers[-1].headers["Retry-After"])
    assert 0 < wait <= 900 and "try again" in answers[-1].json()["detail"]
    right = client.post("/api/auth/login", json=DEMO)
    assert right.status_code == 429 and "Retry-After" in right.headers
    # Other accounts from elsewhere are not locked out by this one.
    assert (
        client.post(
            "/api/auth/login", json={"email": "x@example.com", "password": "no"}
        ).status_code
        == 401
    )


def test_per_address_limit_covers_many_accounts(client: TestClient) -> None:
    codes = [
        client.post(
            "/api/auth/login", json={"email": f"user{i}@example.com", "password": "nope"}
        ).status_code
        for i in range(21)
    ]
    assert codes[:20] == [401] * 20 and codes[20] == 429
    assert client.post("/api/auth/login", json=DEMO).status_code == 429


def test_sliding_window_and_success_reset() -> None:
    now = [1000.0]
    guard = LoginGuard(MemoryThrottle(clock=lambda: now[0]), per_account=3, per_ip=100, window=60)

    async def scenario() -> None:
        for _ in range(2):
            await guard.failed("a@x.io", "1.2.3.4")
        assert await guard.retry_after("a@x.io", "1.2.3.4") == 0
        await guard.succeeded("A@x.io ", "1.2.3.4")  # the same account, however written
        for _ in range(3):
            now[0] += 10
            await guard.failed("a@x.io", "1.2.3.4")
        assert await guard.retry_after("a@x.io", "1.2.3.4") == 40  # the first leaves at 60
        now[0] += 40
        assert await guard.retry_after("a@x.io", "1.2.3.4") == 0  # sliding: one left
        assert await guard.retry_after("b@x.io", "1.2.3.4") == 0

    asyncio.run(scenario())


def test_memory_throttle_is_bounded() -> None:
    throttle = MemoryThrottle(max_keys=10)

    async def scenario() -> None:
        for i in range(100):
            await throttle.failed(f"k{i}", window=60)
        assert await throttle.retry_after("k0", limit=1, window=60) == 0  # evicted
        assert await throttle.retry_after("k99", limit=1, window=60) > 0

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("password", "says"),
    [
        ("short", "at least 12"),
        ("dana@example.com", "email"),
        ("dana-and-some-more", "email"),
        ("Password1234", "common"),
        ("correct horse battery staple", "common"),
        ("aaaaaaaaaaaaaaaa", "common"),
    ],
)
def test_password_policy_says_what_is_wrong(password: str, says: str) -> None:
    with pytest.raises(InvalidInput, match=says):
        check_password(password, email="dana@example.com")


def test_password_policy_accepts_a_passphrase() -> None:
    check_password("tulip orbit candle 42", email="dana@example.com")


def test_the_sweep_deletes_expired_sessions(session: Session) -> None:
    agent, _ = agents.create_agent(session, email="d@x.io", name="Dana", password=PASSWORD)
    live, _ = agents.start_session(session, agent=agent)
    dead, _ = agents.start_session(session, agent=agent)
    row = session.scalars(select(AgentSession).order_by(AgentSession.id.desc())).first()
    assert row is not None
    row.expires_at = utcnow() - timedelta(minutes=1)
    session.flush()
    sweep(session, now=utcnow())
    count = session.scalar(select(func.count()).select_from(AgentSession))
    assert count == 1
    assert agents.agent_for_token(session, live) is not None
    assert agents.agent_for_token(session, dead) is None
