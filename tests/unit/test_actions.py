"""Our custom actions, run through rasa-sdk's ActionExecutor as Rasa would call them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from rasa_sdk.executor import ActionExecutor

from bot.actions import build_actions
from retrieval.index import Hit
from retrieval.search import SearchResult

HIT = Hit(
    "reset-password",
    "Reset your password",
    0.82,
    None,
    "Choose Forgot password.\n\nThen check your email.",
    "https://help.example/reset",
)


def _call(action: str, text: str) -> dict[str, Any]:
    return {
        "next_action": action,
        "sender_id": "conversation-1",
        "version": "3.6.21",
        "domain": {"intents": [], "entities": [], "slots": {}, "responses": {}, "actions": []},
        "tracker": {
            "sender_id": "conversation-1",
            "slots": {},
            "latest_message": {"text": text, "intent": {"name": "nlu_fallback"}, "entities": []},
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
    }


class Knowledge:
    def __init__(self, search: Callable[[str], SearchResult]) -> None:
        self.search = search

    def article(self, article_id: str) -> Hit | None:
        return HIT if article_id == HIT.article_id else None


def _run(
    search: Callable[[str], SearchResult],
    action: str,
    text: str,
    intent: str = "nlu_fallback",
    entities: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    executor = ActionExecutor()
    for a in build_actions(Knowledge(search)):
        executor.register_action(a)
    call = _call(action, text)
    call["tracker"]["latest_message"]["intent"] = {"name": intent}
    call["tracker"]["latest_message"]["entities"] = entities or []
    result = asyncio.run(executor.run(call))
    assert result is not None
    return result.model_dump()


def test_confident_answer_carries_its_source() -> None:
    asked: list[str] = []

    def search(query: str) -> SearchResult:
        asked.append(query)
        return SearchResult(query, "answer", 0.82, [HIT])

    out = _run(search, "action_answer_from_kb", "I forgot my password")
    assert asked == ["I forgot my password"]
    [response] = out["responses"]
    # Paragraphs joined: Rasa's REST channel would split the answer at blank lines.
    assert response["text"] == "Choose Forgot password.\nThen check your email."
    payload = response["custom"]["frontline"]
    assert payload["kind"] == "answer"
    assert payload["hits"][0]["score"] == 0.82
    assert payload["sources"] == [
        {
            "article_id": "reset-password",
            "title": "Reset your password",
            "url": "https://help.example/reset",
            "score": 0.82,
        }
    ]


def test_no_confident_answer_says_so_and_keeps_candidates() -> None:
    out = _run(lambda q: SearchResult(q, "escalate", 0.2, [HIT]), "action_answer_from_kb", "zzz")
    [response] = out["responses"]
    assert "not sure" in response["text"]
    assert response["custom"]["frontline"]["kind"] == "no_answer"
    assert "sources" not in response["custom"]["frontline"]  # a guess is not a source
    assert response["custom"]["frontline"]["candidates"][0]["article_id"] == "reset-password"


def test_handoff_action_asks_the_hub_for_a_person() -> None:
    out = _run(lambda q: SearchResult(q, "escalate", 0.0, []), "action_handoff", "agent please")
    [response] = out["responses"]
    assert response["custom"] == {
        "frontline": {"kind": "handoff", "reason": "customer_request", "priority": "normal"}
    }


OTHER = Hit("account-locked", "Account locked", 0.31, None, "Wait 15 minutes.", None)


def test_clarify_offers_the_candidates_as_buttons() -> None:
    out = _run(
        lambda q: SearchResult(q, "clarify", 0.4, [HIT, OTHER], [HIT, OTHER]),
        "action_answer_from_kb",
        "pw",
    )
    [response] = out["responses"]
    assert [b["title"] for b in response["buttons"]] == ["Reset your password", "Account locked"]
    assert response["buttons"][0]["payload"] == '/choose_article{"article_id": "reset-password"}'
    assert response["custom"]["frontline"]["kind"] == "clarify"


def test_picking_a_candidate_answers_with_that_article() -> None:
    def no_search(q: str) -> SearchResult:
        raise AssertionError("a chosen article needs no search")

    entities = [{"entity": "article_id", "value": "reset-password"}]
    out = _run(no_search, "action_answer_from_kb", "/choose_article", "choose_article", entities)
    [response] = out["responses"]
    assert response["text"].startswith("Choose Forgot password.")
    assert response["custom"]["frontline"]["sources"][0]["article_id"] == "reset-password"
    unknown = [{"entity": "article_id", "value": "nope"}]
    out = _run(no_search, "action_answer_from_kb", "/choose_article", "choose_article", unknown)
    assert "not sure" in out["responses"][0]["text"]
