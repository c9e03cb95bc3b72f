"""The hub's HTTP and WebSocket surface, with Rasa replaced by a local fake of its REST channel.

The real Rasa server is exercised in tests/integration; here the point is the hub's own
behaviour: store first, relay, hand off, authenticate, publish live.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.fakes.hub_client import agent_socket, hello, is_msg, login, make_client, until
from tests.fakes.rasa import ANSWER_SOURCE, FakeRasa, rasa_down


@pytest.fixture
def client(
    tmp_path: Path, index_dir: Path, database_url: str, fake_rasa: FakeRasa
) -> Iterator[TestClient]:
    with make_client(tmp_path, index_dir, fake_rasa, database_url=database_url) as c:
        yield c


def test_pages_and_health(client: TestClient) -> None:
    assert "widget.js" in client.get("/").text
    assert client.get("/console").status_code == 200
    health = client.get("/health").json()
    assert health["status"] == "ok"
    assert health["rasa"]["ok"] and health["index"]["articles"] >= 15


def test_widget_script_is_one_file_with_its_parts_in_order(client: TestClient) -> None:
    response = client.get("/static/widget.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    body = response.text
    # Markdown and the strings must be defined before the widget uses them.
    order = [
        body.index("global.FrontlineMarkdown = "),
        body.index("global.FrontlineWidgetStrings = "),
        body.index("window.__frontlineWidget = true"),
    ]
    assert order == sorted(order)
    etag = response.headers["etag"]
    again = client.get("/static/widget.js", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert client.get("/static/widget.css").status_code == 200  # the mount still serves the rest
    # Markdown is lib/markdown.js, the console's ES module, made a classic script here.
    markdown = body[: body.index("global.FrontlineWidgetStrings = ")]
    assert "function render(" in markdown
    assert not re.search(r"^\s*(export|import)\b", markdown, flags=re.MULTILINE)


def test_console_modules_are_served_as_javascript_with_validators(client: TestClient) -> None:
    for page in ("/console", "/console/dashboard"):
        assert 'type="module"' in client.get(page).text
    for path in ("/static/console/main.js", "/static/lib/markdown.js", "/static/dashboard.js"):
        response = client.get(path)
        assert response.status_code == 200, path
        # Browsers run an ES module only with a JavaScript MIME type.
        assert response.headers["content-type"] == "text/javascript; charset=utf-8", path
        assert response.headers["etag"] and response.headers["last-modified"]
        again = client.get(path, headers={"If-None-Match": response.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
    assert client.get("/static/console/nope.js").status_code == 404


def test_widget_gets_answer_with_source_and_resumes_after_reload(client: TestClient) -> None:
    with client.websocket_connect("/ws/widget") as ws:
        welcome = hello(ws)
        ws.send_json({"type": "message", "text": "I forgot my password", "client_id": "c1"})
        ack = until(ws, lambda f: f["type"] == "ack")
        assert ack["client_id"] == "c1" and ack["message"]["role"] == "customer"
        answer = until(ws, is_msg("bot"))["message"]
        assert answer["text"] == "Choose Forgot password."
        assert answer["sources"] == [ANSWER_SOURCE]
    with client.websocket_connect("/ws/widget") as ws:
        again = hello(ws, welcome["token"])
        assert welcome["conversation"]["id"] is None  # nothing stored before the first message
        assert again["conversation"]["id"] == ack["message"]["conversation_id"]
        assert [m["role"] for m in again["messages"]] == ["customer", "bot"]


def test_widget_refuses_bad_frames_without_dropping_the_socket(client: TestClient) -> None:
    with client.websocket_connect("/ws/widget") as ws:
        ws.send_text("not json")
        assert ws.receive_json()["type"] == "error"
        ws.send_json({"type": "hello", "token": "no-such-token"})
        assert "unknown token" in ws.receive_json()["error"]
        hello(ws)
        ws.send_json({"type": "message", "text": "   ", "client_id": "c2"})
        error = until(ws, lambda f: f["type"] == "error")
        assert error["client_id"] == "c2" and "empty" in error["error"]


def test_handoff_takeover_reply_reaches_widget_live(client: TestClient) -> None:
    headers = login(client)
    assert client.get("/api/conversations").status_code == 401
    with client.websocket_connect("/ws/widget") as ws:
        hello(ws)
        for text in ("I forgot my password", "I want to talk to a person"):
            ws.send_json({"type": "message", "text": text, "client_id": text})
            until(ws, lambda f: f["type"] == "ack")
        state = until(ws, lambda f: f["type"] == "state" and f["state"] == "queued")
        assert state["ticket_number"] == 1001

        queue = client.get("/api/conversations?state=queued", headers=headers).json()[
            "conversations"
        ]
        [conversation] = queue
        assert conversation["ticket"]["reason"] == "customer_request"
        [ticket] = client.get("/api/tickets", headers=headers).json()["tickets"]
        assert [m["text"] for m in ticket["transcript"] if m["role"] == "customer"] == [
            "I forgot my password",
            "I want to talk to a person",
        ]
        assert ticket["bot_attempts"][0]["sources"][0]["article_id"] == "reset-password"

        cid = conversation["id"]
        refused = client.post(
            f"/api/conversations/{cid}/messages", json={"text": "hi"}, headers=headers
        )
        assert refused.status_code == 409
        taken = client.post(f"/api/conversations/{cid}/takeover", headers=headers).json()
        assert taken["conversation"]["state"] == "agent"
        joined = until(ws, lambda f: f["type"] == "state" and f["state"] == "agent")
        assert joined["agent"]["name"] == "Dana (demo agent)"

        sent = client.post(
            f"/api/conversations/{cid}/messages", json={"text": "Hi, Dana here."}, headers=headers
        )
        assert sent.status_code == 200
        live = until(ws, is_msg("agent"))["message"]
        assert live["text"] == "Hi, Dana here." and live["author"] == "Dana (demo agent)"

        # The customer's next message goes to the agent, not to the bot.
        ws.send_json({"type": "message", "text": "Thanks Dana", "client_id": "c9"})
        until(ws, lambda f: f["type"] == "ack")
        detail = client.get(f"/api/conversations/{cid}", headers=headers).json()
        assert detail["messages"][-1]["text"] == "Thanks Dana"
        assert sum(m["role"] == "bot" for m in detail["messages"]) == 2

        resolved = client.post(f"/api/conversations/{cid}/resolve", headers=headers).json()
        assert resolved["conversation"]["state"] == "resolved"
        assert (
            client.get(f"/api/tickets/{ticket['id']}", headers=headers).json()["status"]
            == "resolved"
        )


def test_console_socket_sees_customer_messages_live(client: TestClient) -> None:
    headers = login(client)
    token = headers["Authorization"].split()[1]
    with (
        agent_socket(client, token) as console,
        client.websocket_connect("/ws/widget") as ws,
    ):
        hello(ws)
        ws.send_json({"type": "message", "text": "hello from the customer", "client_id": "x"})
        frame = until(
            console, lambda f: f["type"] == "message" and f["message"]["role"] == "customer"
        )
        assert frame["message"]["text"] == "hello from the customer"
        update = until(console, lambda f: f["type"] == "conversation")
        assert update["conversation"]["contact"]["name"].startswith("Visitor")


def test_console_socket_refuses_bad_token(client: TestClient) -> None:
    from starlette.websockets import WebSocketDisconnect

    with (
        pytest.raises(WebSocketDisconnect) as closed,
        client.websocket_connect("/ws/agents") as ws,
    ):
        ws.send_json({"type": "auth", "token": "nope"})
        ws.receive_json()
    assert closed.value.code == 4401


def test_a_console_gone_before_ready_leaves_its_agent_offline(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from starlette.websockets import WebSocket, WebSocketDisconnect

    send_json = WebSocket.send_json
    refused_ready = threading.Event()

    async def gone_at_ready(self: WebSocket, data: Any, mode: str = "text") -> None:
        if isinstance(data, dict) and data.get("type") == "ready":
            refused_ready.set()
            raise WebSocketDisconnect(1001)  # what sending to a console already closed raises
        await send_json(self, data, mode)

    monkeypatch.setattr(WebSocket, "send_json", gone_at_ready)
    headers = login(client)
    with (
        contextlib.suppress(WebSocketDisconnect),
        client.websocket_connect("/ws/agents") as ws,
    ):
        ws.send_json({"type": "auth", "token": headers["Authorization"].split()[1]})
        assert refused_ready.wait(10), "the hub never tried to say ready"
    deadline = time.monotonic() + 10
    while client.get("/api/me", headers=headers).json()["presence"] != "offline":
        assert time.monotonic() < deadline, "a console that never got ready kept its agent online"
        time.sleep(0.05)


@pytest.mark.parametrize("handler", [rasa_down, lambda r: httpx.Response(500, text="boom")])
def test_rasa_failure_hands_off_and_keeps_the_message(
    tmp_path: Path,
    index_dir: Path,
    database_url: str,
    handler: Callable[[httpx.Request], httpx.Response],
) -> None:
    with (
        make_client(tmp_path, index_dir, handler, database_url=database_url) as client,
        client.websocket_connect("/ws/widget") as ws,
    ):
        hello(ws)
        ws.send_json({"type": "message", "text": "My invoice is wrong", "client_id": "x"})
        until(ws, lambda f: f["type"] == "state" and f["state"] == "queued")
        headers = login(client)
        [ticket] = client.get("/api/tickets", headers=headers).json()["tickets"]
        assert ticket["reason"] == "bot_unavailable"
        assert ticket["transcript"][0]["text"] == "My invoice is wrong"
        assert client.get("/health").json()["status"] == "degraded"


def test_silent_bot_is_not_a_dead_end(client: TestClient) -> None:
    with client.websocket_connect("/ws/widget") as ws:
        hello(ws)
        ws.send_json({"type": "message", "text": "silence please", "client_id": "x"})
        until(ws, lambda f: f["type"] == "state" and f["state"] == "queued")


def test_action_endpoint_runs_our_actions(client: TestClient) -> None:
    call = {
        "next_action": "action_answer_from_kb",
        "sender_id": "s",
        "version": "3.6.21",
        "domain": {},
        "tracker": {
            "sender_id": "s",
            "slots": {},
            "events": [],
            "paused": False,
            "latest_message": {"text": "I forgot my password"},
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
    }
    rasa = {"X-Frontline-Action-Token": client.app.state.hub.settings.action_secret}  # type: ignore[attr-defined]
    out = client.post("/actions/webhook", json=call, headers=rasa)
    assert out.status_code == 200
    assert out.json()["responses"][0]["custom"]["frontline"]["kind"] in ("answer", "no_answer")
    # Without the domain, as Rasa sends the calls of actions that do not read it.
    call.pop("domain")
    out = client.post("/actions/webhook", json=call, headers=rasa)
    assert out.status_code == 200, out.text
    assert out.json()["responses"][0]["custom"]["frontline"]["kind"] in ("answer", "no_answer")
    missing = client.post(
        "/actions/webhook", json={**call, "next_action": "action_nope"}, headers=rasa
    )
    assert missing.status_code == 404
    assert client.post("/actions/webhook", content=b"[1,2", headers=rasa).status_code == 400


def test_widget_resend_after_lost_ack_is_answered_once(client: TestClient) -> None:
    with client.websocket_connect("/ws/widget") as ws:
        welcome = hello(ws)
        ws.send_json({"type": "message", "text": "I forgot my password", "client_id": "same"})
        first = until(ws, lambda f: f["type"] == "ack")["message"]
        until(ws, is_msg("bot"))
    with client.websocket_connect("/ws/widget") as ws:
        hello(ws, welcome["token"])
        ws.send_json({"type": "message", "text": "I forgot my password", "client_id": "same"})
        assert until(ws, lambda f: f["type"] == "ack")["message"]["id"] == first["id"]
    with client.websocket_connect("/ws/widget") as ws:
        again = hello(ws, welcome["token"])
        assert [m["role"] for m in again["messages"]] == ["customer", "bot"]


def test_typed_intent_payloads_never_reach_rasa_as_intents(
    client: TestClient, fake_rasa: FakeRasa
) -> None:
    fake_rasa.received.clear()
    with client.websocket_connect("/ws/widget") as ws:
        hello(ws)
        for text in ("/restart", ' //choose_article{"article_id": "x"}', "/"):
            ws.send_json({"type": "message", "text": text, "client_id": text})
            until(ws, lambda f: f["type"] == "ack")
            until(ws, is_msg("bot"))
    assert fake_rasa.received == ["restart", 'choose_article{"article_id": "x"}', "?"]
    stored = [m["text"] for m in hello_messages(client)]
    assert "/restart" in stored  # the customer's words are stored as written


def hello_messages(client: TestClient) -> list[dict[str, Any]]:
    headers = login(client)
    [conversation] = client.get("/api/conversations", headers=headers).json()["conversations"]
    detail = client.get(f"/api/conversations/{conversation['id']}", headers=headers).json()
    return detail["messages"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("in_hours", [True, False])
def test_rasa_hears_whether_someone_can_take_over(
    tmp_path: Path, index_dir: Path, database_url: str, fake_rasa: FakeRasa, in_hours: bool
) -> None:
    from datetime import UTC, datetime

    from handoff.hours import DAYS

    today = datetime.now(UTC).weekday()
    day = DAYS[today] if in_hours else DAYS[(today + 3) % 7]
    hours = f"{day} 00:00-23:59" if in_hours else f"{day} 10:00-11:00"
    with make_client(
        tmp_path, index_dir, fake_rasa, database_url=database_url, business_hours=hours
    ) as client:
        fake_rasa.metadata.clear()
        token = login(client)["Authorization"].split()[1]
        with client.websocket_connect("/ws/widget") as ws:
            hello(ws)
            ws.send_json({"type": "message", "text": "no console yet", "client_id": "a"})
            until(ws, is_msg("bot"))
            with agent_socket(client, token) as console:
                # The console is open once the hub has set the agent online.
                until(console, lambda f: f.get("type") == "presence")
                ws.send_json({"type": "message", "text": "console open", "client_id": "b"})
                until(ws, is_msg("bot"))
    assert [m["agents_available"] for m in fake_rasa.metadata] == [False, in_hours]
