"""Ticket creation from a 50-message conversation, and the queue view with 10,000 open
tickets: p50/p99 latency on SQLite and on PostgreSQL (`make bench`).

PostgreSQL is measured when FRONTLINE_BENCH_DATABASE_URL (or FRONTLINE_TEST_DATABASE_URL)
points at a server whose user may create databases; `make bench` starts a throwaway one with
.ci/postgres.sh. Run with `python -m tests.bench.bench_tickets`; it prints figures only.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from api import serializers
from handoff import agents, intake, replies, tickets
from handoff.db import make_engine, make_sessionmaker, transaction, upgrade
from handoff.models import Contact, Conversation, Team, Ticket, utcnow
from handoff.states import ConversationState, Priority, TicketStatus

CREATE_RUNS = 200
QUEUE_RUNS = 200
OPEN_TICKETS = 10_000
MESSAGES = 50
QUEUE_PAGE = 100


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * len(ordered)) - 1)]
    return f"p50 {statistics.median(ordered) * 1000:7.2f} ms   p99 {p99 * 1000:7.2f} ms"


@contextmanager
def database(kind: str) -> Iterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            upgrade(url)
            yield url
        return
    server = os.environ.get("FRONTLINE_BENCH_DATABASE_URL") or os.environ.get(
        "FRONTLINE_TEST_DATABASE_URL", ""
    )
    name = f"frontline_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def conversation_of_50(session: Session) -> int:
    conversation, _ = intake.open_conversation(session)
    for n in range(MESSAGES // 2):
        intake.receive_customer_message(
            session, conversation_id=conversation.id, text=f"question number {n} about sync"
        )
        replies.record_bot_replies(
            session,
            conversation_id=conversation.id,
            replies=[
                replies.BotReply(
                    f"Answer {n}",
                    {
                        "decision": "answer",
                        "sources": [{"article_id": "sync", "title": "Sync", "score": 0.9}],
                        "hits": [{"article_id": "sync", "title": "Sync", "score": 0.9}],
                    },
                )
            ],
        )
    return conversation.id


def bench_create(sessions: sessionmaker[Session]) -> list[float]:
    samples = []
    for _ in range(CREATE_RUNS):
        with transaction(sessions) as session:
            cid = conversation_of_50(session)
        started = time.perf_counter()
        with transaction(sessions) as session:
            tickets.hand_off(
                session,
                conversation_id=cid,
                reason="customer_request",
                article_tags={"sync": ["sync"]},
            )
        samples.append(time.perf_counter() - started)
    return samples


def seed_open_tickets(sessions: sessionmaker[Session]) -> None:
    now = utcnow()
    with transaction(sessions) as session:
        team = session.query(Team).first()
        assert team is not None
        contact = Contact(name="Bench")
        session.add(contact)
        session.flush()
        conversations = [
            {
                "contact_id": contact.id,
                "channel": "widget",
                "public_token": f"bench-{n}",
                "state": ConversationState.QUEUED,
                "language": "en",
                "created_at": now,
                "updated_at": now,
            }
            for n in range(OPEN_TICKETS)
        ]
        session.execute(insert(Conversation), conversations)
        ids = [row[0] for row in session.execute(text("SELECT id FROM conversations"))]
        priorities = list(Priority)
        tickets = []
        for n, cid in enumerate(ids[:OPEN_TICKETS]):
            priority = priorities[n % 4]
            created = now - timedelta(seconds=OPEN_TICKETS - n)
            tickets.append(
                {
                    "number": 100_000 + n,
                    "conversation_id": cid,
                    "contact_id": contact.id,
                    "subject": f"Question {n}",
                    "reason": "customer_request",
                    "status": TicketStatus.NEW,
                    "priority": priority,
                    "priority_rank": priority.rank,
                    "tags": [],
                    "channel": "widget",
                    "language": "en",
                    "team_id": team.id,
                    "transcript": [],
                    "bot_attempts": [],
                    "created_at": created,
                    "updated_at": created,
                    "first_response_due": created + timedelta(hours=1),
                    "resolution_due": created + timedelta(hours=24),
                    "reopen_count": 0,
                    "transfer_count": 0,
                    "csat_flagged": False,
                }
            )
        session.execute(insert(Ticket), tickets)


def bench_queue(sessions: sessionmaker[Session]) -> list[float]:
    from handoff import routing

    samples = []
    for _ in range(QUEUE_RUNS):
        started = time.perf_counter()
        with sessions() as session:
            now = utcnow()
            rows = routing.waiting(session, None, QUEUE_PAGE)
            page = [serializers.ticket_brief(t, serializers.ALWAYS_OPEN, now) for t in rows]
        samples.append(time.perf_counter() - started)
        assert len(page) == QUEUE_PAGE
    return samples


def run(kind: str, report: Callable[[str], None]) -> None:
    with database(kind) as url:
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        with transaction(sessions) as session:
            agents.create_agent(session, email="b@x.io", name="Bench", password="bench password 1")
        report(
            f"{kind:<11} ticket from a {MESSAGES}-message conversation ({CREATE_RUNS} runs): "
            + percentiles(bench_create(sessions))
        )
        seed_open_tickets(sessions)
        report(
            f"{kind:<11} queue view, first {QUEUE_PAGE} of {OPEN_TICKETS:,} open tickets "
            f"({QUEUE_RUNS} runs): " + percentiles(bench_queue(sessions))
        )
        engine.dispose()


def main() -> None:
    print("Tickets and queue (handoff/ operations on a real database, one process)")
    run("sqlite", print)
    if os.environ.get("FRONTLINE_BENCH_DATABASE_URL") or os.environ.get(
        "FRONTLINE_TEST_DATABASE_URL"
    ):
        run("postgresql", print)
    else:
        print("postgresql  skipped: set FRONTLINE_BENCH_DATABASE_URL (make bench starts one)")


if __name__ == "__main__":
    main()
