"""Small edits of knowledge-base files that keep the author's text as it is."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import yaml

from retrieval.articles import SourceError, read_source


def add_questions(path: Path, questions: Sequence[str]) -> list[str]:
    """Append `questions` the article does not have yet to its front matter's `questions`;
    returns those added. Only the front matter is rewritten: the body stays byte for byte.
    The file is replaced atomically, so the index builder never reads half of it."""
    text = read_source(path)
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        raise SourceError(path, 1, "missing YAML front matter (the file must start with '---')")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise SourceError(path, 1, "front matter is not closed by a '---' line") from None
    meta = yaml.safe_load("\n".join(lines[1:end])) or {}
    if not isinstance(meta, dict):
        raise SourceError(path, 2, "front matter must be a mapping of fields")
    existing = meta.get("questions") or []
    if isinstance(existing, str):
        existing = [existing]
    known = {" ".join(str(q).lower().split()) for q in existing}
    added = []
    for question in questions:
        key = " ".join(question.lower().split())
        if question.strip() and key not in known:
            known.add(key)
            added.append(question.strip())
    if not added:
        return []
    meta["questions"] = [*existing, *added]
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=100).rstrip("\n")
    updated = "\n".join(["---", front, *lines[end:]])
    write_atomically(path, updated)
    return added


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` in one step: the index builder (or a hub reading the
    help center) never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
