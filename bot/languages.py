"""Which of the bot's languages a conversation gets: the `language` slot's value, so the
bot's responses (domain.yml) pick their variation for it (`condition: [{type: slot, name:
language, value: zh}]`).

The hub owns the conversation's language (the widget's `lang`, a channel's hint, or detected
from the customer's first messages) and sends it with every message as metadata
(`conversation_language`); `bot/conversation_language.py` turns it into the slot inside
Rasa's NLU. No dependency here: Rasa's environment and the hub's both import it.
"""

from __future__ import annotations

# The languages the bot has responses in; any other gets the default (English) ones.
BOT_LANGUAGES = ("en", "zh", "fa")
DEFAULT = "en"
KEY = "conversation_language"
# The entity that carries it from the NLU to the slot (domain.yml: from_entity).
ENTITY = "language"


def bot_language(raw: object) -> str:
    """The primary subtag of `raw` ("zh-CN" is "zh") when the bot speaks it, else English."""
    if not isinstance(raw, str):
        return DEFAULT
    primary = raw.strip().replace("_", "-").split("-")[0].lower()
    return primary if primary in BOT_LANGUAGES else DEFAULT


def language_entity(metadata: object) -> dict[str, object] | None:
    """The `language` entity for a message with the hub's `metadata`, or None when the hub
    said nothing (an old hub, a test): the slot then keeps what it had."""
    if not isinstance(metadata, dict) or KEY not in metadata:
        return None
    return {
        "entity": ENTITY,
        "value": bot_language(metadata[KEY]),
        # Not found in the text: a zero-width span at its start.
        "start": 0,
        "end": 0,
        "confidence_entity": 1.0,
        "extractor": "ConversationLanguage",
    }
