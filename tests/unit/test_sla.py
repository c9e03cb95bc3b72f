"""SLA arithmetic across business hours, weekends, holidays, time zones and pauses."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handoff.sla import Calendar

BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = Calendar.parse("mon-fri 09:00-17:00", "Europe/Berlin", "2026-12-24,2026-12-25")
SPLIT = Calendar.parse("mon-fri 08:00-12:00; mon-fri 13:00-18:00; sat 10:00-14:00", "Asia/Tehran")
NEW_YORK = Calendar.parse("mon-fri 09:00-17:00", "America/New_York")
ALWAYS = Calendar.parse("", "UTC")
CALENDARS = st.sampled_from([OFFICE, SPLIT, NEW_YORK, ALWAYS])

moments = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
durations = st.integers(min_value=0, max_value=60 * 60 * 24 * 10)  # seconds, up to 10 days


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)  # type: ignore[misc]


def test_friday_evening_plus_one_hour_is_monday_morning() -> None:
    # Fri 2026-11-20 16:30 Berlin + 1 business hour = Mon 09:30.
    assert OFFICE.add(berlin(2026, 11, 20, 16, 30), 3600) == berlin(2026, 11, 23, 9, 30)


def test_weekend_start_counts_from_monday_opening() -> None:
    assert OFFICE.add(berlin(2026, 11, 21, 12, 0), 60) == berlin(2026, 11, 23, 9, 1)


def test_holidays_are_skipped() -> None:
    # Wed 23 Dec 16:00 + 2h: one hour on the 23rd, 24th and 25th are holidays, then
    # the weekend: Mon 28 Dec 10:00.
    assert OFFICE.add(berlin(2026, 12, 23, 16, 0), 7200) == berlin(2026, 12, 28, 10, 0)
    assert OFFICE.between(berlin(2026, 12, 24, 0, 0), berlin(2026, 12, 26, 0, 0)) == 0


def test_dst_change_keeps_local_opening_hours() -> None:
    # Berlin leaves summer time on Sun 2026-10-25. Fri 16:00 + 2h -> Mon 10:00 local,
    # which is 09:00 UTC (an hour later in UTC than the Friday opening was).
    due = OFFICE.add(berlin(2026, 10, 23, 16, 0), 7200)
    assert due == berlin(2026, 10, 26, 10, 0)
    assert due.astimezone(UTC).hour == 9


def test_time_zones_east_and_west() -> None:
    # 15:00 UTC Monday is 10:00 in New York: 7 business hours left that day.
    monday = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
    assert NEW_YORK.between(monday, monday.replace(hour=23)) == 7 * 3600
    assert NEW_YORK.between(monday, monday + timedelta(days=1)) == 8 * 3600  # + Tue 9-10
    # Tehran (UTC+3:30) with a lunch break: 07:00 UTC = 10:30 local.
    # To 12:00 UTC = 15:30 local: 10:30-12:00 and 13:00-15:30.
    assert SPLIT.between(monday.replace(hour=7), monday.replace(hour=12)) == 4 * 3600


def test_always_open_is_wall_clock() -> None:
    start = datetime(2026, 11, 21, 23, 0, tzinfo=UTC)
    assert ALWAYS.add(start, 7200) == start + timedelta(hours=2)
    assert ALWAYS.between(start, start + timedelta(hours=5)) == 5 * 3600


def test_bad_calendars_are_refused() -> None:
    with pytest.raises(ValueError, match="not a date"):
        Calendar.parse("mon-fri 09:00-17:00", "UTC", "2026-13-01")
    with pytest.raises(ValueError, match="time zone"):
        Calendar.parse("mon-fri 09:00-17:00", "Mars/Olympus")
    with pytest.raises(ValueError, match="need business hours"):
        Calendar.parse("", "UTC", "2026-12-25")


@settings(max_examples=300, deadline=None)
@given(CALENDARS, moments, durations)
def test_between_undoes_add(calendar: Calendar, start: datetime, seconds: int) -> None:
    due = calendar.add(start, seconds)
    assert due >= start
    assert calendar.between(start, due) == pytest.approx(seconds, abs=1e-3)


@settings(max_examples=200, deadline=None)
@given(CALENDARS, moments, durations, durations)
def test_add_is_additive_and_monotonic(calendar: Calendar, start: datetime, a: int, b: int) -> None:
    assert calendar.add(calendar.add(start, a), b) == calendar.add(start, a + b)
    assert calendar.add(start, min(a, b)) <= calendar.add(start, max(a, b))


@settings(max_examples=200, deadline=None)
@given(CALENDARS, moments, st.integers(min_value=1, max_value=60 * 60 * 24 * 10))
def test_a_due_time_lies_in_business_hours(calendar: Calendar, start: datetime, s: int) -> None:
    due = calendar.add(start, s)
    # The last second before the due time was worked (the due time may be a closing time).
    assert calendar.is_open(due - timedelta(microseconds=1))


@settings(max_examples=200, deadline=None)
@given(CALENDARS, moments, moments)
def test_business_time_never_exceeds_wall_time(
    calendar: Calendar, a: datetime, b: datetime
) -> None:
    business = calendar.between(a, b)
    assert abs(business) <= abs((b - a).total_seconds()) + 1e-6
    assert calendar.between(b, a) == -business


@settings(max_examples=200, deadline=None)
@given(
    CALENDARS,
    moments,
    st.integers(min_value=60, max_value=60 * 60 * 24 * 5),
    st.integers(min_value=0, max_value=60 * 60 * 24 * 5),
    st.integers(min_value=0, max_value=60 * 60 * 24 * 20),
)
def test_a_pause_moves_the_due_time_by_the_business_time_paused(
    calendar: Calendar, start: datetime, target: int, until_pause: int, paused: int
) -> None:
    """Pending on the customer from `pause` to `resume`: the time left is kept, and the
    business time counted from start to the new due time, minus the pause, is the target."""
    due = calendar.add(start, target)
    pause = start + timedelta(seconds=until_pause)
    resume = pause + timedelta(seconds=paused)
    left = calendar.between(pause, due)
    new_due = calendar.add(resume, left) if left >= 0 else resume + timedelta(seconds=left)
    if left >= 0:
        worked = calendar.between(start, new_due) - calendar.between(pause, resume)
        assert worked == pytest.approx(target, abs=1e-3)
    else:  # paused after the deadline: it stays overdue by as much
        assert new_due < resume


def test_holiday_strategy_sanity() -> None:
    assert date(2026, 12, 24) in OFFICE.holidays
