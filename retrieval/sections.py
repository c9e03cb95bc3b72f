"""Sections of an article as answers: their anchors, and snippets trimmed to whole sentences."""

from __future__ import annotations

import re
from collections.abc import Sequence

# GitHub's slugger keeps letters, digits, marks, '_', '-' and spaces (spaces become '-').
_NOT_SLUG = re.compile(r"[^\w\- ]", re.UNICODE)
# A sentence ends at . ! ? or … (optionally followed by closing quotes or brackets) before
# whitespace, or at a line break (list items, paragraphs).
_SENTENCE_END = re.compile(r"[.!?…][\"')\]*_]*(?=\s)|\n")
_LIST_MARKER = re.compile(r"\s*(\d+|[a-zA-Z])[.)]")


def slug(heading: str) -> str:
    """GitHub-style anchor of a heading: lower case, punctuation dropped, spaces to '-'."""
    # Emphasis and code markers; an underscore inside a word (snake_case) stays.
    text = re.sub(r"[*`]+|(?<!\w)_+|_+(?!\w)", "", heading.strip())
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # [text](link) -> text
    return _NOT_SLUG.sub("", text.lower()).replace(" ", "-")


def section_anchors(sections: Sequence[str | None]) -> list[str | None]:
    """Anchors for an article's sections in order, repeated headings numbered as GitHub
    numbers them (`faq`, `faq-1`, ...); None for the lead."""
    seen: dict[str, int] = {}
    anchors: list[str | None] = []
    for section in sections:
        if section is None:
            anchors.append(None)
            continue
        base = slug(section)
        anchor = base
        while anchor in seen:
            seen[base] += 1
            anchor = f"{base}-{seen[base]}"
        seen[anchor] = 0
        anchors.append(anchor)
    return anchors


def trim_to_sentences(text: str, limit: int) -> str:
    """`text` if it fits in `limit` characters, else its longest run of whole sentences that
    fits; a first sentence longer than `limit` is cut at a word and ends with '…'."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = 0
    for match in _SENTENCE_END.finditer(text):
        if match.end() > limit:
            break
        line_start = text.rfind("\n", 0, match.start()) + 1
        if _LIST_MARKER.fullmatch(text[line_start : match.end()]):
            continue  # "3." opening a numbered list item ends no sentence
        cut = match.end()
    if cut:
        return text[:cut].rstrip()
    words = text[: limit - 1].rsplit(None, 1)[0] if " " in text[: limit - 1] else text[: limit - 1]
    return words.rstrip(" ,;:") + "…"
