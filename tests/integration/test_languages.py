"""Chinese and Persian customers through the widget socket and the real Rasa server: control
intents in their language, the bot's responses in their language, product questions to the
knowledge base."""

from __future__ import annotations

import pytest
import yaml

from tests.fakes.bot_responses import variation
from tests.fakes.channel_checks import conversation as channel_conversation
from tests.fakes.channel_checks import eventually
from tests.fakes.paths import ROOT
from tests.fakes.stack import Stack
from tests.fakes.telegram_api import FakeTelegramApi, post_update, text_update
from tests.fakes.widget_client import WidgetClient, choose, conversation

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("agent_online")]

HANDOFF = {
    "zh": ("我要找人工客服", "转接我们的客服人员"),
    "fa": ("می‌خواهم با یک نفر صحبت کنم", "یکی از همکاران تیم پشتیبانی"),
}
QUEUED = {"zh": "您在人工客服队列中排第", "fa": "در صف انتظار"}
GREETING = {"zh": ("你好", "客服助手"), "fa": ("سلام", "دستیار پشتیبانی")}


@pytest.mark.parametrize("language", ["zh", "fa"])
def test_asking_for_a_person_in_the_customers_language_hands_off(
    stack: Stack, language: str
) -> None:
    said, expected = HANDOFF[language]
    widget = WidgetClient(stack.widget_ws, language=language)
    try:
        widget.say(said)
        reply = widget.next_message("bot")
        assert expected in reply["text"], reply
        widget.wait_state("queued")
        notice = widget.next_message("system")["text"]  # the queue position, from the catalog
        assert QUEUED[language] in notice, notice
        detail = conversation(stack, widget)
        assert detail["conversation"]["language"] == language
        assert detail["conversation"]["ticket"]["reason"] == "customer_request"
    finally:
        widget.close()


@pytest.mark.parametrize("language", ["zh", "fa"])
def test_the_bot_greets_in_the_customers_language(stack: Stack, language: str) -> None:
    said, expected = GREETING[language]
    widget = WidgetClient(stack.widget_ws, language=language)
    try:
        widget.say(said)
        reply = widget.next_message("bot")
        assert expected in reply["text"] and reply["sources"] == [], reply
    finally:
        widget.close()


def test_an_english_widget_still_gets_english(stack: Stack) -> None:
    widget = WidgetClient(stack.widget_ws, language="en-GB")
    try:
        widget.say("hello")
        assert "support assistant" in widget.next_message("bot")["text"]
    finally:
        widget.close()


def control_responses() -> set[str]:
    """Every text of every response in domain.yml (the control intents' replies)."""
    domain = yaml.safe_load((ROOT / "bot" / "domain.yml").read_text(encoding="utf-8"))
    return {v["text"] for variations in domain["responses"].values() for v in variations}


@pytest.mark.parametrize(
    ("language", "question"), [("zh", "我忘记密码了"), ("fa", "چطور فاکتور بگیرم؟")]
)
def test_a_product_question_goes_to_the_knowledge_base_not_a_control_intent(
    stack: Stack, language: str, question: str
) -> None:
    """Whatever the knowledge base makes of it, the bot searched: the conversation stays with
    the bot and the reply is none of the control intents' responses (greeting, hand-off,
    small talk...)."""
    widget = WidgetClient(stack.widget_ws, language=language)
    try:
        widget.say(question)
        reply = widget.next_message("bot")
        assert reply["text"] not in control_responses(), reply
        assert conversation(stack, widget)["conversation"]["state"] == "bot"
    finally:
        widget.close()


@pytest.mark.parametrize(
    ("language", "question"),
    [
        ("zh", "我忘记密码了，怎么重置？"),  # noqa: RUF001
        ("fa", "رمز عبورم را فراموش کرده‌ام، چطور بازنشانی کنم؟"),
    ],
)
def test_a_knowledge_base_answer_is_followed_up_in_the_customers_language(
    stack: Stack, language: str, question: str
) -> None:
    """The answer from the article in the customer's language, then "did this help?" and its
    buttons in that language (payloads unchanged, so the hub accepts the press), then what
    follows a "no" in that language too."""
    widget = WidgetClient(stack.widget_ws, language=language)
    try:
        widget.say(question)
        answer = widget.next_message("bot")
        assert answer["sources"][0]["article_id"] == "reset-password", answer
        asked = widget.next_message("bot")
        expected = variation("utter_kb_did_it_help", language)
        assert asked["text"] == expected["text"] != variation("utter_kb_did_it_help")["text"]
        pairs = [(b["title"], b["payload"]) for b in asked["buttons"]]
        assert pairs == [(b["title"], b["payload"]) for b in expected["buttons"]]
        no = next(b for b in asked["buttons"] if b["payload"] == "/not_helpful")
        assert choose(widget, no)["type"] == "ack"
        after = widget.next_message("bot")["text"]
        assert after in {
            variation("utter_kb_another", language)["text"],
            variation("utter_kb_offer_person", language)["text"],
        }, after
    finally:
        widget.close()


def test_the_language_is_detected_from_the_first_message_when_the_site_did_not_set_it(
    stack: Stack,
) -> None:
    """The browser said English (a hint); the customer writes Chinese: the bot answers in
    Chinese and the conversation (what the console shows and routing reads) is Chinese."""
    widget = WidgetClient(stack.widget_ws, language="en-US")
    try:
        widget.say("我要找人工客服")
        assert HANDOFF["zh"][1] in widget.next_message("bot")["text"]
        widget.wait_state("queued")
        assert conversation(stack, widget)["conversation"]["language"] == "zh"
    finally:
        widget.close()


def test_an_explicit_lang_is_never_overridden(stack: Stack) -> None:
    widget = WidgetClient(stack.widget_ws, language="en", explicit=True)
    try:
        widget.say("你好")
        assert "support assistant" in widget.next_message("bot")["text"]
        assert conversation(stack, widget)["conversation"]["language"] == "en"
    finally:
        widget.close()


TELEGRAM_SECRET = "integration-secret-token"  # tests/integration/conftest.py


@pytest.mark.parametrize(
    ("language_code", "chat", "name"), [("zh-hans", 7301, "Li Wei"), ("fa", 7302, "Sara")]
)
def test_a_telegram_customer_is_handed_off_in_their_apps_language(
    stack: Stack, fake_telegram: FakeTelegramApi, language_code: str, chat: int, name: str
) -> None:
    """Telegram's `language_code` is the conversation's language: the bot's words and the
    hub's queue notice reach the chat in it, and the console sees it."""
    language = language_code.split("-")[0]
    said, expected = HANDOFF[language]
    update = text_update(said, chat_id=chat, first_name=name, language_code=language_code)
    assert post_update(stack.hub_url, update, TELEGRAM_SECRET).status_code == 200

    def sent() -> list[str]:
        return [str(c.params.get("text", "")) for c in fake_telegram.sent(chat)]

    eventually(lambda: any(expected in t for t in sent()))
    eventually(lambda: any(QUEUED[language] in t for t in sent()))
    detail = channel_conversation(stack, "telegram", name)
    assert detail["conversation"]["language"] == language_code
    assert detail["conversation"]["ticket"]["reason"] == "customer_request"
