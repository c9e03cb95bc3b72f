"""An article's Markdown as safe HTML: raw HTML in the source is shown as text, links are
http(s), mailto or relative only, and every section heading gets the anchor the bot's
answers link to (`retrieval.sections.section_anchors`). A search result's snippet as plain
text."""

from __future__ import annotations

import re

from markdown_it import MarkdownIt

from retrieval.sections import section_anchors

_SAFE_LINK = re.compile(r"^(https?:|mailto:|/|#|\.{0,2}/)", re.IGNORECASE)


def _renderer() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable("table")
    md.validateLink = lambda url: bool(_SAFE_LINK.match(url.strip()))  # type: ignore[method-assign]
    return md


_MD = _renderer()


def render(body: str) -> str:
    """HTML of an article's body; h2/h3 carry ids (the sections' anchors)."""
    tokens = _MD.parse(body)
    headings = [
        (i, tokens[i + 1].content)
        for i, t in enumerate(tokens)
        if t.type == "heading_open" and t.tag in ("h2", "h3") and i + 1 < len(tokens)
    ]
    for (i, _), anchor in zip(
        headings, section_anchors([text for _, text in headings]), strict=True
    ):
        if anchor:
            tokens[i].attrSet("id", anchor)
    for token in tokens:
        for child in token.children or []:
            if child.type == "link_open" and str(child.attrGet("href") or "").startswith("http"):
                child.attrSet("rel", "noopener noreferrer")
    html: str = _MD.renderer.render(tokens, _MD.options, {})
    return html


def plain_text(markdown: str) -> str:
    """What a reader sees of `markdown`, without its markup: a search result's snippet reads
    "Go to Admin > Billing", not "Go to **Admin > Billing**". Blocks (paragraphs, list items)
    are joined by a space."""
    blocks = []
    for token in _MD.parse(markdown):
        if token.type != "inline":
            continue
        words = [
            " " if child.type in ("softbreak", "hardbreak") else child.content
            for child in token.children or []
            if child.type in ("text", "code_inline", "html_inline", "softbreak", "hardbreak")
        ]
        blocks.append("".join(words).strip())
    return " ".join(block for block in blocks if block)
