"""Our messages as plain text for channels without rich formatting."""

from __future__ import annotations

import re

from api.channels.base import OutboundMessage
from api.i18n import shared_catalogs
from handoff.texts import N_

_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)\s]+)\)")
_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1")


def markdown_to_text(text: str) -> str:
    """Links as "title (url)", emphasis marks dropped: readable in any client."""
    text = _LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})", text)
    return _EMPHASIS.sub(lambda m: m.group(2), text)


def plain_text(message: OutboundMessage, *, numbered_buttons: bool = False) -> str:
    """The text, its sources, and (where the channel has no buttons) the choices as a
    numbered list the customer answers with a number."""
    translate = shared_catalogs().translator(str(message.context.get("language") or "en"))
    parts = [markdown_to_text(message.text)]
    sources = [s for s in message.sources if s.get("url") or s.get("title")]
    if sources:
        lines = [
            f"- {s.get('title') or s.get('url')}" + (f": {s['url']}" if s.get("url") else "")
            for s in sources
        ]
        parts.append(translate(N_("Source:")) + "\n" + "\n".join(lines))
    if numbered_buttons and message.buttons:
        choices = "\n".join(f"{n}. {b.title}" for n, b in enumerate(message.buttons, start=1))
        parts.append(choices + "\n" + translate(N_("Reply with a number.")))
    return "\n\n".join(p for p in parts if p.strip())


def split_text(text: str, limit: int) -> list[str]:
    """Pieces of at most `limit` characters, cut at a paragraph, line or word boundary."""
    chunks: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = max(
            rest.rfind("\n\n", 0, limit), rest.rfind("\n", 0, limit), rest.rfind(" ", 0, limit)
        )
        if cut <= limit // 2:
            cut = limit
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest or not chunks:
        chunks.append(rest)
    return chunks
