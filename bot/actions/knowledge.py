"""Knowledge-base answers and what follows them: "did this help?", the next best article,
and a person when answers keep missing."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from typing import Any, Protocol

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import payloads, triggers
from bot.actions.handoff import request_person
from retrieval.index import Hit
from retrieval.languages import fallback_note
from retrieval.search import SearchResult

# The bot's words are responses in domain.yml, with a variation per language (the `language`
# slot) and their buttons; `say` (handoff.py) sends either a response or literal words.
NO_ANSWER = "utter_kb_no_answer"
CLARIFY = "utter_kb_clarify"
DID_IT_HELP = "utter_kb_did_it_help"  # with Yes (/helpful) and No (/not_helpful)
ANOTHER = "utter_kb_another"
HELPED = "utter_kb_helped"
OFFER_PERSON = "utter_kb_offer_person"  # with "Talk to a person" (/request_human), "No" (/deny)
FRUSTRATED = "utter_kb_frustrated"  # the same two buttons
URGENT = "utter_handoff_urgent"
GIVE_UP = "utter_handoff_give_up"
YES_ANYTHING_ELSE = "utter_yes_anything_else"
NO_ASK_ANYTHING = "utter_no_ask_anything"
# Two misses in a row (no confident answer, or "No, that didn't help") mean a person.
MAX_FAILURES = 2


class KnowledgeSource(Protocol):
    def search(self, query: str, language: str | None = None) -> SearchResult: ...

    def article(self, article_id: str, language: str | None = None) -> Hit | None: ...


def customer_language(tracker: Tracker) -> str | None:
    """The conversation's language, as the hub sends it in the message's metadata."""
    latest = tracker.latest_message or {}
    metadata = latest.get("metadata") or {}
    if not metadata:
        users = [e for e in tracker.events if e.get("event") == "user"]
        metadata = (users[-1].get("metadata") or {}) if users else {}
    return metadata_language(metadata)


def metadata_language(metadata: Mapping[str, Any]) -> str | None:
    """The language the knowledge base answers in, from a message's metadata (the hub
    starts its search ahead with the same, api/search_ahead.py)."""
    language = metadata.get("language")
    return str(language) if isinstance(language, str) and language.strip() else None


def answer_text(hit: Hit) -> str:
    # The source travels in the payload (the hub shows it under the answer). Rasa's REST
    # channel splits texts at blank lines, so paragraphs are joined here.
    return re.sub(r"\n\s*\n", "\n", hit.snippet.strip())


def failures(tracker: Tracker) -> int:
    return int(tracker.get_slot("kb_failures") or 0)


def previous_user_texts(tracker: Tracker) -> list[str]:
    texts = [e.get("text") or "" for e in tracker.events if e.get("event") == "user"]
    return texts[:-1]


def give_answer(
    dispatcher: CollectingDispatcher,
    result: SearchResult,
    hit: Hit,
    *,
    lead: str | None = None,
    language: str | None = None,
) -> None:
    """The answer, after the response `lead`; with a one-line note in the customer's
    `language` when the article has no translation in it and is shown in another language."""
    if lead:
        dispatcher.utter_message(response=lead)
    note = fallback_note(language, hit.lang)
    if note:
        dispatcher.utter_message(text=note)
    dispatcher.utter_message(
        text=answer_text(hit), json_message=payloads.search_outcome(result, shown=[hit])
    )
    dispatcher.utter_message(response=DID_IT_HELP)


class ActionAnswerFromKB(Action):
    def __init__(self, knowledge: KnowledgeSource) -> None:
        self._knowledge = knowledge

    def name(self) -> str:
        return "action_answer_from_kb"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        latest = tracker.latest_message or {}
        if (latest.get("intent") or {}).get("name") == payloads.CHOOSE_INTENT:
            return self._answer_choice(dispatcher, tracker)
        question = latest.get("text") or ""
        if triggers.is_urgent(question):
            return request_person(dispatcher, tracker, URGENT, "urgent", "high")
        if triggers.is_frustrated(question, previous_user_texts(tracker)):
            dispatcher.utter_message(response=FRUSTRATED)
            return [SlotSet("awaiting_feedback", False)]
        language = customer_language(tracker)
        # Encoding is CPU work: keep it off the event loop that also serves the widgets.
        result = await asyncio.to_thread(self._knowledge.search, question, language)
        best = result.best
        if result.decision == "answer" and best is not None:
            give_answer(dispatcher, result, best, language=language)
            others = [h.article_id for h in result.hits[1:3]]
            return [
                SlotSet("kb_failures", 0),
                SlotSet("awaiting_feedback", True),
                SlotSet("kb_offered", others),
                SlotSet("kb_shown", [best.article_id]),
            ]
        if result.decision == "clarify":
            dispatcher.utter_message(
                response=CLARIFY,
                buttons=[payloads.choice_button(h) for h in result.candidates],
                json_message=payloads.search_outcome(result, shown=result.candidates),
            )
            # Whichever the customer picks, the others stay on offer if it does not help.
            choices = [h.article_id for h in result.candidates]
            return [SlotSet("awaiting_feedback", False), SlotSet("kb_offered", choices)]
        missed = failures(tracker) + 1
        if missed >= MAX_FAILURES:
            dispatcher.utter_message(json_message=payloads.search_outcome(result))
            return request_person(dispatcher, tracker, GIVE_UP, "low_confidence")
        dispatcher.utter_message(response=NO_ANSWER, json_message=payloads.search_outcome(result))
        return [SlotSet("kb_failures", missed), SlotSet("awaiting_feedback", False)]

    def _answer_choice(
        self, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[dict[str, Any]]:
        article_id = next(tracker.get_latest_entity_values("article_id"), None)
        language = customer_language(tracker)
        hit = self._knowledge.article(str(article_id), language) if article_id else None
        if hit is None:
            dispatcher.utter_message(response=NO_ANSWER)
            return []
        offered = list(tracker.get_slot("kb_offered") or [])
        # The customer picked it: that choice is the confidence.
        give_answer(
            dispatcher, SearchResult(hit.title, "answer", 1.0, [hit]), hit, language=language
        )
        return [
            SlotSet("kb_failures", 0),
            SlotSet("awaiting_feedback", True),
            SlotSet("kb_offered", [a for a in offered if a != hit.article_id]),
            SlotSet("kb_shown", [hit.article_id]),
        ]


class ActionFeedback(Action):
    """Yes/No, typed or clicked: after "did this help?" it is feedback on the answer."""

    def __init__(self, knowledge: KnowledgeSource) -> None:
        self._knowledge = knowledge

    def name(self) -> str:
        return "action_feedback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        positive = intent in ("helpful", "affirm")
        if not tracker.get_slot("awaiting_feedback") and intent in ("affirm", "deny"):
            dispatcher.utter_message(response=YES_ANYTHING_ELSE if positive else NO_ASK_ANYTHING)
            return []
        if positive:
            dispatcher.utter_message(
                response=HELPED,
                json_message={payloads.KEY: {"kind": "feedback", "helpful": True}},
            )
            return [SlotSet("kb_failures", 0), SlotSet("awaiting_feedback", False)]
        missed = failures(tracker) + 1
        if missed >= MAX_FAILURES:
            return request_person(dispatcher, tracker, GIVE_UP, "not_helpful")
        shown = list(tracker.get_slot("kb_shown") or [])
        language = customer_language(tracker)
        for article_id in tracker.get_slot("kb_offered") or []:
            hit = self._knowledge.article(article_id, language)
            if hit is not None and article_id not in shown:
                give_answer(
                    dispatcher,
                    SearchResult(hit.title, "answer", hit.score, [hit]),
                    hit,
                    lead=ANOTHER,
                    language=language,
                )
                rest = [a for a in tracker.get_slot("kb_offered") if a != article_id]
                return [
                    SlotSet("kb_failures", missed),
                    SlotSet("awaiting_feedback", True),
                    SlotSet("kb_offered", rest),
                    SlotSet("kb_shown", [*shown, article_id]),
                ]
        dispatcher.utter_message(response=OFFER_PERSON)
        return [SlotSet("kb_failures", missed), SlotSet("awaiting_feedback", False)]
