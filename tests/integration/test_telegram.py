"""Telegram customers through the real hub and the real Rasa server, against a local fake of
the Bot API (tests/fakes/telegram_api.py): answers from the knowledge base with their source,
a hand-off and an agent's reply, retries of the same update, a 429, and a blocked user."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from api.channels.render import markdown_to_text
from retrieval.sources import load_articles
from tests.fakes.channel_checks import conversation, eventually
from tests.fakes.paths import ARTIFACTS
from tests.fakes.stack import Stack
from tests.fakes.telegram_api import FakeTelegramApi, callback_update, post_update, text_update
from tests.fakes.widget_client import agent_headers

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("agent_online")]
SECRET = "integration-secret-token"  # tests/integration/conftest.py writes it to channels.yml


def send(stack: Stack, update: dict[str, Any], secret: str | None = SECRET) -> httpx.Response:
    return post_update(stack.hub_url, update, secret)


def texts_to(fake: FakeTelegramApi, chat_id: int) -> list[str]:
    return [str(c.params.get("text", "")) for c in fake.sent(chat_id)]


def test_a_question_is_answered_from_the_knowledge_base_once_however_often_it_arrives(
    stack: Stack, fake_telegram: FakeTelegramApi
) -> None:
    chat = 5001
    update = text_update("How do I reset my password?", chat_id=chat, first_name="Tess")
    assert send(stack, update).status_code == 200
    article = next(
        a
        for a in load_articles(stack.settings.kb_dir)
        if a.id == "reset-password" and a.lang == "en"
    )
    answer = eventually(
        lambda: next((t for t in texts_to(fake_telegram, chat) if article.title in t), None)
    )
    # As plain text: Telegram gets no Markdown, the source's link spelled out.
    assert markdown_to_text(article.lead.split("\n")[0]) in answer
    assert f"{article.title}: {stack.link(article)}" in answer
    # Telegram retries the same update: stored once, answered once.
    for _ in range(2):
        assert send(stack, update).status_code == 200
    time.sleep(2)
    detail = conversation(stack, "telegram", "Tess")
    asked = [m for m in detail["messages"] if m["role"] == "customer"]
    assert [m["text"] for m in asked] == ["How do I reset my password?"]
    assert sum(article.title in t for t in texts_to(fake_telegram, chat)) == 1
    # The "did this help?" choice arrives as an inline keyboard; a press is a choice.
    keyboards = [
        c.params["reply_markup"] for c in fake_telegram.sent(chat) if "reply_markup" in c.params
    ]
    assert keyboards and keyboards[-1]["inline_keyboard"]
    press = callback_update("#0", chat_id=chat)
    assert send(stack, press).status_code == 200
    eventually(lambda: fake_telegram.calls_to("answerCallbackQuery"))

    def customer_messages() -> list[dict[str, Any]]:
        messages = conversation(stack, "telegram", "Tess")["messages"]
        return [m for m in messages if m["role"] == "customer"]

    eventually(lambda: len(customer_messages()) == 2)
    assert customer_messages()[1].get("text")
    detail = conversation(stack, "telegram", "Tess")
    assert all(m["delivery"]["status"] == "sent" for m in detail["messages"] if m["role"] == "bot")


def test_hand_off_agent_reply_and_a_rate_limit_on_the_way(
    stack: Stack, fake_telegram: FakeTelegramApi
) -> None:
    chat = 5002
    assert (
        send(
            stack, text_update("I want to talk to a person", chat_id=chat, first_name="Hal")
        ).status_code
        == 200
    )
    eventually(lambda: any("ticket #" in t for t in texts_to(fake_telegram, chat)))
    detail = conversation(stack, "telegram", "Hal")
    assert detail["conversation"]["state"] == "queued" and detail["ticket"]["channel"] == "telegram"
    assert detail["channel"]["limits"]  # the console says what Telegram cannot do

    headers = agent_headers(stack)
    cid = detail["conversation"]["id"]
    # Telegram's flood limit on the first message after the take-over ("Dana joined"): the
    # outbox waits as told, and the agent's reply queued behind it does not overtake it.
    fake_telegram.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    takeover = httpx.post(f"{stack.hub_url}/api/conversations/{cid}/takeover", headers=headers)
    assert takeover.status_code == 200
    reply = httpx.post(
        f"{stack.hub_url}/api/conversations/{cid}/messages",
        json={"text": "Hi Hal, Dana here. Let me look."},
        headers=headers,
    )
    assert reply.status_code == 200
    eventually(lambda: "Hi Hal, Dana here. Let me look." in texts_to(fake_telegram, chat))
    calls = [
        (c.status, str(c.params.get("text")))
        for c in fake_telegram.calls_to("sendMessage")
        if str(c.params.get("chat_id")) == str(chat)
    ]
    joined = [i for i, (_, text) in enumerate(calls) if "joined the conversation" in text]
    assert [calls[i][0] for i in joined] == [429, 200]
    answered = calls.index((200, "Hi Hal, Dana here. Let me look."))
    assert answered > joined[-1]
    # The customer answers the agent: it goes to people, not to the bot.
    assert (
        send(stack, text_update("Thanks, waiting", chat_id=chat, first_name="Hal")).status_code
        == 200
    )
    eventually(
        lambda: (
            [m["text"] for m in conversation(stack, "telegram", "Hal")["messages"]][-1]
            == "Thanks, waiting"
        )
    )


def test_a_blocked_user_is_shown_in_the_console_and_holds_up_nobody(
    stack: Stack, fake_telegram: FakeTelegramApi
) -> None:
    blocked, other = 5003, 5004
    fake_telegram.block_chat(blocked)
    send(stack, text_update("How do I export my data?", chat_id=blocked, first_name="Bo"))
    send(stack, text_update("How do I export my data?", chat_id=other, first_name="Cy"))
    eventually(lambda: texts_to(fake_telegram, other))
    failed = eventually(
        lambda: [
            m
            for m in conversation(stack, "telegram", "Bo")["messages"]
            if (m.get("delivery") or {}).get("status") == "failed"
        ]
    )
    assert failed[0]["delivery"]["error"] == "the customer blocked the bot"


def test_forged_or_malformed_updates_are_refused_and_store_nothing(stack: Stack) -> None:
    update = text_update("forged", chat_id=5005, first_name="Mallory")
    assert send(stack, update, secret=None).status_code == 401
    assert send(stack, update, secret="wrong").status_code == 401
    bad = httpx.post(
        f"{stack.hub_url}/channels/telegram",
        content=b"{not json",
        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"},
    )
    assert bad.status_code == 400
    huge = httpx.post(
        f"{stack.hub_url}/channels/telegram",
        content=b"x" * (1024 * 1024 + 1),
        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
    )
    assert huge.status_code == 413
    assert httpx.post(f"{stack.hub_url}/channels/nope", content=b"{}").status_code == 404
    headers = agent_headers(stack)
    listed = httpx.get(f"{stack.hub_url}/api/conversations", headers=headers).json()
    assert not [c for c in listed["conversations"] if c["contact"]["name"] == "Mallory"]


def test_the_console_shows_the_channel_and_what_was_not_delivered(
    stack: Stack, fake_telegram: FakeTelegramApi, browser: Any
) -> None:
    chat = 5006
    fake_telegram.block_chat(chat)
    assert (
        send(
            stack, text_update("I want to talk to a person", chat_id=chat, first_name="Uma")
        ).status_code
        == 200
    )
    detail = eventually(
        lambda: (
            d
            if (d := conversation(stack, "telegram", "Uma"))["conversation"]["state"] == "queued"
            and any((m.get("delivery") or {}).get("status") == "failed" for m in d["messages"])
            else None
        )
    )
    cid = detail["conversation"]["id"]
    settings = stack.settings
    page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{stack.hub_url}/console")
    page.get_by_label("Email").fill(settings.demo_agent_email)
    page.get_by_label("Password").fill(settings.demo_agent_password)
    page.get_by_role("button", name="Sign in").click()
    row = page.locator(f".queue-item[data-id='{cid}']")
    row.wait_for()
    assert "telegram" in row.inner_text()
    row.click()
    failed = page.locator(".msg-delivery.delivery-failed").first
    failed.wait_for()
    assert failed.inner_text() == "not delivered: the customer blocked the bot"
    limits = page.locator("#channel-limits")
    limits.wait_for()
    assert limits.inner_text().startswith("telegram:") and "plain text only" in limits.inner_text()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "console-telegram-not-delivered.png"))
    page.context.close()
