"""The numbers support leads run on, for a date range, overall and by team, channel or topic.

Definitions (docs/reports.md says the same in prose):
- conversations: started in the range with at least one customer message.
- bot containment: those that never needed a ticket (resolved without a person).
- hand-off rate by reason: tickets opened on those conversations, per reason, over conversations.
- first response: hand-off to the first agent reply (wall-clock time); within SLA: replied by
  the first-response due time (counted in business hours), over tickets that were answered
  or are already overdue.
- resolution time: hand-off to resolution (wall clock), tickets an agent resolved.
- SLA attainment per priority: tickets both of whose targets were met, over tickets whose
  outcome is known (resolved, or already past a due time unmet).
- CSAT: mean score 1-5 and share satisfied (4 or 5).
- first contact resolution: resolved tickets never reopened nor transferred.
- reopen rate: tickets resolved at least once that were reopened.
- top unanswered: questions the bot escalated (no article good enough); top "didn't help":
  questions whose answer the customer marked as not helpful.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from handoff import help_feedback
from handoff.models import Conversation, Message, Ticket, utcnow
from handoff.states import MessageRole, Priority

GroupBy = Literal["team", "channel", "topic"]
NOT_HELPFUL_BUTTON = "/not_helpful"
SATISFIED = 4
TOP = 10
NO_TEAM = "(bot)"
NO_TOPIC = "(none)"


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=UTC)

    @property
    def until(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=UTC)

    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]


def p90(values: Sequence[float]) -> float | None:
    """The 90th percentile, nearest-rank (a value that occurred; no interpolation)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _r(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def first_response_met(ticket: Ticket, now: datetime) -> bool | None:
    """True/False once known; None while the first response is still due."""
    if ticket.first_response_due is None:
        return None if ticket.first_response_at is None else True
    if ticket.first_response_at is not None:
        return ticket.first_response_at <= ticket.first_response_due
    return False if ticket.first_response_due < now else None


def resolution_met(ticket: Ticket, now: datetime) -> bool | None:
    resolved = ticket.resolved_at if ticket.resolution == "resolved" else None
    if ticket.resolution_due is None:
        if ticket.resolution_left_seconds is not None:  # resolved (or waiting) while paused
            return ticket.resolution_left_seconds >= 0 if resolved else None
        return True if resolved else None
    if resolved is not None:
        return resolved <= ticket.resolution_due
    return False if ticket.resolution_due < now else None


def sla_met(ticket: Ticket, now: datetime) -> bool | None:
    first, resolution = first_response_met(ticket, now), resolution_met(ticket, now)
    if first is False or resolution is False:
        return False
    if first is None or resolution is None:
        return None
    return True


def metrics(conversations: Sequence[Conversation], now: datetime) -> dict[str, Any]:
    tickets = [t for c in conversations for t in c.tickets]
    contained = sum(1 for c in conversations if not c.tickets)
    reasons = Counter(t.reason for t in tickets)
    answered = [t for t in tickets if t.first_response_at is not None]
    first_times = [(t.first_response_at - t.created_at).total_seconds() for t in answered]  # type: ignore[operator]
    known_first = [m for m in (first_response_met(t, now) for t in tickets) if m is not None]
    resolved = [t for t in tickets if t.resolution == "resolved" and t.resolved_at is not None]
    resolution_times = [(t.resolved_at - t.created_at).total_seconds() for t in resolved]  # type: ignore[operator]
    attainment: dict[str, dict[str, Any]] = {}
    for priority in Priority:
        outcomes = [sla_met(t, now) for t in tickets if t.priority is priority]
        known = [o for o in outcomes if o is not None]
        if known:
            met = sum(known)
            attainment[priority.value] = {
                "tickets": len(known),
                "met": met,
                "share": _r(met / len(known)),
            }
    scores = [t.csat_score for t in tickets if t.csat_score is not None]
    ever_resolved = [
        t for t in tickets if t.resolved_at is not None or t.reopen_count or t.closed_at
    ]
    return {
        "conversations": len(conversations),
        "bot_contained": contained,
        "containment_rate": _r(_share(contained, len(conversations))),
        "handoffs": len(tickets),
        "handoff_rate": _r(_share(len(tickets), len(conversations))),
        "handoff_by_reason": {
            reason: {"count": n, "rate": _r(n / len(conversations))}
            for reason, n in sorted(reasons.items())
        },
        "first_response": {
            "count": len(first_times),
            "mean_seconds": _r(_mean(first_times), 1),
            "p90_seconds": _r(p90(first_times), 1),
            "within_sla_share": _r(_share(sum(known_first), len(known_first))),
        },
        "resolution": {
            "count": len(resolution_times),
            "mean_seconds": _r(_mean(resolution_times), 1),
            "p90_seconds": _r(p90(resolution_times), 1),
        },
        "sla_attainment": attainment,
        "csat": {
            "responses": len(scores),
            "mean": _r(_mean([float(s) for s in scores]), 2),
            "satisfied_share": _r(_share(sum(s >= SATISFIED for s in scores), len(scores))),
        },
        "fcr_rate": _r(
            _share(
                sum(1 for t in resolved if t.reopen_count == 0 and t.transfer_count == 0),
                len(resolved),
            )
        ),
        "reopen_rate": _r(
            _share(sum(1 for t in ever_resolved if t.reopen_count), len(ever_resolved))
        ),
    }


def _topic(conversation: Conversation, article_tags: Mapping[str, Sequence[str]]) -> str:
    if conversation.tickets and conversation.tickets[0].category:
        return conversation.tickets[0].category
    for message in conversation.messages:
        for source in message.payload.get("sources", []) if message.role is MessageRole.BOT else ():
            tags = article_tags.get(str(source.get("article_id")), ())
            if tags:
                return tags[0]
    return NO_TOPIC


def group_key(
    by: GroupBy, article_tags: Mapping[str, Sequence[str]]
) -> Callable[[Conversation], str]:
    if by == "channel":
        return lambda c: c.channel
    if by == "team":
        return lambda c: c.tickets[0].team.name if c.tickets and c.tickets[0].team else NO_TEAM
    return lambda c: _topic(c, article_tags)


def questions(
    conversations: Iterable[Conversation],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The questions the bot could not answer, and those whose answer did not help."""
    unanswered: Counter[str] = Counter()
    not_helpful: Counter[str] = Counter()
    shown: dict[str, str] = {}
    for conversation in conversations:
        question: str | None = None
        answered: str | None = None
        asked: dict[Any, str] = {
            m.id: m.text for m in conversation.messages if m.role is MessageRole.CUSTOMER
        }
        for message in conversation.messages:
            if message.role is MessageRole.CUSTOMER:
                if message.payload.get("button") == NOT_HELPFUL_BUTTON and answered:
                    not_helpful[answered.casefold()] += 1
                    shown.setdefault(answered.casefold(), answered)
                elif "button" not in message.payload:
                    question = message.text
            elif message.role is MessageRole.BOT and question:
                question = asked.get(message.payload.get("in_reply_to"), question)
                decision = message.payload.get("decision")
                if decision == "escalate":
                    unanswered[question.casefold()] += 1
                    shown.setdefault(question.casefold(), question)
                elif decision == "answer":
                    answered = question

    def top(counter: Counter[str]) -> list[dict[str, Any]]:
        ranked = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]
        return [{"question": shown[q], "count": n} for q, n in ranked]

    return top(unanswered), top(not_helpful)


def load(session: Session, period: Period) -> list[Conversation]:
    customer_ids = select(Message.conversation_id).where(Message.role == MessageRole.CUSTOMER)
    return list(
        session.scalars(
            select(Conversation)
            .where(Conversation.created_at >= period.since, Conversation.created_at < period.until)
            .where(Conversation.id.in_(customer_ids))
            .options(
                selectinload(Conversation.tickets).selectinload(Ticket.team),
                selectinload(Conversation.messages),
            )
            .order_by(Conversation.id)
        )
    )


def report(
    session: Session,
    period: Period,
    by: GroupBy | None = None,
    article_tags: Mapping[str, Sequence[str]] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    now = now or utcnow()
    conversations = load(session, period)
    tags = article_tags or {}
    groups: list[dict[str, Any]] = []
    if by is not None:
        buckets: dict[str, list[Conversation]] = defaultdict(list)
        key = group_key(by, tags)
        for conversation in conversations:
            buckets[key(conversation)].append(conversation)
        groups = [{"key": k, **metrics(v, now)} for k, v in sorted(buckets.items())]
    daily: dict[date, list[Conversation]] = defaultdict(list)
    for conversation in conversations:
        daily[conversation.created_at.astimezone(UTC).date()].append(conversation)
    series = []
    for day in period.days():
        figures = metrics(daily.get(day, []), now)
        attained = [v for v in figures["sla_attainment"].values()]
        met, total = sum(a["met"] for a in attained), sum(a["tickets"] for a in attained)
        series.append(
            {
                "date": day.isoformat(),
                "conversations": figures["conversations"],
                "containment_rate": figures["containment_rate"],
                "sla_attainment": _r(_share(met, total)),
            }
        )
    unanswered, not_helpful = questions(conversations)
    read = help_feedback.article_figures(session, since=period.start, until=period.end)
    return {
        "range": {"start": period.start.isoformat(), "end": period.end.isoformat()},
        "by": by,
        "overall": metrics(conversations, now),
        "groups": groups,
        "series": series,
        "top_unanswered": unanswered,
        "top_not_helpful": not_helpful,
        "help_center": {
            "views": sum(int(a["views"]) for a in read),
            "helpful": sum(int(a["helpful"]) for a in read),
            "not_helpful": sum(int(a["not_helpful"]) for a in read),
            # The articles readers most often said did not help, then the most read.
            "articles": sorted(read, key=lambda a: (-a["not_helpful"], -a["views"]))[:10],
        },
    }


CSV_COLUMNS = (
    "group",
    "conversations",
    "bot_contained",
    "containment_rate",
    "handoffs",
    "handoff_rate",
    "first_response_count",
    "first_response_mean_seconds",
    "first_response_p90_seconds",
    "first_response_within_sla_share",
    "resolution_count",
    "resolution_mean_seconds",
    "resolution_p90_seconds",
    "csat_responses",
    "csat_mean",
    "csat_satisfied_share",
    "fcr_rate",
    "reopen_rate",
)


def csv_rows(result: dict[str, Any]) -> list[list[Any]]:
    """One row per group (and one for all), plus per-reason and per-priority columns."""
    everything = [{"key": "(all)", **result["overall"]}, *result["groups"]]
    reasons = sorted({r for g in everything for r in g["handoff_by_reason"]})
    priorities = [p.value for p in Priority]
    header = [
        *CSV_COLUMNS,
        *(f"handoff_rate_{r}" for r in reasons),
        *(f"sla_attainment_{p}" for p in priorities),
    ]
    rows: list[list[Any]] = [header]
    for g in everything:
        fr, res, csat = g["first_response"], g["resolution"], g["csat"]
        rows.append(
            [
                g["key"],
                g["conversations"],
                g["bot_contained"],
                g["containment_rate"],
                g["handoffs"],
                g["handoff_rate"],
                fr["count"],
                fr["mean_seconds"],
                fr["p90_seconds"],
                fr["within_sla_share"],
                res["count"],
                res["mean_seconds"],
                res["p90_seconds"],
                csat["responses"],
                csat["mean"],
                csat["satisfied_share"],
                g["fcr_rate"],
                g["reopen_rate"],
                *(g["handoff_by_reason"].get(r, {}).get("rate", 0.0) for r in reasons),
                *(g["sla_attainment"].get(p, {}).get("share") for p in priorities),
            ]
        )
    return rows
