"""action_answer_from_kb: answer the customer's last message from the knowledge base."""

from __future__ import annotations

import asyncio
import re
from typing import Any, Protocol

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import payloads
from retrieval.index import Hit
from retrieval.search import SearchResult

NO_ANSWER = (
    "I'm not sure I have the right answer for that. Could you say it another way? "
    'If you would rather talk to a person, just say "talk to a person".'
)
CLARIFY = "I found a few articles that might help. Which one is closest to your question?"


class KnowledgeSource(Protocol):
    def search(self, query: str) -> SearchResult: ...

    def article(self, article_id: str) -> Hit | None: ...


def answer_text(hit: Hit) -> str:
    # The source travels in the payload (the hub shows it under the answer). Rasa's REST
    # channel splits texts at blank lines, so paragraphs are joined here.
    return re.sub(r"\n\s*\n", "\n", hit.snippet.strip())


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
            self._answer_choice(dispatcher, tracker)
            return []
        question = latest.get("text") or ""
        # Encoding is CPU work: keep it off the event loop that also serves the widgets.
        result = await asyncio.to_thread(self._knowledge.search, question)
        best = result.best
        if result.decision == "answer" and best is not None:
            dispatcher.utter_message(
                text=answer_text(best), json_message=payloads.search_outcome(result)
            )
        elif result.decision == "clarify":
            dispatcher.utter_message(
                text=CLARIFY,
                buttons=[payloads.choice_button(h) for h in result.candidates],
                json_message=payloads.search_outcome(result, shown=result.candidates),
            )
        else:
            dispatcher.utter_message(text=NO_ANSWER, json_message=payloads.search_outcome(result))
        return []

    def _answer_choice(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        article_id = next(tracker.get_latest_entity_values("article_id"), None)
        hit = self._knowledge.article(str(article_id)) if article_id else None
        if hit is None:
            dispatcher.utter_message(text=NO_ANSWER)
            return
        # The customer picked it: that choice is the confidence.
        chosen = SearchResult(hit.title, "answer", 1.0, [hit])
        dispatcher.utter_message(
            text=answer_text(hit), json_message=payloads.search_outcome(chosen)
        )
