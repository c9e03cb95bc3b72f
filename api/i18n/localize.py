"""Rendering handoff's notices in the conversation's language, before they are stored.

handoff/ appends its notices as message keys (handoff.texts: English text plus the "say"
parts in the payload) and knows nothing of catalogs. A `before_flush` hook on the hub's
sessionmaker renders every new message that has parts in its conversation's language, so
every path that writes one (the routes, the sweep, channel intake) gets it, and what is
stored, sent and shown to agents is what the customer read.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from api.i18n.catalogs import Catalogs, is_rtl
from handoff.models import Message
from handoff.texts import PAYLOAD_KEY, Say, from_payload, render

# First-strong isolate ... pop directional isolate: a name or an email address inside a
# right-to-left sentence keeps its own direction and does not reorder the words around it.
FSI, PDI = "\u2068", "\u2069"


def isolate(parts: list[Say]) -> list[Say]:
    return [
        p
        if p.literal
        else Say(
            p.msgid,
            {k: f"{FSI}{v}{PDI}" if isinstance(v, str) and v else v for k, v in p.params.items()},
            paragraph=p.paragraph,
        )
        for p in parts
    ]


def localize_message(message: Message, catalogs: Catalogs, language: str) -> None:
    parts = from_payload((message.payload or {}).get(PAYLOAD_KEY))
    if not parts:
        return
    translate = catalogs.translator(language)
    message.text = render(isolate(parts) if is_rtl(language) else parts, translate)
    buttons = message.payload.get("buttons")
    if isinstance(buttons, list):
        message.payload = {
            **message.payload,
            "buttons": [
                {**b, "title": translate(b["title"])}
                if isinstance(b, dict) and isinstance(b.get("title"), str)
                else b
                for b in buttons
            ],
        }


def localize_notices(sessions: sessionmaker[Session] | Session, catalogs: Catalogs) -> None:
    """Install the hook on `sessions` (once per sessionmaker, or on one session)."""

    def before_flush(session: Session, _context: Any, _instances: Any) -> None:
        for obj in session.new:
            if isinstance(obj, Message) and obj.conversation is not None:
                language = obj.conversation.language or "en"
                if not language.startswith("en"):
                    localize_message(obj, catalogs, language)

    event.listen(sessions, "before_flush", before_flush)
