"""SLA clocks: targets counted in business time, paused while waiting on the customer.

A `Calendar` is the weekly business hours in one time zone plus holidays; with no hours
set it is open around the clock. All arithmetic is on aware datetimes; spans are laid out
in local time day by day, so DST changes and zones east or west of UTC come out right.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from handoff.hours import BusinessHours

# A calendar with no open hour for this long is a configuration error, not a due time.
_MAX_DAYS = 3 * 366


@dataclass(frozen=True)
class Calendar:
    hours: BusinessHours | None = None  # None: open around the clock
    holidays: frozenset[date] = field(default_factory=frozenset)

    @classmethod
    def parse(cls, hours: str, timezone: str, holidays: str = "") -> Calendar:
        """`hours` as for BusinessHours (empty: always open); `holidays` as ISO dates,
        comma-separated, in the calendar's time zone."""
        days: set[date] = set()
        for part in filter(None, (p.strip() for p in holidays.split(","))):
            try:
                days.add(date.fromisoformat(part))
            except ValueError:
                raise ValueError(f"holidays: {part!r} is not a date (YYYY-MM-DD)") from None
        if not hours.strip():
            if days:
                raise ValueError("holidays need business hours (FRONTLINE_BUSINESS_HOURS)")
            return cls()
        return cls(BusinessHours.parse(hours, timezone), frozenset(days))

    @property
    def always_open(self) -> bool:
        return self.hours is None

    def open_spans(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The open periods (UTC) from `start` on, in order, clipped to begin at `start`."""
        if self.hours is None:
            yield start.astimezone(UTC), datetime.max.replace(tzinfo=UTC)
            return
        zone = ZoneInfo(self.hours.timezone)
        day = start.astimezone(zone).date()
        for _ in range(_MAX_DAYS):
            if day not in self.holidays:
                for opens, closes in self.hours.spans.get(day.weekday(), ()):
                    begin = datetime.combine(day, opens, tzinfo=zone).astimezone(UTC)
                    end = datetime.combine(day, closes, tzinfo=zone).astimezone(UTC)
                    if end > start:
                        yield max(begin, start.astimezone(UTC)), end
            day += timedelta(days=1)
        raise ValueError("the business calendar has no open hours in three years")

    def add(self, start: datetime, seconds: float) -> datetime:
        """The moment `seconds` of business time after `start`."""
        if seconds < 0:
            raise ValueError("cannot add negative business time")
        if self.hours is None:
            return start.astimezone(UTC) + timedelta(seconds=seconds)
        left = timedelta(seconds=seconds)
        for begin, end in self.open_spans(start):
            if begin + left <= end:
                return begin + left
            left -= end - begin
        raise AssertionError("unreachable: open_spans raises first")

    def between(self, start: datetime, end: datetime) -> float:
        """Business seconds from `start` to `end`; negative when `end` comes first."""
        if end < start:
            return -self.between(end, start)
        if self.hours is None:
            return (end - start).total_seconds()
        total = timedelta()
        for begin, close in self.open_spans(start):
            if begin >= end:
                break
            total += min(close, end) - begin
        return total.total_seconds()

    def is_open(self, moment: datetime) -> bool:
        if self.hours is None:
            return True
        zone = ZoneInfo(self.hours.timezone)
        return moment.astimezone(zone).date() not in self.holidays and self.hours.is_open(moment)
