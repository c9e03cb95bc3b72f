"""The support team's rules that operations need: calendar, reopen window, auto-close.

The hub builds one from its settings; tests build their own. Nothing here reads the
environment."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from handoff.sla import Calendar


@dataclass(frozen=True)
class Rules:
    calendar: Calendar = field(default_factory=Calendar)
    # A customer message this soon after resolution reopens the ticket; later ones start
    # a new conversation with the bot.
    reopen_window: timedelta = timedelta(hours=72)
    # Resolved tickets close (for good) this long after resolution.
    close_after: timedelta = timedelta(hours=72)
    # Texts of conversations over for longer than this are purged by the sweep
    # (handoff/privacy.py); zero keeps them forever.
    retention: timedelta = timedelta(0)


DEFAULT_RULES = Rules()
