"""FAQ files as knowledge-base sources: CSV (`question,answer[,id,title,tags,url]`) or a
JSON list of objects with the same keys. Rows that share an `id` are one article whose
questions are all their phrasings, so authors can list alternatives as extra rows."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

from retrieval.articles import Article, SourceError, chunk_body, read_source

REQUIRED = ("question", "answer")
OPTIONAL = ("id", "title", "tags", "url")
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


@dataclass
class _Row:
    line: int
    fields: dict[str, object]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60].strip("-") or "faq"


def _csv_rows(path: Path, text: str) -> list[_Row]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise SourceError(path, 1, f"missing column(s): {', '.join(missing)}")
    unknown = [c for c in header if c not in REQUIRED + OPTIONAL]
    if unknown:
        raise SourceError(path, 1, f"unknown column(s): {', '.join(unknown)}")
    rows = []
    line = 2
    for raw in reader:
        rows.append(_Row(line, {k.strip(): v for k, v in raw.items() if k is not None}))
        # A quoted answer may span lines: the next row starts after them.
        line = reader.line_num + 1
    return rows


def _json_rows(path: Path, text: str) -> list[_Row]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise SourceError(path, error.lineno, f"invalid JSON: {error.msg}") from None
    if not isinstance(data, list):
        raise SourceError(path, 1, "a JSON FAQ file must hold a list of objects")
    starts = _object_lines(text)
    rows = []
    for position, item in enumerate(data):
        line = starts[position] if position < len(starts) else 1
        if not isinstance(item, dict):
            raise SourceError(path, line, f"item {position + 1} is not an object")
        unknown = [k for k in item if k not in REQUIRED + OPTIONAL]
        if unknown:
            raise SourceError(path, line, f"unknown key(s): {', '.join(unknown)}")
        rows.append(_Row(line, item))
    return rows


def _object_lines(text: str) -> list[int]:
    """The line on which each top-level object of a JSON list starts."""
    lines, depth, in_string, escaped = [], 0, False, False
    line = 1
    for char in text:
        if char == "\n":
            line += 1
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            continue
        if char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if char == "{" and depth == 2:
                lines.append(line)
        elif char in "]}":
            depth -= 1
    return lines


def _string(path: Path, row: _Row, key: str, *, required: bool) -> str | None:
    value = row.fields.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise SourceError(path, row.line, f"'{key}' is empty")
        return None
    if not isinstance(value, str):
        raise SourceError(path, row.line, f"'{key}' must be a string")
    return value.strip()


def _tags(path: Path, row: _Row) -> tuple[str, ...]:
    value = row.fields.get("tags")
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return tuple(t.strip() for t in re.split(r"[,;]", value) if t.strip())
    if isinstance(value, list) and all(isinstance(t, str) for t in value):
        return tuple(t.strip() for t in value if t.strip())
    raise SourceError(
        path, row.line, "'tags' must be a list of strings or a comma-separated string"
    )


@dataclass
class _Draft:
    line: int
    title: str
    answer: str
    url: str | None
    tags: tuple[str, ...]
    questions: list[str]


def load_faq(path: Path) -> list[Article]:
    text = read_source(path)
    rows = _csv_rows(path, text) if path.suffix.lower() == ".csv" else _json_rows(path, text)
    if not rows:
        raise SourceError(path, 1, "the FAQ file has no entries")
    drafts: dict[str, _Draft] = {}  # insertion order is file order
    for row in rows:
        question = _string(path, row, "question", required=True) or ""
        answer = _string(path, row, "answer", required=True) or ""
        url = _string(path, row, "url", required=False)
        if url is not None and not re.match(r"^https?://", url):
            raise SourceError(path, row.line, "'url' must be an http(s) URL")
        article_id = _string(path, row, "id", required=False)
        if article_id is None:
            article_id, n = _slug(question), 2
            while article_id in drafts:
                article_id, n = f"{_slug(question)}-{n}", n + 1
        elif not _ID.match(article_id):
            raise SourceError(
                path,
                row.line,
                f"id {article_id!r} must be lowercase letters, digits, '.', '_' or '-'",
            )
        earlier = drafts.get(article_id)
        if earlier is None:
            title = _string(path, row, "title", required=False) or question
            drafts[article_id] = _Draft(row.line, title, answer, url, _tags(path, row), [question])
            continue
        for key, value in (("answer", answer), ("url", url)):
            if getattr(earlier, key) != value:
                raise SourceError(
                    path, row.line, f"rows with id {article_id!r} disagree on '{key}'"
                )
        earlier.questions.append(question)
    return [
        Article(
            id=article_id,
            title=d.title,
            body=d.answer,
            questions=tuple(d.questions),
            tags=d.tags,
            url=d.url,
            path=str(path),
            chunks=chunk_body(article_id, d.answer),
        )
        for article_id, d in drafts.items()
    ]
