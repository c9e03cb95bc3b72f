"""Health, knowledge-base search and canned responses (`api/routes/health.py`, `kb.py`)."""

from __future__ import annotations

from typing import Literal

from api.schemas.base import Schema


class RasaStatus(Schema):
    ok: bool
    url: str
    detail: str


class IndexStatus(Schema):
    """`{ok, detail}` when the index is not loaded, else `{ok, articles, chunks, model,
    built_at}` from its manifest; served with `response_model_exclude_unset`, so only the
    keys of the case at hand go out."""

    ok: bool
    detail: str | None = None
    articles: int | None = None
    chunks: int | None = None
    model: str | None = None
    built_at: str | None = None


class HealthOut(Schema):
    status: Literal["ok", "degraded"]
    rasa: RasaStatus
    index: IndexStatus


class KbHit(Schema):
    article_id: str
    title: str
    url: str | None
    section: str | None
    snippet: str
    score: float


class KbSearchOut(Schema):
    query: str
    decision: Literal["answer", "clarify", "escalate"]
    confidence: float
    hits: list[KbHit]


class PastReplyOut(Schema):
    """An agent's reply to a similar question, in a conversation the customer rated well."""

    text: str
    question: str
    score: float
    conversation_id: int
    ticket_number: int
    rating: int


class AssistOut(Schema):
    """Suggestions for the customer's latest message (`message_id`; null when the customer
    has not written yet): the knowledge base's best sections and past rated replies."""

    message_id: int | None
    query: str | None
    decision: Literal["answer", "clarify", "escalate"] | None
    articles: list[KbHit]
    replies: list[PastReplyOut]


class CannedResponse(Schema):
    id: str
    title: str
    shortcut: str
    text: str


class CannedResponses(Schema):
    """`error` only when the file exists but could not be read (exclude_unset keeps it
    off the wire otherwise)."""

    canned_responses: list[CannedResponse]
    error: str | None = None
