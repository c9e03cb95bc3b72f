"""The outbox across hubs (issue 18, item 4): two workers on one database deliver each row
once, each conversation's rows in order; a row claimed by a worker that died goes out by
another once the claim's lease has passed. On SQLite and, with FRONTLINE_TEST_DATABASE_URL,
on PostgreSQL (FOR UPDATE SKIP LOCKED)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from api.channels.base import Capabilities, OutboundMessage, SendResult
from api.channels.outbox import OutboxWorker
from api.dialogue import ConversationFlow
from api.live import Broker
from api.rasa_client import RasaClient
from handoff import intake, outbox
from handoff.db import make_engine, make_sessionmaker, transaction
from handoff.messages import add_message
from handoff.models import Delivery
from handoff.states import DeliveryStatus, MessageRole


class RecordingChannel:
    """A channel whose platform takes `delay` s per message and records what it got."""

    name = "fake"
    capabilities = Capabilities()

    def __init__(self, delay: float = 0.01) -> None:
        self.delay = delay
        self.sent: list[tuple[str, str]] = []  # (chat, text)

    async def send(self, message: OutboundMessage) -> SendResult:
        await asyncio.sleep(self.delay)
        self.sent.append((message.thread_id, message.text))
        return SendResult.sent(f"ext-{message.message_id}")

    async def aclose(self) -> None:
        return None


def queue_replies(database_url: str, chats: int, per_chat: int) -> list[tuple[str, str]]:
    """Bot replies to `chats` conversations on the fake channel: queued deliveries."""
    engine = make_engine(database_url)
    queued: list[tuple[str, str]] = []
    try:
        with transaction(make_sessionmaker(engine)) as session:
            for chat in range(chats):
                conversation, _ = intake.open_conversation(session, channel="fake")
                conversation.external_id = f"chat-{chat}"
                for n in range(per_chat):
                    text = f"reply {n} to chat {chat}"
                    add_message(session, conversation, MessageRole.BOT, text)
                    queued.append((f"chat-{chat}", text))
    finally:
        engine.dispose()
    return queued


def worker(database_url: str, channel: RecordingChannel, **options: Any) -> OutboxWorker:
    sessions = make_sessionmaker(make_engine(database_url))
    flow = ConversationFlow(sessions, Broker(sessions), RasaClient("http://rasa.test", timeout=1))
    return OutboxWorker(flow, {"fake": channel}, rates={"fake": 10_000.0}, **options)


def statuses(database_url: str) -> Counter[str]:
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            return Counter(d.status.value for d in session.scalars(select(Delivery)))
    finally:
        engine.dispose()


def test_two_workers_deliver_every_row_once_and_in_order(database_url: str) -> None:
    queued = queue_replies(database_url, chats=8, per_chat=4)
    channel = RecordingChannel(delay=0.02)
    workers = [worker(database_url, channel), worker(database_url, channel)]

    async def main() -> list[int]:
        counts = [0, 0]

        async def run(number: int) -> None:
            deadline = time.monotonic() + 60
            while len(channel.sent) < len(queued) and time.monotonic() < deadline:
                counts[number] += await workers[number].deliver_due()
                await asyncio.sleep(0)

        await asyncio.gather(run(0), run(1))
        await asyncio.sleep(0.1)
        counts[0] += await workers[0].deliver_due()  # nothing is left for anyone
        counts[1] += await workers[1].deliver_due()
        return counts

    counts = asyncio.run(main())
    assert sorted(channel.sent) == sorted(queued)  # every row once, none twice
    for chat in {c for c, _ in queued}:  # each conversation's rows in their order
        assert [t for c, t in channel.sent if c == chat] == [t for c, t in queued if c == chat]
    assert sum(counts) == len(queued)
    assert statuses(database_url) == Counter({"sent": len(queued)})


def test_a_claim_whose_worker_died_is_taken_over_after_its_lease(database_url: str) -> None:
    queued = queue_replies(database_url, chats=2, per_chat=1)
    engine = make_engine(database_url)
    try:
        with transaction(make_sessionmaker(engine)) as session:  # a worker claims, then dies
            claimed = outbox.claim_due(session, now=datetime.now(UTC), lease=timedelta(seconds=2))
            assert len(claimed) == 2
    finally:
        engine.dispose()
    channel = RecordingChannel()
    other = worker(database_url, channel)

    async def main() -> tuple[int, int]:
        during = await other.deliver_due()  # within the lease: long past a loaded pause
        await asyncio.sleep(2.2)
        return during, await other.deliver_due()

    assert asyncio.run(main()) == (0, 2)
    assert sorted(channel.sent) == sorted(queued)


def test_a_claim_is_one_workers_only(database_url: str) -> None:
    queue_replies(database_url, chats=3, per_chat=2)
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    now = datetime.now(UTC)
    try:
        with transaction(sessions) as session:
            first = [d.id for d in outbox.claim_due(session, now=now, lease=timedelta(minutes=2))]
        with transaction(sessions) as session:
            second = outbox.claim_due(session, now=now, lease=timedelta(minutes=2))
        with sessions() as session:
            heads = [d.id for d in outbox.due(session, now=now + timedelta(minutes=3))]
    finally:
        engine.dispose()
    assert len(first) == 3 and second == []  # the heads of 3 chats; the next rows wait
    assert heads == first  # still queued, due again once the lease is over
    assert all(s == DeliveryStatus.QUEUED.value for s in statuses(database_url).elements())
