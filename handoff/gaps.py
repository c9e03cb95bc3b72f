"""Knowledge gaps, as support data shows them: the customers' questions the bot could not
settle before a person took over. Reads only; grouping them into topics is the knowledge
base's work (`retrieval.topics`), done by the caller."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff.models import Ticket
from handoff.privacy import ERASED
from handoff.states import MessageRole

# Why a question counts as a gap: the bot found nothing to answer with, offered choices and
# the customer still needed a person, or answered and was told it did not help.
NO_ANSWER, CLARIFIED, NOT_HELPFUL = "no_answer", "clarified", "not_helpful"


@dataclass(frozen=True)
class GapQuestion:
    question: str
    kind: str  # NO_ANSWER, CLARIFIED or NOT_HELPFUL
    article_id: str | None  # the article the bot tried or offered first, if any
    ticket_number: int
    conversation_id: int
    channel: str
    language: str
    asked_at: datetime
    agent_answers: tuple[str, ...]  # what agents wrote in that conversation


def _kind(attempt: dict[str, object]) -> str | None:
    if attempt.get("feedback") == "not_helpful":
        return NOT_HELPFUL
    decision = attempt.get("decision")
    if decision == "escalate":
        return NO_ANSWER
    if decision == "clarify":
        return CLARIFIED
    return None


def _first_article(attempt: dict[str, object]) -> str | None:
    for key in ("sources", "hits"):
        items = attempt.get(key)
        if isinstance(items, list) and items and isinstance(items[0], dict):
            article = items[0].get("article_id")
            if isinstance(article, str):
                return article
    return None


def gap_questions(
    session: Session, *, since: datetime, until: datetime | None = None, limit: int = 5000
) -> list[GapQuestion]:
    """The gap questions of the tickets opened in [since, until), oldest first."""
    query = select(Ticket).where(Ticket.created_at >= since).order_by(Ticket.id)
    if until is not None:
        query = query.where(Ticket.created_at < until)
    found: list[GapQuestion] = []
    for ticket in session.scalars(query.limit(limit)):
        answers = tuple(
            m.text
            for m in ticket.conversation.messages
            if m.role is MessageRole.AGENT and m.text != ERASED
        )
        for attempt in ticket.bot_attempts or []:
            kind = _kind(attempt)
            question = str(attempt.get("question") or "").strip()
            if kind is None or not question or question == ERASED:
                continue
            found.append(
                GapQuestion(
                    question=question,
                    kind=kind,
                    article_id=_first_article(attempt),
                    ticket_number=ticket.number,
                    conversation_id=ticket.conversation_id,
                    channel=ticket.channel,
                    language=ticket.language,
                    asked_at=ticket.created_at,
                    agent_answers=answers,
                )
            )
    return found
