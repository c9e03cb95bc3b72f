"""Knowledge-base answers and what follows them: "did this help?", the next best article,
and a person when answers keep missing."""

from __future__ import annotations

import asyncio
import re
from typing import Any, Protocol

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import payloads, triggers
from bot.actions.handoff import request_person
from retrieval.index import Hit
from retrieval.languages import fallback_note
from retrieval.search import SearchResult

NO_ANSWER = (
    "I'm not sure I have the right answer for that. Could you say it another way? "
    'If you would rather talk to a person, just say "talk to a person".'
)
CLARIFY = "I found a few articles that might help. Which one is closest to your question?"
DID_IT_HELP = "Did this help?"
ANOTHER = "Here is another article that might help:"
OFFER_PERSON = "Sorry that didn't help. Would you like to talk to a person from our team?"
FRUSTRATED = (
    "I'm sorry this is frustrating. I can bring in a person from our support team right away."
)
URGENT = "That sounds urgent. I'm bringing in a person from our team now, with high priority."
GIVE_UP = "I still can't find the right answer, so I'm bringing in a person from our team."
# Two misses in a row (no confident answer, or "No, that didn't help") mean a person.
MAX_FAILURES = 2

FEEDBACK_BUTTONS = [
    {"title": "Yes", "payload": "/helpful"},
    {"title": "No", "payload": "/not_helpful"},
]
PERSON_BUTTONS = [
    {"title": "Talk to a person", "payload": "/request_human"},
    {"title": "No, thanks", "payload": "/deny"},
]


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
    """The answer, after `lead`; with a one-line note in the customer's `language` when
    the article has no translation in it and is shown in another language."""
    if lead:
        dispatcher.utter_message(text=lead)
    note = fallback_note(language, hit.lang)
    if note:
        dispatcher.utter_message(text=note)
    dispatcher.utter_message(
        text=answer_text(hit), json_message=payloads.search_outcome(result, shown=[hit])
    )
    dispatcher.utter_message(text=DID_IT_HELP, buttons=FEEDBACK_BUTTONS)


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
            dispatcher.utter_message(text=FRUSTRATED, buttons=PERSON_BUTTONS)
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
                text=CLARIFY,
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
        dispatcher.utter_message(text=NO_ANSWER, json_message=payloads.search_outcome(result))
        return [SlotSet("kb_failures", missed), SlotSet("awaiting_feedback", False)]

    def _answer_choice(
        self, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[dict[str, Any]]:
        article_id = next(tracker.get_latest_entity_values("article_id"), None)
        language = customer_language(tracker)
        hit = self._knowledge.article(str(article_id), language) if article_id else None
        if hit is None:
            dispatcher.utter_message(text=NO_ANSWER)
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
            dispatcher.utter_message(
                text="Great! What else can I help with?"
                if positive
                else 'OK. Ask me anything else, or say "talk to a person" at any time.'
            )
            return []
        if positive:
            dispatcher.utter_message(
                text="Glad it helped! Is there anything else I can help with?",
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
        dispatcher.utter_message(text=OFFER_PERSON, buttons=PERSON_BUTTONS)
        return [SlotSet("kb_failures", missed), SlotSet("awaiting_feedback", False)]
