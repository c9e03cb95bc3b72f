from __future__ import annotations

from datetime import UTC, datetime

import pytest

from handoff.hours import BusinessHours

HOURS = BusinessHours.parse("mon-fri 08:00-18:00; sat 10:00-12:00", "Europe/Paris")


@pytest.mark.parametrize(
    ("utc", "open_"),
    [
        ("2026-11-23T07:30:00", True),  # Monday 08:30 in Paris (UTC+1)
        ("2026-11-23T06:59:00", False),  # Monday 07:59
        ("2026-11-23T17:00:00", False),  # Monday 18:00: closed at the closing minute
        ("2026-11-28T09:30:00", True),  # Saturday 10:30
        ("2026-11-29T09:30:00", False),  # Sunday
        ("2026-07-06T06:30:00", True),  # Monday 08:30 in summer time (UTC+2)
    ],
)
def test_open_in_local_time(utc: str, open_: bool) -> None:
    assert HOURS.is_open(datetime.fromisoformat(utc).replace(tzinfo=UTC)) is open_


@pytest.mark.parametrize(
    ("text", "zone", "problem"),
    [
        ("mon-fri 8-18", "UTC", "cannot read"),
        ("mon-xyz 08:00-18:00", "UTC", "unknown day"),
        ("mon 18:00-08:00", "UTC", "closes before"),
        ("mon 08:00-18:00", "Mars/Olympus", "unknown time zone"),
    ],
)
def test_bad_calendars_are_refused(text: str, zone: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        BusinessHours.parse(text, zone)
