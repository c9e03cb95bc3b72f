"""Changing the knowledge base from the hub: edit the article's file, then build and publish
the index. Files in `kb_content/` stay the source of truth; the served index swaps
atomically when the build is done (searches pick it up within seconds), so customers are
answered throughout."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from api.hub import Hub
from api.settings import Settings
from retrieval.articles import SourceError
from retrieval.encoder import Encoder
from retrieval.kb_edit import add_questions
from retrieval.search import build_index
from retrieval.sources import load_articles

# One build at a time per process: two would embed the same articles twice.
build_lock = threading.Lock()


def publish_index(settings: Settings, encoder: Encoder) -> bool:
    """Build and publish the index of `settings.kb_dir` as `frontline kb build` would, with
    the encoder the hub serves (an index for another encoder would not be served)."""
    _index, built = build_index(
        settings.kb_dir,
        settings.index_path,
        encoder,
        target_precision=settings.target_precision,
        serve_languages=settings.serve_languages,
    )
    return built


class KbEditError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class PhrasingsAdded:
    added: list[str]
    index_rebuilt: bool
    path: Path
    lang: str
    before: str
    after: str


def _edit_and_build(
    hub: Hub, article_id: str, questions: Sequence[str], lang: str | None
) -> PhrasingsAdded:
    settings = hub.settings
    kb = hub.knowledge.kb
    if kb is None:
        raise KbEditError(503, "the knowledge base is not loaded")
    with build_lock:
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
        before = path.read_text(encoding="utf-8")
        added = add_questions(path, questions)
        if not added:
            return PhrasingsAdded([], False, path, article.lang, before, before)
        after = path.read_text(encoding="utf-8")
        built = publish_index(settings, kb.builder)
        return PhrasingsAdded(added, built, path, article.lang, before, after)


async def add_phrasings(
    hub: Hub, *, article_id: str, questions: Sequence[str], lang: str | None = None
) -> PhrasingsAdded:
    """The questions added, whether a new index was published, and the file's change."""
    return await asyncio.to_thread(_edit_and_build, hub, article_id, questions, lang)
