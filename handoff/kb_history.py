"""The history of knowledge-base articles changed in the console: each change's text before
and after, who made it and when."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff.errors import NotFound
from handoff.events import Event
from handoff.models import KbRevision

ACTIONS = frozenset({"create", "edit", "restore"})


def record(
    session: Session,
    *,
    article_id: str,
    lang: str,
    path: str,
    action: str,
    before: str | None,
    after: str,
    author_id: int | None,
) -> tuple[KbRevision, list[Event]]:
    if action not in ACTIONS:
        raise ValueError(f"unknown knowledge-base change {action!r}")
    revision = KbRevision(
        article_id=article_id,
        lang=lang,
        path=path,
        action=action,
        text_before=before,
        text_after=after,
        author_id=author_id,
    )
    session.add(revision)
    session.flush()
    return revision, []


def history(
    session: Session, *, article_id: str, lang: str, limit: int = 50
) -> Sequence[KbRevision]:
    """Newest first."""
    return session.scalars(
        select(KbRevision)
        .where(KbRevision.article_id == article_id, KbRevision.lang == lang)
        .order_by(KbRevision.id.desc())
        .limit(limit)
    ).all()


def get_revision(session: Session, revision_id: int) -> KbRevision:
    revision = session.get(KbRevision, revision_id)
    if revision is None:
        raise NotFound(f"no revision {revision_id}")
    return revision
