"""Knowledge-base sources: Markdown articles with YAML front matter, split into chunks."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from retrieval.languages import guess_language, is_tag

# Ids in any script: letters and digits of any language, '.', '_', '-' and the zero-width
# non-joiner Persian words contain; no spaces, slashes or other punctuation.
_ID_PATTERN = re.compile(r"^[^\W_][\w.\u200c-]*$")
_HEADING = re.compile(r"^(#{2,3})\s+(.+?)\s*#*\s*$")


class SourceError(ValueError):
    """A knowledge-base source that cannot be used; says which file, line and why."""

    def __init__(self, path: Path, line: int, problem: str) -> None:
        super().__init__(f"{path}:{line}: {problem}")
        self.path = path
        self.line = line
        self.problem = problem


def read_source(path: Path) -> str:
    """A source file's text: UTF-8, with or without the byte-order mark Windows editors and
    spreadsheet exports write; any other encoding is a SourceError that names the line."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise SourceError(
            path,
            line,
            f"not UTF-8 text (byte 0x{data[error.start]:02x}); save the file as UTF-8",
        ) from None


@dataclass(frozen=True)
class Chunk:
    """A piece of an article that is embedded and searched on its own."""

    article_id: str
    section: str | None  # None for the article's lead (the text before the first heading)
    text: str


@dataclass(frozen=True)
class Article:
    id: str
    title: str
    body: str
    questions: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    lang: str = "en"
    url: str | None = None
    updated: str | None = None
    path: str | None = None
    chunks: tuple[Chunk, ...] = field(default=(), compare=False)
    # The file did not say (`lang:`): `lang` is guess_language's, from the script.
    lang_guessed: bool = field(default=False, compare=False)

    @property
    def lead(self) -> str:
        """The first paragraph: the direct answer shown as the snippet."""
        for paragraph in re.split(r"\n\s*\n", self.body.strip()):
            if paragraph.strip() and not paragraph.lstrip().startswith("#"):
                return paragraph.strip()
        return self.title


def _split_front_matter(path: Path, text: str) -> tuple[dict[str, object], str, int]:
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise SourceError(path, 1, "missing YAML front matter (the file must start with '---')")
    for number, line in enumerate(lines[1:], start=2):
        if line.strip() == "---":
            raw = "\n".join(lines[1 : number - 1])
            try:
                meta = yaml.safe_load(raw) or {}
            except yaml.YAMLError as error:
                mark = getattr(error, "problem_mark", None)
                line_no = (mark.line + 2) if mark is not None else 1
                raise SourceError(path, line_no, f"invalid YAML front matter: {error}") from None
            if not isinstance(meta, dict):
                raise SourceError(path, 2, "front matter must be a mapping of fields")
            return meta, "\n".join(lines[number:]), number + 1
    raise SourceError(path, 1, "front matter is not closed by a '---' line")


def _strings(path: Path, meta: dict[str, object], key: str) -> tuple[str, ...]:
    value = meta.get(key, [])
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise SourceError(path, 1, f"'{key}' must be a list of non-empty strings")
    return tuple(v.strip() for v in value)


def chunk_body(article_id: str, body: str) -> tuple[Chunk, ...]:
    """Split at level-2/3 headings so each chunk keeps its article and section."""
    chunks: list[Chunk] = []
    section: str | None = None
    buffer: list[str] = []

    def flush() -> None:
        text = "\n".join(buffer).strip()
        if text:
            chunks.append(Chunk(article_id, section, text))

    for line in body.splitlines():
        heading = _HEADING.match(line)
        if heading:
            flush()
            section, buffer = heading.group(2), []
        else:
            buffer.append(line)
    flush()
    return tuple(chunks)


def parse_article(path: Path, text: str) -> Article:
    meta, body, _body_line = _split_front_matter(path, text)
    article_id = str(meta.get("id") or path.stem).strip()
    if not _ID_PATTERN.match(article_id) or len(article_id) > 200:
        raise SourceError(
            path, 2, f"id {article_id!r} must be letters or digits (any script), '.', '_' or '-'"
        )
    declared = meta.get("lang")
    # Undeclared: "en", unless the article is written in another script (guess_language).
    lang = str(declared).strip() if declared else guess_language(_all_text(meta, body))
    if not is_tag(lang):
        raise SourceError(path, 2, f"lang {lang!r} must be a language tag such as en, zh or fa")
    title = meta.get("title")
    if not isinstance(title, str) or not title.strip():
        raise SourceError(path, 2, "'title' is required")
    if not body.strip():
        raise SourceError(path, 1, "the article has no body")
    url = meta.get("url")
    if url is not None and not (isinstance(url, str) and re.match(r"^https?://", url)):
        raise SourceError(path, 2, "'url' must be an http(s) URL")
    updated = meta.get("updated")
    if isinstance(updated, date):
        updated = updated.isoformat()
    return Article(
        id=article_id,
        title=title.strip(),
        body=body.strip(),
        questions=_strings(path, meta, "questions"),
        tags=_strings(path, meta, "tags"),
        lang=lang,
        url=url,
        updated=str(updated) if updated is not None else None,
        path=str(path),
        chunks=chunk_body(article_id, body),
        lang_guessed=not declared,
    )


def _all_text(meta: dict[str, Any], body: str) -> str:
    questions = meta.get("questions")
    asked = [str(q) for q in questions] if isinstance(questions, list) else []
    return "\n".join([str(meta.get("title") or ""), *asked, body])
