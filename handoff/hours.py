"""Business hours: when people are there to answer (a weekly calendar in one time zone).

Written as `mon-fri 08:00-18:00; sat 10:00-14:00`, days `mon`..`sun`, ranges with `-`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_PART = re.compile(
    r"^\s*([a-z]{3})(?:\s*-\s*([a-z]{3}))?\s+(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})\s*$"
)


@dataclass(frozen=True)
class BusinessHours:
    timezone: str
    # weekday (0 = Monday) -> opening spans, local time
    spans: dict[int, tuple[tuple[time, time], ...]]
    text: str

    @classmethod
    def parse(cls, text: str, timezone: str) -> BusinessHours:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {timezone!r}") from None
        spans: dict[int, list[tuple[time, time]]] = {}
        for part in filter(str.strip, text.lower().split(";")):
            match = _PART.match(part)
            if not match:
                raise ValueError(
                    f"business hours: cannot read {part.strip()!r} (e.g. 'mon-fri 08:00-18:00')"
                )
            first, last, opens, closes = match.groups()
            if first not in DAYS or (last or first) not in DAYS:
                raise ValueError(f"business hours: unknown day in {part.strip()!r}")
            start, end = time.fromisoformat(opens.zfill(5)), time.fromisoformat(closes.zfill(5))
            if end <= start:
                raise ValueError(f"business hours: {part.strip()!r} closes before it opens")
            for day in range(DAYS.index(first), DAYS.index(last or first) + 1):
                spans.setdefault(day, []).append((start, end))
        return cls(
            timezone, {d: tuple(s) for d, s in spans.items()}, f"{text.strip()} ({timezone})"
        )

    def is_open(self, moment: datetime) -> bool:
        local = moment.astimezone(ZoneInfo(self.timezone))
        now = local.time()
        return any(start <= now < end for start, end in self.spans.get(local.weekday(), ()))
