"""Reports for support leads (and admins): JSON, or CSV with ?format=csv.

Lead-only: the figures cover every team and agent and list what customers asked that went
unanswered, which is the leads' work (docs/support-operations.md). A CSV download is an
export, recorded in the audit log."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import date, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from api.hub import Hub
from api.routes.deps import AgentRef, current_lead, get_hub
from api.routes.params import ReportDate
from api.schemas import ReportOut
from handoff import audit, reports
from handoff.errors import InvalidInput
from handoff.models import utcnow

router = APIRouter(prefix="/api", tags=["reports"])
DEFAULT_DAYS = 30
MAX_DAYS = 366


def period(start: date | None, end: date | None) -> reports.Period:
    """The inclusive date range (UTC); by default the last 30 days up to today."""
    end = end or utcnow().date()
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise InvalidInput("start is after end")
    if (end - start).days >= MAX_DAYS:
        raise InvalidInput(f"a report covers at most {MAX_DAYS} days")
    return reports.Period(start, end)


# A spreadsheet runs a cell that starts with one of these as a formula (=HYPERLINK(...) can
# send the sheet's data away), and group keys such as ticket categories are typed by agents.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: Any) -> Any:
    """Text that a spreadsheet would read as a formula, prefixed with ' (shown as text)."""
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


def to_csv(result: dict[str, Any]) -> str:
    out = io.StringIO()
    csv.writer(out).writerows([neutralise(c) for c in row] for row in reports.csv_rows(result))
    return out.getvalue()


@router.get(
    "/reports",
    response_model=ReportOut,
    responses={200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with ?format=csv"}},
)
async def get_report(
    start: ReportDate = None,
    end: ReportDate = None,
    by: Literal["team", "channel", "topic"] | None = None,
    format: Literal["json", "csv"] = Query(default="json"),
    hub: Hub = Depends(get_hub),
    lead: AgentRef = Depends(current_lead),
) -> dict[str, Any] | Response:
    span = period(start, end)

    def read() -> dict[str, Any]:
        with hub.sessions() as session:
            return reports.report(session, span, by, article_tags=hub.knowledge.article_tags())

    result = await asyncio.to_thread(read)
    if format == "csv":
        await hub.flow.run(
            audit.record,
            actor_id=lead.id,
            action="export",
            target="report",
            detail={"start": span.start.isoformat(), "end": span.end.isoformat(), "by": by},
            ip=lead.ip,
        )
        return Response(
            to_csv(result),
            media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="frontline-report.csv"'},
        )
    return result
