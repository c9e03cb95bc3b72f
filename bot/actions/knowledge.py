"""action_answer_from_kb: answer the customer's last message from the knowledge base."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import payloads
from retrieval.search import SearchResult

Searcher = Callable[[str], SearchResult]

NO_ANSWER = (
    "I'm not sure I have the right answer for that. Could you say it another way? "
    'If you would rather talk to a person, just say "talk to a person".'
)


class ActionAnswerFromKB(Action):
    def __init__(self, search: Searcher) -> None:
        self._search = search

    def name(self) -> str:
        return "action_answer_from_kb"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        question = (tracker.latest_message or {}).get("text") or ""
        # Encoding is CPU work: keep it off the event loop that also serves the widgets.
        result = await asyncio.to_thread(self._search, question)
        best = result.best
        if result.decision == "answer" and best is not None:
            # The source travels in the payload (the hub shows it under the answer). Rasa's
            # REST channel splits texts at blank lines, so paragraphs are joined here.
            text = re.sub(r"\n\s*\n", "\n", best.snippet.strip())
            dispatcher.utter_message(text=text, json_message=payloads.answer(result))
        else:
            dispatcher.utter_message(text=NO_ANSWER, json_message=payloads.answer(result))
        return []
