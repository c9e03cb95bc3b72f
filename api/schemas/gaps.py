"""The knowledge-gaps report (`api/routes/gaps.py`)."""

from __future__ import annotations

from typing import Literal

from api.schemas.base import Schema
from api.schemas.reports import HelpArticleFigures


class GapSuggestion(Schema):
    """`add_phrasings`: these questions to that article; `new_article`: a Markdown draft."""

    action: Literal["add_phrasings", "new_article"]
    lang: str
    article_id: str | None = None
    title: str | None = None
    questions: list[str] | None = None
    draft: str | None = None


class GapTopic(Schema):
    size: int
    examples: list[str]
    questions: list[str]
    kinds: dict[str, int]  # no_answer, clarified, not_helpful
    channels: dict[str, int]
    languages: dict[str, int]
    tickets: list[int]
    agent_answers: list[str]
    suggestion: GapSuggestion


class GapReport(Schema):
    since: str
    until: str | None
    questions: int
    topics: list[GapTopic]
    help_articles_not_helpful: list[HelpArticleFigures]


# What became of the index build after an edit (api/index_builds.py): "published",
# "unchanged" (the served index already had it), "failed" (the served index stays; the
# error says why) or "building" (it goes on in the background: GET /api/kb/build).
IndexBuildOutcome = Literal["published", "unchanged", "failed", "building"]


class PhrasingsAdded(Schema):
    article_id: str
    added: list[str]
    # A new index with the change was published before the response.
    index_rebuilt: bool
    index_status: IndexBuildOutcome
    index_error: str | None


class KbArticleBrief(Schema):
    id: str
    lang: str
    title: str
    tags: list[str]
    questions: int
    url: str | None
    updated: str | None
    path: str


class KbArticleList(Schema):
    articles: list[KbArticleBrief]


class KbArticleOut(Schema):
    id: str
    lang: str
    title: str
    body: str
    questions: list[str]
    tags: list[str]
    url: str | None
    updated: str | None
    path: str


class KbSaved(Schema):
    changed: bool
    index_rebuilt: bool
    index_status: IndexBuildOutcome
    index_error: str | None
    revision_id: int | None


class KbBuildOut(Schema):
    """The hub's index builds after edits, and the index it serves."""

    state: Literal["idle", "building", "failed"]
    pending: bool
    started_at: str | None
    finished_at: str | None
    seconds: float | None
    error: str | None
    served_built_at: str | None


class KbRevisionOut(Schema):
    id: int
    action: str
    at: str
    author: str | None
    text: str
    previous: str | None


class KbHistory(Schema):
    revisions: list[KbRevisionOut]
