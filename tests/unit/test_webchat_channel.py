"""Rasa's socket.io channel (for rasa-webchat), with a real socket.io client against the hub
under uvicorn, and Rasa replaced by the fake REST channel of tests.fakes.rasa."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from api.app import create_app
from api.hub import KnowledgeHolder
from api.rasa_client import RasaClient
from api.routes.socketio_channel import bot_uttered, markdown_text
from api.security import WS_MAX_SIZE
from api.settings import Settings
from retrieval.search import KnowledgeBase
from tests.fakes import HashingEncoder
from tests.fakes.stack import free_port
from tests.fakes.webchat_client import (
    ANSWER,
    FEEDBACK,
    Webchat,
    WebchatRasa,
    api,
    webchat_conversations,
)

QUICK_REPLIES = [{"content_type": "text", **b} for b in FEEDBACK]


@pytest.fixture
def webchat_rasa() -> WebchatRasa:
    return WebchatRasa()


@pytest.fixture
def hub_url(
    tmp_path: Path, index_dir: Path, database_url: str, webchat_rasa: WebchatRasa
) -> Iterator[str]:
    """The hub on fake Rasa, served by uvicorn in a thread (socket.io needs a real server)."""
    settings = Settings(
        var_dir=tmp_path,
        index_dir=index_dir,
        embedding_model=HashingEncoder.name,
        database_url=database_url,
        port=free_port(),
    )
    knowledge = KnowledgeHolder(KnowledgeBase.open(index_dir, HashingEncoder()))
    rasa = RasaClient("http://rasa.test", timeout=5, transport=httpx.MockTransport(webchat_rasa))
    config = uvicorn.Config(
        create_app(settings, knowledge=knowledge, rasa=rasa),
        host="127.0.0.1",
        port=settings.port,
        log_level="warning",
        ws_max_size=WS_MAX_SIZE,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the hub did not start"
        time.sleep(0.05)
    webchat_rasa.clear()
    yield f"http://127.0.0.1:{settings.port}"
    server.should_exit = True
    thread.join(timeout=10)


def customer_texts(agents: httpx.Client, conversation_id: int) -> list[str]:
    detail = agents.get(f"/api/conversations/{conversation_id}").json()
    return [m["text"] for m in detail["messages"] if m["role"] == "customer"]


def wait_for(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_markdown_is_escaped_and_sources_become_links() -> None:
    hostile = "<img src=x onerror=alert(1)> [click](javascript:alert(2)) **&amp;**\nline 2"
    assert markdown_text(hostile) == (
        "&lt;img src=x onerror=alert\\(1\\)\\> \\[click\\]\\(javascript:alert\\(2\\)\\) "
        "\\*\\*&amp;amp;\\*\\*  \nline 2"
    )
    message = {
        "role": "bot",
        "text": "Use 2FA.",
        "sources": [
            {"title": "Two-factor (2FA)", "url": "https://help.example/a b(c)"},
            {"title": "Bad", "url": "javascript:alert(1)"},
        ],
        "buttons": [*FEEDBACK, {"title": 3}],
    }
    assert bot_uttered(message) == {
        "text": "Use 2FA\\.\n\nSource: [Two\\-factor \\(2FA\\)](https://help.example/a%20b%28c%29)",
        "quick_replies": QUICK_REPLIES,
    }
    agent = {"role": "agent", "author": "Dana", "text": "Hi", "sources": [], "buttons": []}
    assert bot_uttered(agent) == {"text": "**Dana:** Hi"}


def test_session_answer_quick_reply_and_resume(hub_url: str, webchat_rasa: WebchatRasa) -> None:
    chat = Webchat(hub_url)
    session_id = chat.session(None)
    assert isinstance(session_id, str) and len(session_id) >= 24
    chat.say("/get_started")  # rasa-webchat's initPayload: ignored, not stored
    chat.say("I forgot my password")
    assert chat.next() == {"text": ANSWER}
    assert chat.next() == {"text": "Did this help?", "quick_replies": QUICK_REPLIES}
    chat.say("/helpful")  # a quick reply comes back as its payload
    assert chat.next() == {"text": "Glad it helped\\!"}
    assert webchat_rasa.received == ["I forgot my password", "/helpful"]
    chat.close()

    # A new page: rasa-webchat sends the stored session id, and the conversation goes on.
    chat = Webchat(hub_url, transport="polling")
    assert chat.session(session_id) == session_id
    chat.say("/helpful")  # no longer offered: refused, not sent to Rasa
    assert chat.next() == {
        "text": "That choice is not offered any more; please type your question instead\\."
    }
    chat.say("How do I reset my password?")
    assert chat.next() == {"text": ANSWER}
    chat.close()

    agents = api(hub_url)
    [conversation] = webchat_conversations(agents)
    assert customer_texts(agents, conversation["id"]) == [
        "I forgot my password",
        "Yes",
        "How do I reset my password?",
    ]


def test_unknown_or_widget_session_ids_start_a_new_conversation(hub_url: str) -> None:
    from websockets.sync.client import connect

    with connect(hub_url.replace("http://", "ws://") + "/ws/widget") as widget:
        widget.send(json.dumps({"type": "hello", "token": None}))
        widget_token = json.loads(widget.recv(timeout=10))["token"]
    chat = Webchat(hub_url)
    first = chat.session("made-up-by-the-client")
    assert first != "made-up-by-the-client"
    # A widget conversation's token is not a webchat session: a new conversation starts.
    second = chat.session(widget_token)
    assert second not in (first, widget_token)
    chat.close()
    with httpx.Client(base_url=hub_url) as http:
        assert http.get("/health").status_code == 200  # the app still serves the rest
    agents = api(hub_url)
    assert webchat_conversations(agents) == []  # nothing is stored before a first message


def test_handoff_agent_reply_and_catch_up_after_reconnect(
    hub_url: str, webchat_rasa: WebchatRasa
) -> None:
    agents = api(hub_url)
    chat = Webchat(hub_url)
    session_id = chat.session(None)
    chat.say("I want to talk to a person")
    assert chat.next() == {"text": "Of course\\."}
    assert "queue" in chat.next()["text"]  # the hand-off's notice

    [conversation] = webchat_conversations(agents)
    assert conversation["state"] == "queued" and conversation["ticket"]["number"] == 1001
    cid = conversation["id"]
    assert agents.post(f"/api/conversations/{cid}/takeover").status_code == 200
    assert chat.next() == {"text": "Dana \\(demo agent\\) joined the conversation\\."}
    hostile = "[click](javascript:alert(1)) <img src=x>"
    agents.post(f"/api/conversations/{cid}/messages", json={"text": hostile})
    assert chat.next() == {
        "text": "**Dana \\(demo agent\\):** "
        "\\[click\\]\\(javascript:alert\\(1\\)\\) &lt;img src=x\\>"
    }
    chat.say("Thanks")  # goes to the agent, not to Rasa
    wait_for(lambda: customer_texts(agents, cid)[-1] == "Thanks")
    chat.close()

    # Written while the customer was changing pages: delivered when the chat reconnects.
    agents.post(f"/api/conversations/{cid}/messages", json={"text": "Anything else?"})
    chat = Webchat(hub_url)
    assert chat.session(session_id) == session_id
    assert chat.next() == {"text": "**Dana \\(demo agent\\):** Anything else?"}
    chat.close()
    assert customer_texts(agents, cid) == ["I want to talk to a person", "Thanks"]
    assert webchat_rasa.received == ["I want to talk to a person"]


def test_custom_data_reaches_rasa_as_metadata_and_sets_the_language(
    hub_url: str, webchat_rasa: WebchatRasa
) -> None:
    chat = Webchat(hub_url)
    chat.session(None)
    site_data = {"language": "fr-CA", "plan": "pro", "conversation_id": 999999}
    chat.say("I forgot my password", site_data)
    assert chat.next() == {"text": ANSWER}
    chat.next()  # "Did this help?"
    [metadata] = webchat_rasa.metadata
    assert metadata["plan"] == "pro" and metadata["language"] == "fr-CA"
    # The hub's own keys win over the site's: a page cannot point the bot elsewhere.
    agents = api(hub_url)
    [conversation] = webchat_conversations(agents)
    assert metadata["conversation_id"] == conversation["id"] != 999999
    assert conversation["language"] == "fr"  # what routing matches teams' languages against

    # Metadata that is too big or not an object is dropped; the message is not.
    chat.say("How do I reset my password?", {"blob": "x" * 5000})
    assert chat.next() == {"text": ANSWER}
    chat.next()
    chat.say("I forgot my password", "not json")
    assert chat.next() == {"text": ANSWER}
    chat.close()
    hub_keys = {"conversation_id", "message_id", "agents_available", "contact_email", "language"}
    hub_keys |= {"conversation_language"}  # the bot answers in it (bot/languages.py)
    assert [set(m) for m in webchat_rasa.metadata] == [
        hub_keys | {"plan"},
        hub_keys,
        hub_keys,
    ]
    assert customer_texts(agents, conversation["id"]) == [
        "I forgot my password",
        "How do I reset my password?",
        "I forgot my password",
    ]
