"""The conversation's language as a slot, so the bot's responses (domain.yml) pick their
variation for it (`condition: [{type: slot, name: language, value: zh}]`).

The hub owns the language (the widget's `lang`, a channel's hint, or detected from the
customer's first messages) and sends it with every message as metadata
(`conversation_language`); this runs as the
`language` slot's custom mapping, i.e. after each customer message, before any response.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

# The languages the bot has responses in; any other gets the default (English) ones.
BOT_LANGUAGES = ("en", "zh", "fa")
DEFAULT = "en"
KEY = "conversation_language"


def bot_language(raw: object) -> str:
    """The primary subtag of `raw` ("zh-CN" is "zh") when the bot speaks it, else English."""
    if not isinstance(raw, str):
        return DEFAULT
    primary = raw.strip().replace("_", "-").split("-")[0].lower()
    return primary if primary in BOT_LANGUAGES else DEFAULT


class ActionSetLanguage(Action):
    def name(self) -> str:
        return "action_set_language"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        metadata = (tracker.latest_message or {}).get("metadata") or {}
        if not isinstance(metadata, dict) or KEY not in metadata:
            return []  # no word from the hub (an old hub, a test): keep what we had
        language = bot_language(metadata[KEY])
        if tracker.get_slot("language") == language:
            return []
        return [SlotSet("language", language)]
