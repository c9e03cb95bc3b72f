"""Changing the knowledge base from the hub: edit the article's file, then build and publish
the index. Files in `kb_content/` stay the source of truth; the served index swaps
atomically when the build is done (searches pick it up within seconds), so customers are
answered throughout. A build that takes longer than `edit_wait_seconds` goes on in the
background (api/index_builds.py), and the edit says so."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from api.hub import Hub
from api.index_builds import Outcome
from retrieval.articles import SourceError, read_source
from retrieval.kb_edit import add_questions
from retrieval.sources import load_articles

# One edit of the files at a time: each reads, checks and writes the knowledge base as the
# one before left it. Builds are serialised apart (api/index_builds.py).
edit_lock = threading.Lock()


@dataclass(frozen=True)
class IndexAfterEdit:
    """What became of the index build that takes an edit in, within the wait."""

    status: Outcome
    error: str | None = None

    @property
    def rebuilt(self) -> bool:
        return self.status == "published"


async def rebuild_after_edit(hub: Hub) -> IndexAfterEdit:
    """Ask for a build that takes the files as they are now, and wait for it up to
    `edit_wait_seconds`."""
    builds = hub.index_builds
    request = builds.request()
    status, error = await asyncio.to_thread(builds.wait, request, hub.settings.edit_wait_seconds)
    return IndexAfterEdit(status, error)


class KbEditError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class PhrasingsAdded:
    added: list[str]
    index: IndexAfterEdit
    path: Path
    lang: str
    before: str
    after: str


def _edit(hub: Hub, article_id: str, questions: Sequence[str], lang: str | None) -> PhrasingsAdded:
    settings = hub.settings
    if hub.knowledge.kb is None:
        raise KbEditError(503, "the knowledge base is not loaded")
    with edit_lock:
        try:
            articles = [a for a in load_articles(settings.kb_dir) if a.id == article_id]
        except SourceError as error:
            raise KbEditError(409, f"the knowledge base has an error: {error}") from error
        if not articles:
            raise KbEditError(404, f"no article {article_id!r}")
        # The version in the questions' language, else the English one, else any.
        article = (
            next((a for a in articles if a.lang == lang), None)
            or next((a for a in articles if a.lang == "en"), None)
            or articles[0]
        )
        if article.path is None:
            raise KbEditError(409, f"article {article_id!r} is not kept in a Markdown file")
        path = Path(article.path)
        if path.suffix != ".md" or not path.is_file():
            raise KbEditError(409, f"article {article_id!r} is not kept in a Markdown file")
        before = read_source(path)
        added = add_questions(path, questions)
        unchanged = IndexAfterEdit("unchanged")
        if not added:
            return PhrasingsAdded([], unchanged, path, article.lang, before, before)
        after = read_source(path)
        return PhrasingsAdded(added, unchanged, path, article.lang, before, after)


async def add_phrasings(
    hub: Hub, *, article_id: str, questions: Sequence[str], lang: str | None = None
) -> PhrasingsAdded:
    """The questions added, what became of the index build, and the file's change."""
    done = await asyncio.to_thread(_edit, hub, article_id, questions, lang)
    if not done.added:
        return done
    return dataclasses.replace(done, index=await rebuild_after_edit(hub))
