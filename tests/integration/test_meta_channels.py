"""WhatsApp, Messenger and Instagram customers through the real hub and the real Rasa server,
against the local fake Graph API (tests/fakes/graph_api.py): knowledge-base answers with
their source, buttons and their presses, delivery statuses, hand-offs and agents' replies,
the 24-hour window (refused replies, the template), Messenger's HUMAN_AGENT tag, Instagram
story replies kept as notes, and forged requests refused."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from handoff.models import Message
from handoff.states import MessageRole
from retrieval.sources import load_articles
from tests.fakes.channel_checks import conversation, eventually
from tests.fakes.graph_api import (
    FakeGraphApi,
    messaging,
    messenger_text,
    post_webhook,
    whatsapp_button,
    whatsapp_status,
    whatsapp_text,
)
from tests.fakes.stack import Stack
from tests.fakes.widget_client import agent_headers

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("agent_online")]
SECRET = "integration-meta-app-secret"  # tests/integration/conftest.py writes it


def texts(fake: FakeGraphApi, product: str, to: str) -> list[str]:
    return [c.text for c in fake.sent(product, to)]


def age_customer_messages(stack: Stack, conversation_id: int, hours: float) -> None:
    """The customer wrote `hours` earlier than they did: the clock of the window moves."""
    engine = create_engine(stack.settings.database_url)
    with Session(engine) as session, session.begin():
        for message in session.scalars(
            select(Message).where(
                Message.conversation_id == conversation_id, Message.role == MessageRole.CUSTOMER
            )
        ):
            message.created_at = message.created_at - timedelta(hours=hours)
    engine.dispose()


def test_whatsapp_answer_buttons_statuses_and_a_repeat_stored_once(
    stack: Stack, fake_graph: FakeGraphApi
) -> None:
    number = "15550100001"
    notification = whatsapp_text(number, "How do I reset my password?", name="Wanda")
    assert post_webhook(stack.hub_url, "whatsapp", notification, SECRET).status_code == 200
    article = next(
        a
        for a in load_articles(stack.settings.kb_dir)
        if a.id == "reset-password" and a.lang == "en"
    )
    answer = eventually(
        lambda: next((t for t in texts(fake_graph, "whatsapp", number) if article.title in t), None)
    )
    assert f"{article.title}: {stack.link(article)}" in answer
    # Meta delivers at least once: the same notification again is stored once.
    for _ in range(2):
        assert post_webhook(stack.hub_url, "whatsapp", notification, SECRET).status_code == 200
    time.sleep(2)
    detail = conversation(stack, "whatsapp", "Wanda")
    asked = [m["text"] for m in detail["messages"] if m["role"] == "customer"]
    assert asked == ["How do I reset my password?"]
    assert detail["contact"]["phone"] == f"+{number}"
    # The "did this help?" choice went as reply buttons; a press is a choice.
    pressed = [
        c.body for c in fake_graph.sent("whatsapp", number) if c.body.get("type") == "interactive"
    ]
    assert pressed and pressed[-1]["interactive"]["type"] == "button"
    first = pressed[-1]["interactive"]["action"]["buttons"][0]["reply"]
    press = whatsapp_button(number, first["id"], first["title"], name="Wanda")
    assert post_webhook(stack.hub_url, "whatsapp", press, SECRET).status_code == 200

    def customer_messages() -> list[dict[str, Any]]:
        messages = conversation(stack, "whatsapp", "Wanda")["messages"]
        return [m for m in messages if m["role"] == "customer"]

    eventually(lambda: len(customer_messages()) == 2)

    def all_bot_replies_sent() -> bool:
        messages = conversation(stack, "whatsapp", "Wanda")["messages"]
        bots = [m for m in messages if m["role"] == "bot"]
        return (
            bool(bots)
            and messages[-1]["role"] == "bot"
            and all((m["delivery"] or {}).get("status") == "sent" for m in bots)
        )

    # The bot answers the press too: report on every message only once all have gone out.
    eventually(all_bot_replies_sent)
    # Statuses for the wamids our sends got back: delivered, then read, shown on each
    # message (a message sent in parts carries the id of its last part).
    for call in fake_graph.sent("whatsapp", number):
        for status in ("delivered", "read"):
            report = whatsapp_status(str(call.answer_id), status, number)
            assert post_webhook(stack.hub_url, "whatsapp", report, SECRET).status_code == 200

    def bot_statuses() -> set[str]:
        messages = conversation(stack, "whatsapp", "Wanda")["messages"]
        return {m["delivery"]["status"] for m in messages if m["role"] == "bot" and m["delivery"]}

    eventually(lambda: bot_statuses() == {"read"})


def test_whatsapp_hand_off_reply_then_the_window_closes_and_the_template_goes(
    stack: Stack, fake_graph: FakeGraphApi
) -> None:
    number = "15550100002"
    hand_off = whatsapp_text(number, "I want to talk to a person", name="Xavi")
    assert post_webhook(stack.hub_url, "whatsapp", hand_off, SECRET).status_code == 200
    eventually(lambda: any("ticket #" in t for t in texts(fake_graph, "whatsapp", number)))
    detail = conversation(stack, "whatsapp", "Xavi")
    assert detail["conversation"]["state"] == "queued"
    assert detail["channel"]["window_open"] is True and detail["channel"]["window_hours"] == 24
    headers = agent_headers(stack)
    cid = detail["conversation"]["id"]
    base = f"{stack.hub_url}/api/conversations/{cid}"
    assert httpx.post(f"{base}/takeover", headers=headers).status_code == 200
    reply = httpx.post(f"{base}/messages", json={"text": "Hi Xavi, Dana here."}, headers=headers)
    assert reply.status_code == 200
    eventually(lambda: "Hi Xavi, Dana here." in texts(fake_graph, "whatsapp", number))

    age_customer_messages(stack, cid, hours=25)
    detail = conversation(stack, "whatsapp", "Xavi")
    assert detail["channel"]["window_open"] is False
    assert detail["channel"]["limits"][0] == "the 24-hour window has closed: send the template"
    before = len(fake_graph.sent("whatsapp", number))
    refused = httpx.post(f"{base}/messages", json={"text": "Still there?"}, headers=headers)
    assert refused.status_code == 409
    assert refused.json()["detail"] == "the 24-hour window has closed: send the template"
    template = httpx.post(f"{base}/template", headers=headers)
    assert template.status_code == 200
    sent = eventually(
        lambda: [c for c in fake_graph.sent("whatsapp", number) if c.body["type"] == "template"]
    )
    assert sent[0].body["template"] == {"name": "reopen_chat", "language": {"code": "en_US"}}
    assert len(fake_graph.sent("whatsapp", number)) == before + 1  # the refused reply never left


def test_messenger_answer_with_quick_replies_and_human_agent_tag_after_24_hours(
    stack: Stack, fake_graph: FakeGraphApi
) -> None:
    psid = "PSID-200001"
    question = messenger_text(psid, "How do I reset my password?")
    assert post_webhook(stack.hub_url, "messenger", question, SECRET).status_code == 200
    article = next(
        a
        for a in load_articles(stack.settings.kb_dir)
        if a.id == "reset-password" and a.lang == "en"
    )
    eventually(lambda: any(article.title in t for t in texts(fake_graph, "messenger", psid)))
    eventually(
        lambda: any(
            "quick_replies" in c.body["message"] for c in fake_graph.sent("messenger", psid)
        )
    )
    assert {c.body["messaging_type"] for c in fake_graph.sent("messenger", psid)} == {"RESPONSE"}

    person = messenger_text(psid, "I want to talk to a person")
    assert post_webhook(stack.hub_url, "messenger", person, SECRET).status_code == 200
    eventually(lambda: any("ticket #" in t for t in texts(fake_graph, "messenger", psid)))
    detail = conversation(stack, "messenger", f"messenger user {psid}")
    headers = agent_headers(stack)
    cid = detail["conversation"]["id"]
    base = f"{stack.hub_url}/api/conversations/{cid}"
    assert httpx.post(f"{base}/takeover", headers=headers).status_code == 200
    age_customer_messages(stack, cid, hours=30)
    reply = httpx.post(f"{base}/messages", json={"text": "Sorry for the wait!"}, headers=headers)
    assert reply.status_code == 200
    late = eventually(
        lambda: [c for c in fake_graph.sent("messenger", psid) if c.text == "Sorry for the wait!"]
    )
    assert late[0].body["messaging_type"] == "MESSAGE_TAG" and late[0].body["tag"] == "HUMAN_AGENT"
    # After 7 days nothing may go: the reply is refused before it is queued.
    age_customer_messages(stack, cid, hours=24 * 7)
    closed = httpx.post(f"{base}/messages", json={"text": "Hello?"}, headers=headers)
    assert closed.status_code == 409 and "7-day window has closed" in closed.json()["detail"]


def test_instagram_story_reply_is_a_note_and_a_question_is_answered(
    stack: Stack, fake_graph: FakeGraphApi
) -> None:
    igsid = "IGSID-300001"
    story = messaging(
        igsid,
        {
            "message": {
                "mid": "ig-story-1",
                "text": "love this",
                "reply_to": {"story": {"id": "st-1", "url": "https://cdn.example/story.jpg"}},
            }
        },
        object_name="instagram",
    )
    assert post_webhook(stack.hub_url, "instagram", story, SECRET).status_code == 200
    detail = conversation(stack, "instagram", f"instagram user {igsid}")
    [note] = [m for m in detail["messages"] if m["role"] == "customer"]
    assert note["text"] == "(replied to our story) love this"
    question = messenger_text(igsid, "How do I reset my password?", object_name="instagram")
    assert post_webhook(stack.hub_url, "instagram", question, SECRET).status_code == 200
    article = next(
        a
        for a in load_articles(stack.settings.kb_dir)
        if a.id == "reset-password" and a.lang == "en"
    )
    eventually(lambda: any(article.title in t for t in texts(fake_graph, "instagram", igsid)))
    # Only the question was answered: the note was not put to the bot.
    time.sleep(1)
    bot = [m for m in conversation(stack, "instagram", f"instagram user {igsid}")["messages"]]
    assert sum(m["role"] == "customer" for m in bot) == 2


def test_verification_and_forged_notifications(stack: Stack) -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": "wa-verify", "hub.challenge": "8675309"}
    ok = httpx.get(f"{stack.hub_url}/channels/whatsapp", params=query)
    assert ok.status_code == 200 and ok.text == "8675309"
    assert ok.headers["content-type"].startswith("text/plain")
    wrong = httpx.get(
        f"{stack.hub_url}/channels/messenger", params={**query, "hub.verify_token": "wa-verify"}
    )
    assert wrong.status_code == 403
    forged = whatsapp_text("15550100009", "forged", name="Mallory")
    assert post_webhook(stack.hub_url, "whatsapp", forged, "not-the-secret").status_code == 401
    assert post_webhook(stack.hub_url, "whatsapp", forged, None).status_code == 401
    headers = agent_headers(stack)
    listed = httpx.get(f"{stack.hub_url}/api/conversations", headers=headers).json()
    assert not [c for c in listed["conversations"] if c["contact"]["name"] == "Mallory"]
