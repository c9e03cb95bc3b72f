"""The bot's `language` slot: filled from the conversation's language the hub sends, so
domain.yml's responses pick their variation; English for a language the bot does not speak."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.language import BOT_LANGUAGES, ActionSetLanguage, bot_language
from tests.fakes.paths import ROOT


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("zh", "zh"), ("zh-CN", "zh"), ("zh_hans", "zh"), ("fa-IR", "fa"), ("en-GB", "en"),
     ("fr", "en"), ("", "en"), (None, "en"), (42, "en")],
)  # fmt: skip
def test_the_bot_speaks_the_conversations_language_or_english(raw: object, expected: str) -> None:
    assert bot_language(raw) == expected


def run(metadata: dict[str, Any] | None, slot: str | None) -> list[dict[str, Any]]:
    tracker = Tracker(
        "c",
        {"language": slot},
        {"text": "你好", "intent": {"name": "greet"}, "entities": [], "metadata": metadata},
        [],
        False,
        None,
        {},
        "action_listen",
    )
    return asyncio.run(ActionSetLanguage().run(CollectingDispatcher(), tracker, {}))


def test_the_slot_follows_the_hubs_conversation_language() -> None:
    assert run({"conversation_language": "zh-CN"}, "en") == [
        {"event": "slot", "timestamp": None, "name": "language", "value": "zh"}
    ]
    assert run({"conversation_language": "zh"}, "zh") == []  # unchanged: no event
    # The site's own "language" key is not the hub's word; without the hub's, keep the slot.
    assert run({"language": "fa"}, "en") == []
    assert run(None, "fa") == []


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
