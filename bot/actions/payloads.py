"""The `custom` payloads our actions send; the hub reads them (see docs/protocol.md)."""

from __future__ import annotations

import json
from typing import Any

from retrieval.index import Hit
from retrieval.search import SearchResult

KEY = "frontline"
CHOOSE_INTENT = "choose_article"


def _brief(hit: Hit) -> dict[str, Any]:
    """An article the bot used or considered; `url` points at the answering section
    (`#anchor`) and `section` names it, when the answer is a section under a heading."""
    brief = {"article_id": hit.article_id, "title": hit.title, "url": hit.link, "score": hit.score}
    if hit.section:
        brief["section"] = hit.section
    return brief


def search_outcome(result: SearchResult, *, shown: list[Hit] | None = None) -> dict[str, Any]:
    """What the bot did with a search, with every hit and score, so agents see what it tried.

    `sources` is only ever the article an answer came from; the articles offered as
    choices, or considered and not trusted, are `candidates`.
    """
    kind = {"answer": "answer", "clarify": "clarify"}.get(result.decision, "no_answer")
    body: dict[str, Any] = {
        "kind": kind,
        "decision": result.decision,
        "confidence": result.confidence,
        "hits": [_brief(h) for h in result.hits],
    }
    if kind == "answer":
        body["sources"] = [_brief(h) for h in (shown or result.hits[:1])]
    else:
        body["candidates"] = [_brief(h) for h in (shown or result.hits[:3])]
    return {KEY: body}


def choice_button(hit: Hit) -> dict[str, str]:
    entities = json.dumps({"article_id": hit.article_id})
    return {"title": hit.title, "payload": f"/{CHOOSE_INTENT}{entities}"}


def handoff(
    reason: str, priority: str = "normal", *, email: str | None = None, offline: bool = False
) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": "handoff", "reason": reason, "priority": priority}
    if email:
        body["email"] = email
    if offline:
        body["offline"] = True
    return {KEY: body}


def contact_form() -> dict[str, Any]:
    """The bot asks for an email because nobody is online: widgets show a contact form
    (the hub keeps `form` on the message's payload)."""
    return {KEY: {"kind": "contact_form", "form": "contact"}}
