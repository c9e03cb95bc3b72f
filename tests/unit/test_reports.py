"""Reports against a seeded data set whose figures are worked out by hand below."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from handoff import reports
from handoff.db import make_engine, make_sessionmaker, transaction
from handoff.models import Contact, Conversation, Message, Team, Ticket
from handoff.states import (
    ConversationState,
    MessageRole,
    Priority,
    TicketStatus,
)

DAY1 = datetime(2026, 11, 2, tzinfo=UTC)
DAY2 = DAY1 + timedelta(days=1)
NOW = DAY2 + timedelta(hours=12)
PERIOD = reports.Period(date(2026, 11, 2), date(2026, 11, 3))
TAGS = {"reset-password": ["account", "sign-in"]}
_seq = iter(range(1, 1000))


def at(day: datetime, hour: int, minute: int = 0) -> datetime:
    return day + timedelta(hours=hour, minutes=minute)


def conversation(
    session: Session,
    started: datetime,
    turns: list[tuple[MessageRole, str, dict[str, Any]]],
    channel: str = "widget",
) -> Conversation:
    n = next(_seq)
    row = Conversation(
        contact=Contact(name=f"C{n}"),
        channel=channel,
        public_token=f"seed-{n}-{started.isoformat()}",
        state=ConversationState.BOT,
        created_at=started,
        updated_at=started,
    )
    session.add(row)
    for i, (role, text, payload) in enumerate(turns):
        session.add(
            Message(
                conversation=row,
                role=role,
                text=text,
                payload=payload,
                created_at=started + timedelta(seconds=i),
            )
        )
    session.flush()
    return row


def ticket(session: Session, conv: Conversation, team: Team, **fields: Any) -> Ticket:
    priority = fields.pop("priority", Priority.NORMAL)
    row = Ticket(
        number=next(_seq) + 5000,
        conversation=conv,
        contact_id=conv.contact_id,
        subject="s",
        channel=conv.channel,
        team=team,
        priority=priority,
        priority_rank=priority.rank,
        **fields,
    )
    session.add(row)
    session.flush()
    return row


CUSTOMER, BOT = MessageRole.CUSTOMER, MessageRole.BOT


def seed(session: Session) -> None:
    support = Team(name="Frontline test team")
    session.add(support)
    # C1: the bot answers, the customer says it helped: contained.
    conversation(
        session,
        at(DAY1, 8),
        [
            (CUSTOMER, "how do I reset my password", {}),
            (
                BOT,
                "Like this.",
                {"decision": "answer", "sources": [{"article_id": "reset-password"}]},
            ),
            (CUSTOMER, "Yes", {"button": "/helpful"}),
        ],
    )
    # C2: the bot escalates; handed off at 10:00, first reply 10:20, resolved 12:00, rated 5.
    c2 = conversation(
        session,
        at(DAY1, 9, 59),
        [(CUSTOMER, "refund my order", {}), (BOT, "Not sure.", {"decision": "escalate"})],
    )
    ticket(
        session,
        c2,
        support,
        reason="low_confidence",
        category="billing",
        status=TicketStatus.RESOLVED,
        resolution="resolved",
        created_at=at(DAY1, 10),
        first_response_due=at(DAY1, 11),
        first_response_at=at(DAY1, 10, 20),
        resolution_due=at(DAY2, 10),
        resolved_at=at(DAY1, 12),
        csat_score=5,
    )
    # C3 (Telegram): an answer that did not help; high priority, first reply late
    # (due 09:30, replied 10:00), resolved 15:00 within its due time, rated 2, reopened once.
    c3 = conversation(
        session,
        at(DAY1, 8, 50),
        [
            (CUSTOMER, "export broken", {}),
            (BOT, "Try this.", {"decision": "answer"}),
            (CUSTOMER, "No", {"button": "/not_helpful"}),
        ],
        channel="telegram",
    )
    ticket(
        session,
        c3,
        support,
        reason="not_helpful",
        priority=Priority.HIGH,
        category="export",
        status=TicketStatus.RESOLVED,
        resolution="resolved",
        created_at=at(DAY1, 9),
        first_response_due=at(DAY1, 9, 30),
        first_response_at=at(DAY1, 10),
        resolution_due=at(DAY1, 17),
        resolved_at=at(DAY1, 15),
        csat_score=2,
        reopen_count=1,
    )
    # C4: asks for a person on day 2 at 09:00; nobody answered by noon (due 10:00).
    c4 = conversation(session, at(DAY2, 9), [(CUSTOMER, "talk to a person", {})])
    ticket(
        session,
        c4,
        support,
        reason="customer_request",
        status=TicketStatus.NEW,
        created_at=at(DAY2, 9),
        first_response_due=at(DAY2, 10),
        resolution_due=at(DAY2 + timedelta(days=1), 9),
    )
    # C5: the bot has nothing; the customer leaves: contained, and an unanswered question.
    conversation(
        session,
        at(DAY2, 11),
        [
            (CUSTOMER, "What is the meaning of life", {}),
            (BOT, "I don't know.", {"decision": "escalate"}),
        ],
    )
    # Not counted: no customer message; outside the range.
    conversation(session, at(DAY2, 11, 30), [])
    conversation(session, at(DAY2 + timedelta(days=2), 9), [(CUSTOMER, "later", {})])


@pytest.fixture
def result(session: Session) -> dict[str, Any]:
    seed(session)
    return reports.report(session, PERIOD, None, TAGS, now=NOW)


def test_overall_figures_match_the_hand_computed_ones(result: dict[str, Any]) -> None:
    o = result["overall"]
    assert (o["conversations"], o["bot_contained"], o["containment_rate"]) == (5, 2, 0.4)
    assert (o["handoffs"], o["handoff_rate"]) == (3, 0.6)
    assert o["handoff_by_reason"] == {
        "customer_request": {"count": 1, "rate": 0.2},
        "low_confidence": {"count": 1, "rate": 0.2},
        "not_helpful": {"count": 1, "rate": 0.2},
    }
    # Replies after 20 min and 60 min; within SLA: C2 yes, C3 late, C4 overdue unanswered.
    assert o["first_response"] == {
        "count": 2,
        "mean_seconds": 2400.0,
        "p90_seconds": 3600.0,
        "within_sla_share": 0.3333,
    }
    assert o["resolution"] == {"count": 2, "mean_seconds": 14400.0, "p90_seconds": 21600.0}
    assert o["sla_attainment"] == {
        "high": {"tickets": 1, "met": 0, "share": 0.0},
        "normal": {"tickets": 2, "met": 1, "share": 0.5},
    }
    assert o["csat"] == {"responses": 2, "mean": 3.5, "satisfied_share": 0.5}
    assert (o["fcr_rate"], o["reopen_rate"]) == (0.5, 0.5)


def test_top_questions(result: dict[str, Any]) -> None:
    assert result["top_unanswered"] == [
        {"question": "refund my order", "count": 1},
        {"question": "What is the meaning of life", "count": 1},
    ]
    assert result["top_not_helpful"] == [{"question": "export broken", "count": 1}]


def test_daily_series(result: dict[str, Any]) -> None:
    assert result["series"] == [
        {
            "date": "2026-11-02",
            "conversations": 3,
            "containment_rate": 0.3333,
            "sla_attainment": 0.5,
        },
        {"date": "2026-11-03", "conversations": 2, "containment_rate": 0.5, "sla_attainment": 0.0},
    ]


def test_grouped_by_channel_team_and_topic(session: Session) -> None:
    seed(session)

    def keyed(by: reports.GroupBy) -> dict[str, dict[str, Any]]:
        return {g["key"]: g for g in reports.report(session, PERIOD, by, TAGS, now=NOW)["groups"]}

    channel = keyed("channel")
    assert set(channel) == {"telegram", "widget"}
    assert (channel["widget"]["conversations"], channel["widget"]["containment_rate"]) == (4, 0.5)
    assert channel["telegram"]["handoff_by_reason"] == {"not_helpful": {"count": 1, "rate": 1.0}}
    team = keyed("team")
    assert team["(bot)"]["conversations"] == 2
    assert team["Frontline test team"]["csat"]["mean"] == 3.5
    topic = keyed("topic")
    assert {k: g["conversations"] for k, g in topic.items()} == {
        "account": 1,
        "billing": 1,
        "export": 1,
        "(none)": 2,
    }


def test_csv_rows(result: dict[str, Any]) -> None:
    header, overall = reports.csv_rows(result)
    row = dict(zip(header, overall, strict=True))
    assert row["group"] == "(all)" and row["conversations"] == 5
    assert row["first_response_p90_seconds"] == 3600.0
    assert row["handoff_rate_not_helpful"] == 0.2
    assert row["sla_attainment_normal"] == 0.5 and row["sla_attainment_urgent"] is None


def test_p90_is_nearest_rank() -> None:
    assert reports.p90([]) is None
    assert reports.p90([5.0]) == 5.0
    assert reports.p90([float(n) for n in range(1, 11)]) == 9.0


def test_frontline_report_writes_csv(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.cli import app

    url = database_url
    engine = make_engine(url)
    with transaction(make_sessionmaker(engine)) as session:
        seed(session)
    engine.dispose()
    monkeypatch.setenv("FRONTLINE_DATABASE_URL", url)
    out = tmp_path / "report.csv"
    run = CliRunner().invoke(
        app,
        [
            "report",
            "--start",
            "2026-11-02",
            "--end",
            "2026-11-03",
            "--by",
            "channel",
            "-o",
            str(out),
        ],
    )
    assert run.exit_code == 0, run.output
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [r["group"] for r in rows] == ["(all)", "telegram", "widget"]
    assert rows[0]["containment_rate"] == "0.4" and rows[2]["conversations"] == "4"
    as_json = CliRunner().invoke(
        app, ["report", "--start", "2026-11-02", "--end", "2026-11-03", "--json"]
    )
    assert json.loads(as_json.output)["overall"]["csat"]["mean"] == 3.5
    bad = CliRunner().invoke(app, ["report", "--start", "2026-11-09", "--end", "2026-11-03"])
    assert bad.exit_code != 0 and "start is after end" in bad.output
    typo = CliRunner().invoke(app, ["report", "--start", "2026-11-31"])
    assert typo.exit_code != 0 and "--start must be a day as YYYY-MM-DD" in typo.output
