"""Editing the knowledge base in the browser. The Markdown files stay the source of truth:
a save composes the article's file from the form, checks the whole knowledge base with the
change in place (an error names its line and nothing is written), writes the file
atomically, records the change in the history and publishes a rebuilt index (the served one
swaps from the next search, so customers never wait; a build longer than
`edit_wait_seconds` goes on in the background and the save says so). Files edited on the
server are what the editor opens next, so both ways keep working."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from api.hub import Hub
from api.knowledge_edit import IndexAfterEdit, KbEditError, edit_lock, rebuild_after_edit
from handoff import audit, kb_history
from retrieval.articles import Article, SourceError, parse_article, read_source
from retrieval.kb_edit import write_atomically
from retrieval.sources import load_articles

MAX_ARTICLE_CHARS = 200_000


@dataclass(frozen=True)
class ArticleFields:
    title: str
    body: str
    questions: list[str]
    tags: list[str]
    url: str | None


def _meta_and_body(text: str) -> tuple[dict[str, Any], str]:
    lines = text.split("\n")
    end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    meta = yaml.safe_load("\n".join(lines[1:end])) or {}
    return (meta if isinstance(meta, dict) else {}), "\n".join(lines[end + 1 :])


def compose(article_id: str, lang: str, fields: ArticleFields, previous: str | None) -> str:
    """The file's text: the previous front matter's other keys kept, these fields set."""
    meta: dict[str, Any] = {}
    if previous is not None:
        try:
            meta, _ = _meta_and_body(previous)
        except (StopIteration, yaml.YAMLError):
            meta = {}
    meta.update(
        {
            "id": article_id,
            "title": fields.title.strip(),
            "questions": [q.strip() for q in fields.questions if q.strip()],
            "tags": [t.strip() for t in fields.tags if t.strip()],
            "lang": lang,
            "updated": datetime.now(UTC).date().isoformat(),
        }
    )
    if fields.url:
        meta["url"] = fields.url.strip()
    else:
        meta.pop("url", None)
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=100).strip()
    return f"---\n{front}\n---\n{fields.body.strip()}\n"


def find(kb_dir: Path, article_id: str, lang: str) -> Article | None:
    return next((a for a in load_articles(kb_dir) if a.id == article_id and a.lang == lang), None)


def new_path(kb_dir: Path, article_id: str, lang: str) -> Path:
    folder = kb_dir if lang == "en" else kb_dir / lang
    return folder / f"{article_id}.md"


def check(kb_dir: Path, path: Path, text: str) -> None:
    """The whole knowledge base must load with `text` at `path` (SourceError otherwise)."""
    parse_article(path, text)
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "kb"
        shutil.copytree(kb_dir, copy)
        target = copy / path.relative_to(kb_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        try:
            load_articles(copy)
        except SourceError as error:
            raise SourceError(path, error.line, error.problem) from None


def _save(
    hub: Hub, article_id: str, lang: str, text: str | None, fields: ArticleFields | None
) -> tuple[Path, str | None, str]:
    kb_dir = hub.settings.kb_dir
    if hub.knowledge.kb is None:
        raise KbEditError(503, "the knowledge base is not loaded")
    with edit_lock:
        try:
            existing = find(kb_dir, article_id, lang)
        except SourceError as error:
            raise KbEditError(409, f"the knowledge base has an error: {error}") from error
        path = (
            Path(existing.path)
            if existing and existing.path
            else new_path(kb_dir, article_id, lang)
        )
        if path.suffix != ".md":
            raise KbEditError(409, f"{article_id!r} is kept in {path.name}, not a Markdown file")
        before = read_source(path) if path.exists() else None
        after = text if text is not None else compose(article_id, lang, fields, before)  # type: ignore[arg-type]
        if len(after) > MAX_ARTICLE_CHARS:
            raise KbEditError(413, f"an article holds at most {MAX_ARTICLE_CHARS} characters")
        if after != before:
            check(kb_dir, path, after)
            write_atomically(path, after)
        return path, before, after


async def save(
    hub: Hub,
    *,
    article_id: str,
    lang: str,
    author_id: int,
    ip: str,
    fields: ArticleFields | None = None,
    text: str | None = None,
    action: str = "edit",
) -> dict[str, Any]:
    """Create or change an article (from `fields`, or a whole file `text` when restoring);
    SourceError (with its line) when the knowledge base would not load."""
    path, before, after = await asyncio.to_thread(_save, hub, article_id, lang, text, fields)
    if before == after:
        return {"changed": False, **_index_fields(IndexAfterEdit("unchanged")), "revision_id": None}
    kind = "create" if before is None else action

    def record(session: Any) -> tuple[int, list[Any]]:
        revision, _ = kb_history.record(
            session, article_id=article_id, lang=lang, path=str(path), action=kind,
            before=before, after=after, author_id=author_id,
        )  # fmt: skip
        audit.record(
            session, actor_id=author_id, action="kb_edit", target=f"article {article_id}",
            detail={"lang": lang, "change": kind, "revision": revision.id}, ip=ip,
        )  # fmt: skip
        return revision.id, []

    revision_id = await hub.flow.write(record)
    index = await rebuild_after_edit(hub)
    return {"changed": True, **_index_fields(index), "revision_id": revision_id}


def _index_fields(index: IndexAfterEdit) -> dict[str, Any]:
    return {
        "index_rebuilt": index.rebuilt,
        "index_status": index.status,
        "index_error": index.error,
    }
