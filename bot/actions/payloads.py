"""The `custom` payloads our actions send; the hub reads them (see docs/protocol.md)."""

from __future__ import annotations

from typing import Any

from retrieval.search import SearchResult

KEY = "frontline"


def sources(result: SearchResult, limit: int = 3) -> list[dict[str, Any]]:
    return [
        {"article_id": h.article_id, "title": h.title, "url": h.url, "score": h.score}
        for h in result.hits[:limit]
    ]


def answer(result: SearchResult) -> dict[str, Any]:
    kind = "answer" if result.decision == "answer" else "no_answer"
    return {
        KEY: {
            "kind": kind,
            "decision": result.decision,
            "confidence": result.confidence,
            "sources": sources(result, 1 if kind == "answer" else 3),
        }
    }


def handoff(reason: str, priority: str = "normal") -> dict[str, Any]:
    return {KEY: {"kind": "handoff", "reason": reason, "priority": priority}}
