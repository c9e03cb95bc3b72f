"""Knowledge gaps for leads: the questions the bot could not settle, grouped into topics with
a suggestion each, and the one-click fix "add these phrasings to article X"."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api import schemas
from api.hub import Hub
from api.knowledge_edit import KbEditError, add_phrasings
from api.routes.deps import AgentRef, get_hub, require
from handoff import audit, gaps, help_feedback, kb_history
from handoff.events import Event
from handoff.states import AgentRole
from retrieval.gap_report import gap_topics

router = APIRouter(prefix="/api/kb", tags=["knowledge base"])

DEFAULT_DAYS = 30


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


@router.get("/gaps", response_model=schemas.GapReport)
def knowledge_gaps(
    since: date | None = Query(default=None, description="First day (UTC); default 30 days ago."),
    until: date | None = Query(default=None, description="Last day included (UTC)."),
    hub: Hub = Depends(get_hub),
    _lead: AgentRef = Depends(require(AgentRole.LEAD)),
) -> dict[str, Any]:
    """A sync route: grouping runs the encoder, in FastAPI's thread pool."""
    first = since or (datetime.now(UTC).date() - timedelta(days=DEFAULT_DAYS))
    if until is not None and until < first:
        raise HTTPException(422, "until is before since")
    with hub.sessions() as session:
        asked = gaps.gap_questions(
            session,
            since=_day_start(first),
            until=_day_start(until + timedelta(days=1)) if until else None,
        )
        # Help-center articles readers said did not help: gaps too, without a question.
        read = help_feedback.article_figures(session, since=first, until=until)
    kb = hub.knowledge.kb
    if kb is None:
        raise HTTPException(503, "the knowledge base is not loaded")
    return {
        "since": first.isoformat(),
        "until": until.isoformat() if until else None,
        "questions": len(asked),
        "topics": gap_topics(kb, asked),
        "help_articles_not_helpful": sorted(
            (a for a in read if a["not_helpful"]), key=lambda a: -a["not_helpful"]
        ),
    }


class PhrasingsBody(BaseModel):
    article_id: str = Field(min_length=1, max_length=200)
    questions: list[str] = Field(min_length=1, max_length=50)
    lang: str | None = Field(default=None, max_length=16)


@router.post("/gaps/phrasings", response_model=schemas.PhrasingsAdded)
async def add_gap_phrasings(
    body: PhrasingsBody,
    hub: Hub = Depends(get_hub),
    lead: AgentRef = Depends(require(AgentRole.LEAD)),
) -> dict[str, Any]:
    """Add the questions to the article's file and publish a rebuilt index; the bot and the
    console answer from it within seconds, without a restart (a longer build goes on in the
    background: `index_status` "building", then GET /api/kb/build)."""
    questions = [q.strip()[:300] for q in body.questions if q.strip()]
    try:
        done = await add_phrasings(
            hub, article_id=body.article_id, questions=questions, lang=body.lang
        )
    except KbEditError as error:
        raise HTTPException(error.status, str(error)) from error

    def record(session: Session) -> tuple[None, list[Event]]:
        if done.added:  # in the article's history, so the change can be undone
            kb_history.record(
                session, article_id=body.article_id, lang=done.lang, path=str(done.path),
                action="edit", before=done.before, after=done.after, author_id=lead.id,
            )  # fmt: skip
        audit.record(
            session, actor_id=lead.id, action="kb_edit", target=f"article {body.article_id}",
            detail={"added_questions": len(done.added)}, ip=lead.ip,
        )  # fmt: skip
        return None, []

    await hub.flow.write(record)
    return {
        "article_id": body.article_id,
        "added": done.added,
        "index_rebuilt": done.index.rebuilt,
        "index_status": done.index.status,
        "index_error": done.index.error,
    }
