"""The hub's own words to customers (queue position, hand-off, transfer and reopen notices,
the rating questions) as message keys.

A notice is a list of `Say` parts: an English text that is also its gettext msgid (marked
with `N_` for `pybabel extract`), and the values for its `{placeholders}`. `add_message`
stores the English text and the parts (payload "say"); the hub renders them in the
conversation's language from its message catalogs before the message is committed
(api/i18n), so this package needs no catalogs, no settings and no hub import.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

PAYLOAD_KEY = "say"


def N_(msgid: str) -> str:
    """Marks a msgid for extraction; the text itself is the English message."""
    return msgid


@dataclass(frozen=True)
class Say:
    msgid: str
    params: Mapping[str, str | int] = field(default_factory=dict)
    # Text that is not ours to translate (a knowledge-base answer quoted in a notice).
    literal: bool = False
    # Starts a new paragraph (a literal part always does).
    paragraph: bool = False


def say(msgid: str, **params: str | int) -> Say:
    return Say(msgid, params)


def literal(text: str) -> Say:
    return Say(text, literal=True, paragraph=True)


def render(parts: Sequence[Say], translate: Callable[[str], str] = N_) -> str:
    """The parts in one text, each through `translate` (msgid to template), then filled;
    a literal part as it is."""
    text = ""
    for p in parts:
        if text:
            text += "\n\n" if p.paragraph else " "
        text += p.msgid if p.literal else translate(p.msgid).format(**p.params)
    return text


def with_params(parts: Sequence[Say], **params: str | int) -> list[Say]:
    return [p if p.literal else replace(p, params={**p.params, **params}) for p in parts]


def to_payload(parts: Sequence[Say]) -> list[dict[str, Any]]:
    return [
        {
            "msgid": p.msgid,
            "params": dict(p.params),
            **({"literal": True} if p.literal else {}),
            **({"paragraph": True} if p.paragraph else {}),
        }
        for p in parts
    ]


def from_payload(raw: object) -> list[Say]:
    """The parts a stored message was made of; [] for anything else."""
    if not isinstance(raw, list):
        return []
    parts = []
    for item in raw:
        if isinstance(item, dict) and isinstance(item.get("msgid"), str):
            params = item.get("params")
            params = params if isinstance(params, dict) else {}
            parts.append(
                Say(
                    item["msgid"],
                    params,
                    literal=bool(item.get("literal")),
                    paragraph=bool(item.get("paragraph")),
                )
            )
    return parts
