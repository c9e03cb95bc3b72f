"""The widget socket's visitor tokens (signed) and signed identities, on fake Rasa.

A site signs its user id with FRONTLINE_IDENTITY_SECRET (hex HMAC-SHA256); the hub verifies
it and files the conversation under that user's contact. See docs/protocol.md.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession

from api.settings import Settings, load_or_create_secret
from api.widget_auth import sign_token, verify_token
from bot.actions import payloads
from tests.fakes.hub_client import agent_socket, is_msg, login, make_client, until
from tests.fakes.rasa import FakeRasa, Item

SITE_SECRET = "site-secret-for-tests"


def user_hash(user_id: str, secret: str = SITE_SECRET) -> str:
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


@pytest.fixture
def client(
    tmp_path: Path, index_dir: Path, database_url: str, fake_rasa: FakeRasa
) -> Iterator[TestClient]:
    with make_client(
        tmp_path, index_dir, fake_rasa, database_url=database_url, identity_secret=SITE_SECRET
    ) as c:
        yield c


def hello(ws: WebSocketTestSession, token: str | None = None, **extra: Any) -> dict[str, Any]:
    """The hub's answer to a hello: the welcome, or the error."""
    ws.send_json({"type": "hello", "token": token, **extra})
    return until(ws, lambda f: f["type"] in ("welcome", "error"))


def identity(user_id: str = "u-42", **fields: Any) -> dict[str, Any]:
    return {"user_id": user_id, "user_hash": user_hash(user_id), **fields}


def say(ws: WebSocketTestSession, text: str, client_id: str) -> dict[str, Any]:
    ws.send_json({"type": "message", "text": text, "client_id": client_id})
    return until(ws, lambda f: f["type"] == "ack")


def contact_of(client: TestClient, conversation_id: int) -> dict[str, Any]:
    headers = login(client)
    detail = client.get(f"/api/conversations/{conversation_id}", headers=headers).json()
    contact_id = detail["conversation"]["contact"]["id"]
    record = client.get(f"/api/contacts/{contact_id}", headers=headers)
    assert record.status_code == 200, record.text
    return record.json()  # type: ignore[no-any-return]


def test_a_verified_identity_files_the_conversation_under_its_contact(client: TestClient) -> None:
    with client.websocket_connect("/ws/widget") as ws:
        welcome = hello(ws, identity=identity(name="Ann Lee", email="ann@example.com"))
        assert welcome["type"] == "welcome", welcome
        assert welcome["contact"] == {
            "name": "Ann Lee",
            "email": "ann@example.com",
            "verified": True,
        }
        say(ws, "I forgot my password", "c1")
        until(ws, is_msg("bot"))
    record = contact_of(client, welcome["conversation"]["id"])
    assert record["name"] == "Ann Lee" and record["email"] == "ann@example.com"
    assert record["identities"] == [{"channel": "web", "external_id": "u-42"}]
    assert [c["id"] for c in record["conversations"]] == [welcome["conversation"]["id"]]


def test_a_returning_user_without_a_token_resumes_their_open_conversation(
    client: TestClient,
) -> None:
    with client.websocket_connect("/ws/widget") as ws:
        first = hello(ws, identity=identity())
        say(ws, "I forgot my password", "c1")
        until(ws, is_msg("bot"))
    # Another browser, no stored token: the same conversation, with its history.
    with client.websocket_connect("/ws/widget") as ws:
        again = hello(ws, identity=identity())
    assert again["conversation"]["id"] == first["conversation"]["id"]
    assert [m["role"] for m in again["messages"]] == ["customer", "bot"]
    # Once it is resolved, the next visit starts a new one under the same contact.
    cid = first["conversation"]["id"]
    with client.websocket_connect("/ws/widget") as ws:
        hello(ws, first["token"], identity=identity())
        say(ws, "I want to talk to a person", "c2")
        until(ws, lambda f: f["type"] == "state" and f["state"] == "queued")
    headers = login(client)
    assert client.post(f"/api/conversations/{cid}/takeover", headers=headers).status_code == 200
    assert client.post(f"/api/conversations/{cid}/resolve", headers=headers).status_code == 200
    with client.websocket_connect("/ws/widget") as ws:
        fresh = hello(ws, identity=identity())
    assert fresh["conversation"]["id"] != cid and fresh["messages"] == []
    record = contact_of(client, fresh["conversation"]["id"])
    assert sorted(c["id"] for c in record["conversations"]) == [cid, fresh["conversation"]["id"]]


@pytest.mark.parametrize(
    "bad",
    [
        {"user_id": "u-42", "user_hash": user_hash("u-42", "another site's secret")},
        {"user_id": "u-42", "user_hash": user_hash("u-43")},
        {"user_id": "u-42"},
        {"user_id": "u-42", "user_hash": "not hex"},
        {"user_id": "", "user_hash": user_hash("")},
        "u-42",
    ],
)
def test_unsigned_or_wrongly_signed_identities_are_refused(client: TestClient, bad: Any) -> None:
    with client.websocket_connect("/ws/widget") as ws:
        refused = hello(ws, identity=bad)
        assert refused["type"] == "error" and refused["code"] == "identity", refused
        assert "identity" in refused["error"]
        # The socket stays open; a hello without the identity is an anonymous visitor.
        welcome = hello(ws)
        assert welcome["type"] == "welcome" and welcome["contact"]["verified"] is False
    headers = login(client)
    contacts = client.get("/api/contacts?q=u-42", headers=headers).json()["contacts"]
    assert contacts == []  # nothing was attached to (or created for) user u-42


def test_identities_are_refused_when_the_hub_has_no_secret(
    tmp_path: Path, index_dir: Path, database_url: str, fake_rasa: FakeRasa
) -> None:
    with (
        make_client(tmp_path, index_dir, fake_rasa, database_url=database_url) as client,
        client.websocket_connect("/ws/widget") as ws,
    ):
        refused = hello(ws, identity=identity())
        assert refused["type"] == "error" and "FRONTLINE_IDENTITY_SECRET" in refused["error"]


def test_an_anonymous_conversation_joins_the_user_who_signs_in(client: TestClient) -> None:
    with client.websocket_connect("/ws/widget") as ws:
        anonymous = hello(ws)
        ack = say(ws, "I forgot my password", "c1")
        until(ws, is_msg("bot"))
    with client.websocket_connect("/ws/widget") as ws:
        signed_in = hello(ws, anonymous["token"], identity=identity(name="Ann"))
    assert signed_in["conversation"]["id"] == ack["message"]["conversation_id"]
    record = contact_of(client, signed_in["conversation"]["id"])
    assert record["name"] == "Ann" and record["identities"][0]["external_id"] == "u-42"


def test_a_signed_in_users_token_does_not_open_their_conversation_for_others(
    client: TestClient,
) -> None:
    with client.websocket_connect("/ws/widget") as ws:
        ann = hello(ws, identity=identity("ann"))
    with client.websocket_connect("/ws/widget") as ws:
        # Signed out on a shared computer: the stored token alone is not enough.
        refused = hello(ws, ann["token"])
        assert refused["type"] == "error" and refused["code"] == "token"
        # Bob signs in on that computer: he gets his own conversation, not Ann's.
        bob = hello(ws, ann["token"], identity=identity("bob"))
        assert bob["type"] == "welcome"
        assert bob["conversation"]["id"] != ann["conversation"]["id"]
    assert contact_of(client, ann["conversation"]["id"])["identities"] == [
        {"channel": "web", "external_id": "ann"}
    ]


def test_tokens_are_signed_and_a_bad_signature_is_refused(client: TestClient) -> None:
    with client.websocket_connect("/ws/widget") as ws:
        welcome = hello(ws)
    token = welcome["token"]
    public, _, signature = token.rpartition(".")
    assert public and signature
    with client.websocket_connect("/ws/widget") as ws:
        for forged in (public, public + ".", f"{public}.{'A' * len(signature)}", token + "x"):
            refused = hello(ws, forged)
            assert refused["type"] == "error" and refused["code"] == "token", forged
            assert "unknown token" in refused["error"]
        assert hello(ws, token)["conversation"]["id"] == welcome["conversation"]["id"]


def test_the_signing_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "var" / "secret_key"
    key = load_or_create_secret(path)
    assert len(key) >= 32 and path.read_bytes().strip() == key
    assert path.stat().st_mode & 0o077 == 0  # readable by the hub's user only
    load_or_create_secret.cache_clear()
    assert load_or_create_secret(path) == key
    token = sign_token(key, "abc")
    assert verify_token(key, token) == "abc" and verify_token(b"other", token) is None
    configured = Settings(var_dir=tmp_path / "elsewhere", secret_key="configured")
    assert configured.signing_key == b"configured"
    assert not (tmp_path / "elsewhere" / "secret_key").exists()


def test_language_typing_and_ping(client: TestClient) -> None:
    headers = login(client)
    token = headers["Authorization"].split()[1]
    with (
        agent_socket(client, token) as console,
        client.websocket_connect("/ws/widget") as ws,
    ):
        welcome = hello(ws, language="de-CH")
        assert welcome["conversation"]["language"] == "de"
        ws.send_json({"type": "ping"})
        assert until(ws, lambda f: f["type"] == "pong") == {"type": "pong"}
        # Nothing is stored before the first message, so there is no one to tell of typing.
        assert welcome["conversation"]["id"] is None
        # While the bot works on a message the widget hears it "typing", then that it stopped.
        ws.send_json({"type": "message", "text": "I forgot my password", "client_id": "c1"})
        frames = []
        while not frames or frames[-1]["type"] != "form":
            frames.append(ws.receive_json())
        cid = next(f for f in frames if f["type"] == "ack")["message"]["conversation_id"]
        ws.send_json({"type": "typing"})
        typing = until(console, lambda f: f["type"] == "typing")
        assert typing == {"type": "typing", "conversation_id": cid, "role": "customer"}
        seen = [
            (f["type"], f.get("active", f.get("message", {}).get("role")))
            for f in frames
            if f["type"] in ("typing", "message")
        ]
        assert seen.index(("typing", True)) < seen.index(("message", "bot"))
        assert seen.index(("message", "bot")) < seen.index(("typing", False))
        assert frames[-1] == {"type": "form", "form": None}
        # The acknowledgement says someone can take the conversation: the console is open.
        ack = next(f for f in frames if f["type"] == "ack")
        assert ack["agents_available"] is True
    with client.websocket_connect("/ws/widget") as ws:
        assert hello(ws, language="<script>")["conversation"]["language"] == "en"


class OfflineRasa(FakeRasa):
    """Nobody online: Rasa's email form (the bot's request carries the contact-form marker)."""

    def reply(self, sender: str, message: str) -> list[Item]:
        if "person" not in message:
            return super().reply(sender, message)
        return [
            {"recipient_id": sender, "text": "Nobody from our team is online right now."},
            {"recipient_id": sender, "custom": payloads.contact_form()},
            {"recipient_id": sender, "text": "What email address should our team reply to?"},
        ]


def test_the_bot_collecting_an_email_shows_the_contact_form(
    tmp_path: Path, index_dir: Path, database_url: str
) -> None:
    with make_client(tmp_path, index_dir, OfflineRasa(), database_url=database_url) as client:
        with client.websocket_connect("/ws/widget") as ws:
            welcome = hello(ws)
            assert welcome["conversation"]["agents_available"] is False
            assert welcome["conversation"]["form"] is None
            ack = say(ws, "I want to talk to a person", "c1")
            assert ack["agents_available"] is False
            assert until(ws, lambda f: f["type"] == "form") == {"type": "form", "form": "contact"}
        with client.websocket_connect("/ws/widget") as ws:
            again = hello(ws, welcome["token"])
            assert again["conversation"]["form"] == "contact"
            # A knowledge-base answer means the bot has moved on.
            say(ws, "I forgot my password", "c2")
            assert until(ws, lambda f: f["type"] == "form") == {"type": "form", "form": None}
