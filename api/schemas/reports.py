"""The leads' report (`handoff.reports.report`, served by `api/routes/reports.py`)."""

from __future__ import annotations

from typing import Literal

from api.schemas.base import Schema


class ReasonRate(Schema):
    count: int
    rate: float


class FirstResponse(Schema):
    count: int
    mean_seconds: float | None
    p90_seconds: float | None
    within_sla_share: float | None


class Resolution(Schema):
    count: int
    mean_seconds: float | None
    p90_seconds: float | None


class Attainment(Schema):
    """Tickets of one priority whose SLA outcome is known, and how many met both targets."""

    tickets: int
    met: int
    share: float | None


class CsatFigures(Schema):
    responses: int
    mean: float | None
    satisfied_share: float | None


class Metrics(Schema):
    """The figures of docs/reports.md for a set of conversations. Rates and shares are
    null when there is nothing to divide by."""

    conversations: int
    bot_contained: int
    containment_rate: float | None
    handoffs: int
    handoff_rate: float | None
    handoff_by_reason: dict[str, ReasonRate]
    first_response: FirstResponse
    resolution: Resolution
    sla_attainment: dict[str, Attainment]
    csat: CsatFigures
    fcr_rate: float | None
    reopen_rate: float | None


class _Keyed(Schema):
    key: str


class GroupMetrics(Metrics, _Keyed):
    """One team's, channel's or topic's figures; `key` comes first, as on the wire."""


class DateRange(Schema):
    start: str
    end: str


class DayFigures(Schema):
    date: str
    conversations: int
    containment_rate: float | None
    sla_attainment: float | None


class QuestionCount(Schema):
    question: str
    count: int


class HelpArticleFigures(Schema):
    article_id: str
    views: int
    helpful: int
    not_helpful: int


class HelpCenterFigures(Schema):
    """The help center over the period: page views and "Was this article helpful?"."""

    views: int
    helpful: int
    not_helpful: int
    articles: list[HelpArticleFigures]


class ReportOut(Schema):
    range: DateRange
    by: Literal["team", "channel", "topic"] | None
    overall: Metrics
    groups: list[GroupMetrics]
    series: list[DayFigures]
    top_unanswered: list[QuestionCount]
    top_not_helpful: list[QuestionCount]
    help_center: HelpCenterFigures
