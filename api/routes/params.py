"""Bounded request parameters, shared by the routes: ids, list limits and report dates.

Without bounds a path id past 2**63 - 1 overflowed the database driver (500), `limit=-1`
became SQLite's "no limit" and returned every conversation, and a report date near year 1 or
9999 overflowed date arithmetic (500); security-probe.md rows 40-42. With these, each is a
422 from validation before the route runs.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Path, Query
from pydantic import Field

MAX_ID = 2**63 - 1  # the largest BIGINT: SQLite's and PostgreSQL's integer keys
MAX_LIMIT = 1000
FIRST_DATE = date(2, 1, 1)  # a period's arithmetic reaches a year either side
LAST_DATE = date(9998, 12, 31)

PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
"""A row id in the path (`/api/conversations/{conversation_id}`)."""

QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
"""An optional row id as a filter (`?team_id=`)."""

BodyId = Annotated[int, Field(ge=1, le=MAX_ID)]
"""A row id in a JSON body (`{"other_id": ...}`); `BodyId | None` when optional."""

ReportDate = Annotated[date | None, Query(ge=FIRST_DATE, le=LAST_DATE)]
"""A report's start or end day."""


def limit_query(default: int) -> int:
    """`limit` of a list: 1..MAX_LIMIT (a FastAPI `Query`; typed as its value for mypy)."""
    bounded: int = Query(default=default, ge=1, le=MAX_LIMIT)
    return bounded
