"""Two hubs in one process on one database and one real Redis (FRONTLINE_REDIS_URL): live
updates cross between them through the bus (api/bus.py), presence survives another hub's
start, and a hub refuses to start without the secrets every hub must share."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.exposure import Refused
from tests.fakes.hub_client import agent_socket, hello, is_msg, login, make_client, token_of, until
from tests.fakes.rasa import FakeRasa

SHARED = {"secret_key": "the same key on every hub", "action_token": "the same action token"}


@contextmanager
def two_hubs(
    tmp_path: Path,
    index_dir: Path,
    fake_rasa: FakeRasa,
    database_url: str,
    redis_url: str,
    **overrides: Any,
) -> Iterator[tuple[TestClient, TestClient]]:
    common = {
        "database_url": database_url,
        "redis_url": redis_url,
        "sweep_interval": 3600,
        **SHARED,
        **overrides,
    }
    with ExitStack() as stack:
        a = stack.enter_context(make_client(tmp_path / "a", index_dir, fake_rasa, **common))
        b = stack.enter_context(make_client(tmp_path / "b", index_dir, fake_rasa, **common))
        yield a, b


def queued_widget(client: TestClient) -> tuple[Any, dict[str, Any]]:
    ws = client.websocket_connect("/ws/widget").__enter__()
    hello(ws)
    ws.send_json({"type": "message", "text": "I want to talk to a person", "client_id": "p"})
    state = until(ws, lambda f: f["type"] == "state" and f["state"] == "queued")
    return ws, state


def test_an_agent_on_hub_a_and_a_widget_on_hub_b_see_each_other_live(
    tmp_path: Path, index_dir: Path, fake_rasa: FakeRasa, database_url: str, redis_url: str
) -> None:
    with two_hubs(tmp_path, index_dir, fake_rasa, database_url, redis_url) as (a, b):
        headers = login(a)
        with agent_socket(a, token_of(headers)) as console:
            widget, _ = queued_widget(b)
            try:
                # The customer's message, stored through hub B, reaches the console on A.
                seen = until(console, lambda f: f["type"] == "message", limit=60)
                cid = seen["conversation_id"]
                assert a.post(f"/api/conversations/{cid}/takeover", headers=headers).is_success
                reply = a.post(
                    f"/api/conversations/{cid}/messages",
                    json={"text": "Hello from hub A"},
                    headers=headers,
                )
                assert reply.status_code == 200, reply.text
                got = until(widget, is_msg("agent"), limit=60)
                assert got["message"]["text"] == "Hello from hub A"
                # Typing (a transient frame, not stored) crosses too, both ways.
                console.send_json({"type": "typing", "conversation_id": cid})
                until(widget, lambda f: f["type"] == "typing" and f["role"] == "agent")
                widget.send_json({"type": "typing"})
                until(
                    console, lambda f: f["type"] == "typing" and f["role"] == "customer", limit=60
                )
                widget.send_json({"type": "message", "text": "thanks!", "client_id": "t"})
                mine = until(
                    console,
                    lambda f: f["type"] == "message" and f["message"]["text"] == "thanks!",
                    limit=60,
                )
                assert mine["conversation_id"] == cid
            finally:
                widget.__exit__(None, None, None)


def test_queue_positions_reach_a_widget_on_the_other_hub(
    tmp_path: Path, index_dir: Path, fake_rasa: FakeRasa, database_url: str, redis_url: str
) -> None:
    with two_hubs(tmp_path, index_dir, fake_rasa, database_url, redis_url) as (a, b):
        headers = login(a)
        first, state1 = queued_widget(b)
        second, state2 = queued_widget(b)
        try:
            assert state1["queue"]["position"] == 1 and state2["queue"]["position"] == 2
            [head, _] = a.get("/api/queue", headers=headers).json()["queue"]
            taken = a.post(
                f"/api/conversations/{head['conversation_id']}/takeover", headers=headers
            )
            assert taken.is_success
            moved = until(
                second,
                lambda f: (
                    f["type"] == "state" and f["state"] == "queued" and f["queue"]["position"] == 1
                ),
                limit=60,
            )
            assert moved["queue"]["position"] == 1
            until(first, lambda f: f["type"] == "state" and f["state"] == "agent", limit=60)
        finally:
            first.__exit__(None, None, None)
            second.__exit__(None, None, None)


def test_an_agent_online_on_hub_a_stays_online_when_hub_b_starts(
    tmp_path: Path, index_dir: Path, fake_rasa: FakeRasa, database_url: str, redis_url: str
) -> None:
    common = {
        "database_url": database_url,
        "redis_url": redis_url,
        "sweep_interval": 3600,
        **SHARED,
    }
    with make_client(tmp_path / "a", index_dir, fake_rasa, **common) as a:
        headers = login(a)
        with agent_socket(a, token_of(headers)) as console:
            until(console, lambda f: f.get("type") == "presence")
            assert a.get("/api/me", headers=headers).json()["presence"] == "online"
            with make_client(tmp_path / "b", index_dir, fake_rasa, **common) as b:
                assert b.get("/api/me", headers=headers).json()["presence"] == "online"
            assert a.get("/api/me", headers=headers).json()["presence"] == "online"
        # The console closed: its record went, and with it the agent's presence.
        deadline = time.monotonic() + 10
        while a.get("/api/me", headers=headers).json()["presence"] != "offline":
            assert time.monotonic() < deadline, "closing the last console left the agent online"
            time.sleep(0.1)


def test_a_hub_heartbeats_its_consoles_so_they_never_expire_while_open(
    tmp_path: Path, index_dir: Path, fake_rasa: FakeRasa, database_url: str
) -> None:
    from handoff import agents
    from handoff.db import transaction
    from handoff.models import utcnow

    with make_client(
        tmp_path,
        index_dir,
        fake_rasa,
        database_url=database_url,
        sweep_interval=3600,
        presence_heartbeat_seconds=0.5,
    ) as client:
        headers = login(client)
        hub = client.app.state.hub  # type: ignore[attr-defined]
        with agent_socket(client, token_of(headers)) as console:
            until(console, lambda f: f.get("type") == "presence")
            time.sleep(3.5)  # more than the records' lifetime (3 heartbeats: 1.5 s)
            with transaction(hub.sessions) as session:
                offline, _ = agents.expire_connections(session, now=utcnow())
            assert offline == []
            assert client.get("/api/me", headers=headers).json()["presence"] == "online"


def test_the_consoles_of_a_dead_hub_expire_and_their_agent_goes_offline(
    tmp_path: Path, index_dir: Path, fake_rasa: FakeRasa, database_url: str
) -> None:
    from datetime import timedelta

    from handoff import agents
    from handoff.db import transaction
    from handoff.models import utcnow

    with make_client(
        tmp_path,
        index_dir,
        fake_rasa,
        database_url=database_url,
        sweep_interval=3600,
        presence_heartbeat_seconds=0.2,
    ) as client:
        headers = login(client)
        hub = client.app.state.hub  # type: ignore[attr-defined]
        me = client.get("/api/me", headers=headers).json()
        # A console the agent had open on a hub that was killed: nobody heartbeats it.
        with transaction(hub.sessions) as session:
            agents.open_connection(
                session,
                agent_id=me["id"],
                hub_id="killed",
                connection_id="gone",
                lifetime=timedelta(seconds=0.5),
                now=utcnow(),
            )
        assert client.get("/api/me", headers=headers).json()["presence"] == "online"
        deadline = time.monotonic() + 10
        while client.get("/api/me", headers=headers).json()["presence"] != "offline":
            assert time.monotonic() < deadline, "the dead hub's console never expired"
            time.sleep(0.1)


@pytest.mark.parametrize("missing", ["secret_key", "action_token"])
def test_with_redis_a_hub_refuses_to_start_on_a_generated_secret(
    tmp_path: Path, index_dir: Path, fake_rasa: FakeRasa, missing: str
) -> None:
    configured = {k: v for k, v in SHARED.items() if k != missing}
    client = make_client(
        tmp_path, index_dir, fake_rasa, redis_url="redis://127.0.0.1:1/0", **configured
    )
    with pytest.raises(Refused) as refused:
        client.__enter__()
    message = str(refused.value)
    assert f"FRONTLINE_{missing.upper()}" in message and "FRONTLINE_REDIS_URL" in message
    other = next(k for k in SHARED if k != missing)
    assert f"FRONTLINE_{other.upper()}" not in message
    assert not (tmp_path / missing).exists()  # refused before generating anything
