"""Two hubs on one database and one Redis (issue 18, items 3, 4 and 5): a conversation's
messages are processed one at a time and in the order they were stored, whichever hub stored
them; a message whose hub died is recovered once; the sweep runs on one hub per interval and
an SLA breach is raised once."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from api.channels.base import Capabilities
from api.coordination import Coordinator, LocalCoordinator, RedisCoordinator
from api.hub import Hub, KnowledgeHolder
from api.live import Broker
from api.rasa_client import RasaClient
from api.settings import Settings
from handoff import inbound, intake
from handoff.db import make_engine, make_sessionmaker, transaction
from handoff.models import Message, Ticket, TicketEvent, utcnow
from handoff.states import MessageRole, MessageStatus
from handoff.sweep import check_breaches
from tests.fakes.rasa import FakeRasa


class SlowRasa(FakeRasa):
    """Takes `delay` seconds per message, recording the order it was asked in and the most
    messages of one conversation it was working on at once."""

    def __init__(self, delay: float = 0.05) -> None:
        super().__init__()
        self.delay = delay
        self.busy: dict[str, int] = {}
        self.most_at_once = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:  # type: ignore[override]
        if request.method != "POST" or request.url.path.startswith("/conversations/"):
            return super().__call__(request)
        sender = json.loads(request.content)["sender"]
        self.busy[sender] = self.busy.get(sender, 0) + 1
        self.most_at_once = max(self.most_at_once, self.busy[sender])
        try:
            await asyncio.sleep(self.delay)
            return super().__call__(request)
        finally:
            self.busy[sender] -= 1


@contextmanager
def hubs(
    tmp_path: Path,
    database_url: str,
    rasa: SlowRasa,
    coordinators: list[Coordinator],
    **settings: Any,
) -> Iterator[list[Hub]]:
    """One Hub per coordinator on the same database (each its own engine, like processes)."""
    made: list[Hub] = []
    engines = []
    for number, coordinator in enumerate(coordinators):
        engine = make_engine(database_url)
        engines.append(engine)
        made.append(
            Hub(
                settings=Settings(
                    var_dir=tmp_path / f"hub{number}", database_url=database_url, **settings
                ),
                engine=engine,
                sessions=make_sessionmaker(engine),
                broker=Broker(make_sessionmaker(engine)),
                rasa=RasaClient("http://rasa.test", timeout=5, transport=httpx.MockTransport(rasa)),
                knowledge=KnowledgeHolder(),
                coordinator=coordinator,
            )
        )
    try:
        yield made
    finally:
        for engine in engines:
            engine.dispose()


def redis_pair(redis_url: str, **options: float) -> list[Coordinator]:
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    return [RedisCoordinator(redis_url, prefix=prefix, **options) for _ in range(2)]  # type: ignore[arg-type]


async def _close(hubs_: list[Hub]) -> None:
    for hub in hubs_:
        await hub.rasa.aclose()
        await hub.coordinator.aclose()


def _customer_messages(hub: Hub, conversation_id: int) -> list[Message]:
    with hub.sessions() as session:
        return list(
            session.scalars(
                select(Message)
                .where(Message.conversation_id == conversation_id)
                .where(Message.role == MessageRole.CUSTOMER)
                .order_by(Message.id)
            )
        )


def test_messages_stored_on_two_hubs_are_answered_one_at_a_time_in_stored_order(
    tmp_path: Path, database_url: str, redis_url: str
) -> None:
    rasa = SlowRasa(delay=0.05)

    async def main() -> None:
        with hubs(tmp_path, database_url, rasa, redis_pair(redis_url)) as (a, b):
            try:
                conversation = await a.flow.open_conversation()
                stored = []
                for n in range(6):  # stored alternately by hub A and hub B
                    hub = (a, b)[n % 2]
                    stored.append((hub, await hub.flow.receive(conversation.id, f"question {n}")))
                # Processed newest first, side by side, each by the hub that stored it.
                await asyncio.gather(
                    *(hub.flow.process(message) for hub, message in reversed(stored))
                )
                messages = _customer_messages(a, conversation.id)
            finally:
                await _close([a, b])
        assert rasa.received == [f"question {n}" for n in range(6)]  # stored order, once each
        assert rasa.most_at_once == 1
        assert all(m.status is MessageStatus.PROCESSED for m in messages)

    asyncio.run(main())


def test_the_control_hubs_without_redis_answer_out_of_order_and_at_once(
    tmp_path: Path, database_url: str
) -> None:
    """What the test above guards against: two hubs with locks of their own process."""
    rasa = SlowRasa(delay=0.3)  # both hubs are well inside Rasa at once

    async def main() -> None:
        with hubs(tmp_path, database_url, rasa, [LocalCoordinator(), LocalCoordinator()]) as (
            a,
            b,
        ):
            try:
                conversation = await a.flow.open_conversation()
                first = await a.flow.receive(conversation.id, "first")
                second = await b.flow.receive(conversation.id, "second")
                await asyncio.gather(b.flow.process(second), a.flow.process(first))
            finally:
                await _close([a, b])
        assert rasa.most_at_once == 2 or rasa.received != ["first", "second"]

    asyncio.run(main())


def test_a_later_message_is_never_answered_before_an_earlier_one_another_hub_stored(
    tmp_path: Path, database_url: str, redis_url: str
) -> None:
    rasa = SlowRasa(delay=0.0)

    async def main() -> None:
        with hubs(tmp_path, database_url, rasa, redis_pair(redis_url)) as (a, b):
            try:
                conversation = await a.flow.open_conversation()
                first = await a.flow.receive(conversation.id, "first")
                second = await b.flow.receive(conversation.id, "second")
                await b.flow.process(second)  # B gets to it before A processes its own
                assert rasa.received == ["first", "second"]
                await a.flow.process(first)  # handled already: nothing more
            finally:
                await _close([a, b])
        assert rasa.received == ["first", "second"]

    asyncio.run(main())


def test_a_message_whose_hub_died_is_recovered_once_by_two_hubs_at_once(
    tmp_path: Path, database_url: str, redis_url: str
) -> None:
    rasa = SlowRasa(delay=0.1)

    async def main() -> None:
        with hubs(tmp_path, database_url, rasa, redis_pair(redis_url), recovery_seconds=1.5) as (
            a,
            b,
        ):
            try:
                conversation = await a.flow.open_conversation()
                lost = await a.flow.receive(conversation.id, "asked just before hub A died")
                handed = await a.flow.open_conversation()
                also_lost = await a.flow.receive(handed.id, "a person please")
                # Too recent: a live hub may still be at work on them.
                assert await asyncio.gather(a.recover_waiting(), b.recover_waiting()) == [0, 0]
                await asyncio.sleep(1.7)
                found = await asyncio.gather(a.recover_waiting(), b.recover_waiting())
                assert sum(found) >= 2  # both conversations, whichever hub took each
                assert await asyncio.gather(a.recover_waiting(), b.recover_waiting()) == [0, 0]
                statuses = [
                    m.status
                    for cid in (conversation.id, handed.id)
                    for m in _customer_messages(a, cid)
                ]
                with a.sessions() as session:
                    tickets = session.scalars(
                        select(Ticket).where(Ticket.conversation_id == handed.id)
                    ).all()
            finally:
                await _close([a, b])
        assert sorted(rasa.received) == sorted([lost.text, also_lost.text])  # once each
        assert statuses == [MessageStatus.PROCESSED, MessageStatus.PROCESSED]
        assert len(tickets) == 1  # "a person please": handed off, once

    asyncio.run(main())


def test_recovery_leaves_a_conversation_whose_hub_is_at_work_on_it(
    tmp_path: Path, database_url: str, redis_url: str
) -> None:
    rasa = SlowRasa(delay=0.8)

    async def main() -> None:
        with hubs(tmp_path, database_url, rasa, redis_pair(redis_url), recovery_seconds=0.2) as (
            a,
            b,
        ):
            try:
                conversation = await a.flow.open_conversation()
                slow = await a.flow.receive(conversation.id, "a slow answer")
                working = asyncio.create_task(a.flow.process(slow))
                await asyncio.sleep(0.4)  # stored 0.4 s ago, A still waiting for Rasa
                assert await b.recover_waiting() == 0
                await working
            finally:
                await _close([a, b])
        assert rasa.received == ["a slow answer"]

    asyncio.run(main())


def test_the_sweep_runs_on_one_hub_per_interval_and_moves_when_its_leader_stops(
    tmp_path: Path, database_url: str, redis_url: str
) -> None:
    rasa = SlowRasa()

    async def main() -> None:
        with hubs(tmp_path, database_url, rasa, redis_pair(redis_url), sweep_interval=0.1) as (
            a,
            b,
        ):
            try:
                rounds = [await asyncio.gather(a.sweep_once(), b.sweep_once()) for _ in range(5)]
                assert all(sum(ran) == 1 for ran in rounds)  # once per interval
                leader, other = (a, b) if rounds[0][0] else (b, a)
                # The leader stops sweeping (it died): the lease (1 s at least) runs out.
                start = time.monotonic()
                while not await other.sweep_once():
                    assert time.monotonic() - start < 3
                    await asyncio.sleep(0.1)
                assert time.monotonic() - start >= 0.5
                assert not await leader.sweep_once()  # back, it follows
            finally:
                await _close([a, b])

    asyncio.run(main())


def test_an_sla_breach_is_raised_once_by_two_sweeps_at_once(
    tmp_path: Path, database_url: str
) -> None:
    rasa = SlowRasa(delay=0.0)

    async def handed_off() -> int:
        with hubs(tmp_path, database_url, rasa, [LocalCoordinator()]) as (hub,):
            try:
                conversation = await hub.flow.open_conversation()
                message = await hub.flow.receive(conversation.id, "a person please")
                await hub.flow.process(message)
            finally:
                await _close([hub])
        return conversation.id

    conversation_id = asyncio.run(handed_off())
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    later = utcnow() + timedelta(days=60)  # past every clock
    try:
        with sessions() as session:
            ticket = session.scalars(
                select(Ticket).where(Ticket.conversation_id == conversation_id)
            ).one()
            assert ticket.first_response_due is not None and ticket.resolution_due is not None
        raised: list[int] = []

        def second_sweep() -> None:
            with transaction(sessions) as session:
                raised.append(len(check_breaches(session, now=later)[1]))

        # The first sweep has stamped the ticket, not yet committed, when the second starts.
        with transaction(sessions) as session:
            raised.append(len(check_breaches(session, now=later)[1]))
            other = threading.Thread(target=second_sweep)
            other.start()
            time.sleep(0.5)
        other.join(30)
        with sessions() as session:
            kinds = [
                (e.kind, e.data.get("target"))
                for e in session.scalars(
                    select(TicketEvent).where(TicketEvent.kind == "sla_breached")
                )
            ]
    finally:
        engine.dispose()
    assert sorted(kinds) == [("sla_breached", "first_response"), ("sla_breached", "resolution")]
    assert raised[0] >= 2 and raised[1] == 0


def test_messages_waiting_behind_a_hand_off_go_to_people_not_to_the_bot(
    tmp_path: Path, database_url: str, redis_url: str
) -> None:
    rasa = SlowRasa(delay=0.0)

    async def main() -> list[MessageStatus]:
        with hubs(tmp_path, database_url, rasa, redis_pair(redis_url)) as (a, b):
            try:
                conversation = await a.flow.open_conversation()
                first = await a.flow.receive(conversation.id, "a person please")
                await b.flow.receive(conversation.id, "are you there?")
                await a.flow.process(first)
                return [m.status for m in _customer_messages(a, conversation.id)]
            finally:
                await _close([a, b])

    assert asyncio.run(main()) == [MessageStatus.PROCESSED, MessageStatus.PROCESSED]
    assert rasa.received == ["a person please"]  # the second was routed to people by storing


class MailLike:
    """A channel without a bot: its messages go straight to people."""

    name = "maillike"
    capabilities = Capabilities(bot=False)


def test_recovery_sends_a_channel_without_a_bot_to_people(
    tmp_path: Path, database_url: str, redis_url: str
) -> None:
    rasa = SlowRasa(delay=0.0)

    async def main() -> list[str]:
        with hubs(tmp_path, database_url, rasa, redis_pair(redis_url), recovery_seconds=0.1) as (
            a,
            b,
        ):
            b.channels["maillike"] = MailLike()  # type: ignore[assignment]
            try:
                conversation = await a.flow.run(intake.open_conversation, channel="maillike")
                await a.flow.receive(conversation.id, "my invoice is wrong")
                await asyncio.sleep(0.2)
                assert await b.recover_waiting() == 1
                with b.sessions() as session:
                    return [
                        t.reason
                        for t in session.scalars(
                            select(Ticket).where(Ticket.conversation_id == conversation.id)
                        )
                    ]
            finally:
                await _close([a, b])

    assert asyncio.run(main()) == ["maillike_received"]
    assert rasa.received == []


class BotChat:
    """A chat channel with the bot, reached by an API (nothing is sent in this test)."""

    name = "botchat"
    capabilities = Capabilities()

    async def after_accept(self, event: object) -> None:
        return None


def test_a_channel_event_whose_hub_died_before_accepting_it_is_recovered_once(
    tmp_path: Path, database_url: str, redis_url: str
) -> None:
    rasa = SlowRasa(delay=0.05)
    engine = make_engine(database_url)
    try:
        with transaction(make_sessionmaker(engine)) as session:  # stored, then the hub died
            data = {
                "event_id": "e-1", "thread_id": "t-1", "user_id": "u-1", "text": "Hello there",
                "kind": "message", "profile": {"name": "Stored First"},
            }  # fmt: skip
            inbound.record_event(
                session, channel="botchat", external_id="e-1", kind="message", data=data
            )
    finally:
        engine.dispose()

    async def main() -> int:
        with hubs(tmp_path, database_url, rasa, redis_pair(redis_url), recovery_seconds=0.1) as (
            a,
            b,
        ):
            for hub in (a, b):
                hub.channels["botchat"] = BotChat()  # type: ignore[assignment]
            try:
                await asyncio.sleep(0.2)
                await asyncio.gather(a.recover_waiting(), b.recover_waiting())
                await asyncio.gather(a.drain(), b.drain())  # the spawned work
                with a.sessions() as session:
                    return len(
                        session.scalars(
                            select(Message).where(Message.role == MessageRole.CUSTOMER)
                        ).all()
                    )
            finally:
                await _close([a, b])

    assert asyncio.run(main()) == 1
    assert rasa.received == ["Hello there"]


def test_the_hub_coordinates_through_redis_when_configured(
    tmp_path: Path, index_dir: Path, redis_url: str
) -> None:
    from tests.fakes.hub_client import hello, is_msg, make_client, until

    rasa = FakeRasa()
    key = "a-shared-secret-key-of-the-whole-fleet-0123456789"
    secrets = {"secret_key": key, "action_token": key[::-1]}  # required with Redis
    with make_client(tmp_path, index_dir, rasa, redis_url=redis_url, **secrets) as client:
        hub = client.app.state.hub  # type: ignore[attr-defined]
        assert isinstance(hub.coordinator, RedisCoordinator)
        assert isinstance(hub.flow._coordinator, RedisCoordinator)
        with client.websocket_connect("/ws/widget") as ws:
            hello(ws)
            ws.send_json({"type": "message", "text": "I forgot my password", "client_id": "c1"})
            assert until(ws, is_msg("bot"))["message"]["text"] == "Choose Forgot password."
    with make_client(tmp_path / "alone", index_dir, rasa) as client:
        assert isinstance(client.app.state.hub.coordinator, LocalCoordinator)  # type: ignore[attr-defined]


def test_a_turn_reads_the_waiting_messages_once_each(tmp_path: Path, database_url: str) -> None:
    """The write that stores the bot's answer also sees whether another message is waiting:
    no read after the last one to find nothing (api/dialogue.py: _drain)."""
    rasa = SlowRasa(delay=0.0)

    async def main() -> list[str]:
        with hubs(tmp_path, database_url, rasa, [LocalCoordinator()]) as (hub,):
            reads: list[int] = []
            read = hub.flow._next_waiting

            def counted(conversation_id: int) -> Any:
                reads.append(conversation_id)
                return read(conversation_id)

            hub.flow._next_waiting = counted  # type: ignore[method-assign]
            try:
                conversation = await hub.flow.open_conversation()
                alone = await hub.flow.receive(conversation.id, "question 0")
                await hub.flow.process(alone)
                assert len(reads) == 1
                first = await hub.flow.receive(conversation.id, "question 1")
                await hub.flow.receive(conversation.id, "question 2")
                await hub.flow.process(first)  # answers both, oldest first
                assert len(reads) == 3
                return [m.status.value for m in _customer_messages(hub, conversation.id)]
            finally:
                await _close([hub])

    assert asyncio.run(main()) == [MessageStatus.PROCESSED.value] * 3
    assert rasa.received == ["question 0", "question 1", "question 2"]
