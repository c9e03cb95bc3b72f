"""The conversation's language: where it came from, and when the customer's own words may
still set it (the detection itself is the hub's: api/i18n/detect.py)."""

from __future__ import annotations

from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handoff.events import Event, conversation_changed
from handoff.lookups import get_conversation
from handoff.models import Conversation, Message, Ticket
from handoff.states import MessageRole

# default: nobody said (English); hint: the browser's or page's language; explicit: the
# widget's `lang` option or a channel's profile; detected: from the customer's first messages.
LanguageSource = Literal["default", "hint", "explicit", "detected"]

# How many of the customer's first messages may still set the language by detection.
DETECT_WITHIN = 3


def language_detectable(session: Session, *, conversation_id: int) -> bool:
    """Whether the conversation's language may still come from what the customer writes:
    nobody chose it explicitly, no ticket was routed by it, and it is early on."""
    conversation = get_conversation(session, conversation_id)
    if conversation.language_source == "explicit":
        return False
    # Asked on every turn: counted in SQL, at most one past the bound, rather than loading
    # the conversation's messages and tickets.
    if session.scalar(select(Ticket.id).where(Ticket.conversation_id == conversation_id).limit(1)):
        return False
    written = session.scalar(
        select(func.count()).select_from(
            select(Message.id)
            .where(Message.conversation_id == conversation_id)
            .where(Message.role == MessageRole.CUSTOMER)
            .limit(DETECT_WITHIN + 1)
            .subquery()
        )
    )
    return (written or 0) <= DETECT_WITHIN


# The writing system of a language (primary subtag); any other is taken as Latin script.
_SCRIPTS = {
    "zh": "Hani", "ja": "Jpan", "ko": "Hang", "fa": "Arab", "ar": "Arab", "ur": "Arab",
    "he": "Hebr", "ru": "Cyrl", "uk": "Cyrl", "el": "Grek", "th": "Thai", "hi": "Deva",
}  # fmt: skip


def script_of(language: str) -> str:
    return _SCRIPTS.get(language.replace("_", "-").split("-")[0].lower(), "Latn")


def adopt_detected_language(
    session: Session, *, conversation_id: int, language: str
) -> tuple[Conversation, list[Event]]:
    """A language detected with confidence from the customer's words replaces a default or
    a hint (never an explicit choice, nor one a ticket was routed by) when it is written in
    another script: Chinese or Persian typed under an English browser. Between languages of
    one script (English, French, German, Spanish) a detector errs on short texts (on
    MASSIVE's English dev utterances it called 2.7% French, German or Spanish; see
    tests/bench/bench_language_detection.py), and the hint is usually right, so it stays."""
    conversation = get_conversation(session, conversation_id)
    if not language_detectable(session, conversation_id=conversation_id):
        return conversation, []
    if script_of(language) == script_of(conversation.language) and (
        conversation.language.split("-")[0] != language.split("-")[0]
    ):
        return conversation, []
    if conversation.language == language[:16]:
        conversation.language_source = "detected"  # the same language, now confirmed
        return conversation, []
    conversation.language = language[:16]
    conversation.language_source = "detected"
    return conversation, [conversation_changed(conversation.id)]
