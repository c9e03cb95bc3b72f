"""The bot's `language` slot: filled from the conversation's language the hub sends, so
domain.yml's responses pick their variation; English for a language the bot does not speak."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.knowledge import ActionAnswerFromKB
from bot.languages import BOT_LANGUAGES, bot_language, language_entity
from retrieval.index import Hit
from retrieval.search import SearchResult
from tests.fakes.bot_responses import domain_responses, said, variation
from tests.fakes.paths import ROOT


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("zh", "zh"), ("zh-CN", "zh"), ("zh_hans", "zh"), ("fa-IR", "fa"), ("en-GB", "en"),
     ("fr", "en"), ("", "en"), (None, "en"), (42, "en")],
)  # fmt: skip
def test_the_bot_speaks_the_conversations_language_or_english(raw: object, expected: str) -> None:
    assert bot_language(raw) == expected


def test_the_slot_follows_the_hubs_conversation_language() -> None:
    entity = language_entity({"conversation_language": "zh-CN"})
    assert entity is not None and (entity["entity"], entity["value"]) == ("language", "zh")
    assert language_entity({"conversation_language": "de"})["value"] == "en"  # type: ignore[index]
    # The site's own "language" key is not the hub's word; without the hub's, keep the slot.
    assert language_entity({"language": "fa"}) is None
    assert language_entity(None) is None
    assert language_entity("zh") is None


def test_the_language_entity_fills_the_slot_and_nothing_else() -> None:
    domain = yaml.safe_load((ROOT / "bot" / "domain.yml").read_text(encoding="utf-8"))
    assert domain["slots"]["language"]["mappings"] == [
        {"type": "from_entity", "entity": "language"}
    ]
    assert {"language": {"influence_conversation": False}} in domain["entities"]
    config = yaml.safe_load((ROOT / "bot" / "config.yml").read_text(encoding="utf-8"))
    names = [step["name"] for step in config["pipeline"]]
    assert "bot.conversation_language.ConversationLanguage" in names


def test_every_response_has_a_variation_in_each_language_the_bot_speaks() -> None:
    domain = yaml.safe_load((ROOT / "bot" / "domain.yml").read_text(encoding="utf-8"))
    assert domain["slots"]["language"]["values"] == list(BOT_LANGUAGES)
    for name, variations in domain["responses"].items():
        conditioned = {
            c["value"]
            for v in variations
            for c in v.get("condition", [])
            if c["name"] == "language"
        }
        assert conditioned == set(BOT_LANGUAGES) - {"en"}, name
        assert any("condition" not in v for v in variations), name  # English, the default


def action_responses() -> set[str]:
    """Every domain response our actions send by name (their `utter_...` constants)."""
    from bot.actions import handoff, knowledge

    return {
        value
        for module in (knowledge, handoff)
        for value in vars(module).values()
        if isinstance(value, str) and value.startswith("utter_")
    }


def test_every_response_an_action_sends_is_in_the_domain() -> None:
    names = action_responses()
    assert {"utter_kb_did_it_help", "utter_kb_no_answer", "utter_handoff_give_up"} <= names
    assert names <= set(domain_responses())


def test_buttons_carry_the_same_payloads_in_every_language() -> None:
    """The hub accepts a press only when its payload is one the bot offered: translations
    change the titles, never the payloads."""
    with_buttons = {
        n: vs for n, vs in domain_responses().items() if any("buttons" in v for v in vs)
    }
    assert {"utter_kb_did_it_help", "utter_kb_offer_person", "utter_kb_frustrated"} <= set(
        with_buttons
    )
    for name, variations in with_buttons.items():
        payloads = {tuple(b["payload"] for b in v["buttons"]) for v in variations}
        assert len(payloads) == 1, name
        english = [b["title"] for b in variation(name, "en")["buttons"]]
        for language in ("zh", "fa"):
            assert [b["title"] for b in variation(name, language)["buttons"]] != english, name


def answer(language: str, search: SearchResult, text: str) -> list[dict[str, Any]]:
    """action_answer_from_kb in a conversation whose language slot is `language`, as the
    customer sees its messages."""
    hits = {h.article_id: h for h in search.hits}

    class Knowledge:
        def search(self, query: str, language: str | None = None) -> SearchResult:
            return search

        def article(self, article_id: str, language: str | None = None) -> Hit | None:
            return hits.get(article_id)

    tracker = Tracker(
        "c",
        {"language": language},
        {"text": text, "intent": {"name": "nlu_fallback"}, "entities": [],
         "metadata": {"language": language, "conversation_language": language}},
        [{"event": "user", "text": text}],
        False,
        None,
        {},
        "action_listen",
    )  # fmt: skip
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionAnswerFromKB(Knowledge()).run(dispatcher, tracker, {}))
    return said({"responses": dispatcher.messages}, language)


@pytest.mark.parametrize(
    ("language", "question", "snippet", "asked", "yes"),
    [("zh", "我忘记密码了", "选择忘记密码。", "这个回答对您有帮助吗？", "有帮助"),  # noqa: RUF001
     ("fa", "رمز عبورم را فراموش کردم", "«فراموشی رمز» را بزنید.", "این پاسخ کمکتان کرد؟", "بله")],
)  # fmt: skip
def test_an_answer_is_followed_by_did_it_help_in_the_customers_language(
    language: str, question: str, snippet: str, asked: str, yes: str
) -> None:
    hit = Hit("reset-password", "-", 0.9, None, snippet, None, lang=language)
    shown, follow_up = answer(language, SearchResult(question, "answer", 0.9, [hit]), question)
    assert shown["text"] == snippet and shown["custom"]["frontline"]["kind"] == "answer"
    assert follow_up["text"] == asked
    assert [b["title"] for b in follow_up["buttons"]] == [yes, variation(
        "utter_kb_did_it_help", language)["buttons"][1]["title"]]  # fmt: skip
    assert [b["payload"] for b in follow_up["buttons"]] == ["/helpful", "/not_helpful"]


@pytest.mark.parametrize(("language", "expected"), [("zh", "换个说法"), ("fa", "جور دیگری بگویید")])
def test_no_answer_and_clarify_speak_the_customers_language(language: str, expected: str) -> None:
    hit = Hit("reset-password", "-", 0.2, None, "-", None, lang=language)
    [missed] = answer(language, SearchResult("?", "escalate", 0.2, [hit]), "?")
    assert expected in missed["text"] and missed["custom"]["frontline"]["kind"] == "no_answer"
    other = Hit("account-locked", "--", 0.2, None, "-", None, lang=language)
    [asked] = answer(language, SearchResult("?", "clarify", 0.4, [hit, other], [hit, other]), "?")
    assert asked["text"] == variation("utter_kb_clarify", language)["text"] != variation(
        "utter_kb_clarify", "en")["text"]  # fmt: skip
    assert [b["title"] for b in asked["buttons"]] == ["-", "--"]  # the articles, as offered


def test_an_urgent_message_hands_over_in_the_customers_language() -> None:
    [handover] = answer("zh", SearchResult("?", "escalate", 0.0, []), "系统宕机了, outage")
    assert handover["text"] == variation("utter_handoff_urgent", "zh")["text"]
    assert handover["custom"]["frontline"]["priority"] == "high"
