"""What customers do in the help center: which articles they read, and whether an article
helped. Counted per article, language and day."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handoff.events import Event
from handoff.models import HelpArticleDay, utcnow

Counter = Literal["views", "helpful", "not_helpful"]


def count(
    session: Session, *, article_id: str, lang: str, counter: Counter, day: date | None = None
) -> tuple[None, list[Event]]:
    """One more view, or one more answer to "Was this article helpful?"."""
    day = day or utcnow().date()
    row = session.scalars(
        select(HelpArticleDay).where(
            HelpArticleDay.article_id == article_id,
            HelpArticleDay.lang == lang,
            HelpArticleDay.day == day,
        )
    ).first()
    if row is None:
        row = HelpArticleDay(
            article_id=article_id, lang=lang, day=day, views=0, helpful=0, not_helpful=0
        )
        session.add(row)
    setattr(row, counter, getattr(row, counter) + 1)
    session.flush()
    return None, []


def most_viewed(session: Session, *, since: date, limit: int = 5) -> list[tuple[str, int]]:
    """(article id, views) of the most read articles since `since`, all languages."""
    rows = session.execute(
        select(HelpArticleDay.article_id, func.sum(HelpArticleDay.views).label("views"))
        .where(HelpArticleDay.day >= since)
        .group_by(HelpArticleDay.article_id)
        .order_by(func.sum(HelpArticleDay.views).desc(), HelpArticleDay.article_id)
        .limit(limit)
    ).all()
    return [(article_id, int(views)) for article_id, views in rows if views]


def article_figures(
    session: Session, *, since: date, until: date | None = None
) -> list[dict[str, Any]]:
    """Per article: views, helpful, not helpful, over [since, until]."""
    query = select(
        HelpArticleDay.article_id,
        func.sum(HelpArticleDay.views),
        func.sum(HelpArticleDay.helpful),
        func.sum(HelpArticleDay.not_helpful),
    ).where(HelpArticleDay.day >= since)
    if until is not None:
        query = query.where(HelpArticleDay.day <= until)
    rows = session.execute(
        query.group_by(HelpArticleDay.article_id).order_by(HelpArticleDay.article_id)
    ).all()
    return [
        {"article_id": a, "views": int(v or 0), "helpful": int(h or 0), "not_helpful": int(n or 0)}
        for a, v, h, n in rows
    ]
