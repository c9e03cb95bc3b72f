"""The live bus (api/bus.py) on a real Redis: what one hub relays reaches the others, never
itself, and the bus carries on after Redis restarts."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from api.bus import BusMessage, LocalBus, RedisBus, decode, encode
from handoff.events import message_created, queue_moved
from tests.fakes.redis_server import redis_available, redis_server
from tests.fakes.stack import free_port


def test_messages_round_trip_and_anything_else_is_refused() -> None:
    message = BusMessage("events", (message_created(3, 7), queue_moved()))
    assert decode(encode("hub-a", message)) == ("hub-a", message)
    frame = BusMessage("widget", conversation_id=3, frame={"type": "typing", "role": "agent"})
    assert decode(encode("hub-a", frame)) == ("hub-a", frame)
    for bad in ('"text"', '{"target": "everyone"}', '{"target": "events", "events": [{"x": 1}]}'):
        with pytest.raises(ValueError):
            decode(bad)


def test_the_local_bus_relays_nothing() -> None:
    async def run() -> None:
        bus = LocalBus()
        got: list[BusMessage] = []

        async def handler(message: BusMessage) -> None:
            got.append(message)

        await bus.start(handler)
        bus.relay(BusMessage("events", (queue_moved(),)))
        await asyncio.sleep(0.05)
        await bus.stop()
        assert got == []

    asyncio.run(run())


async def received(into: list[BusMessage], count: int, within: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while len(into) < count:
        assert asyncio.get_running_loop().time() < deadline, f"got {into}"
        await asyncio.sleep(0.02)


def test_other_hubs_hear_a_relay_the_sender_does_not(redis_url: str) -> None:
    async def run() -> None:
        a, b = RedisBus(redis_url, channel="test:bus"), RedisBus(redis_url, channel="test:bus")
        at_a: list[BusMessage] = []
        at_b: list[BusMessage] = []

        async def to_a(message: BusMessage) -> None:
            at_a.append(message)

        async def to_b(message: BusMessage) -> None:
            at_b.append(message)

        await a.start(to_a)
        await b.start(to_b)
        try:
            sent = BusMessage("events", (message_created(1, 2),))
            a.relay(sent)
            await received(at_b, 1)
            await asyncio.sleep(0.2)
            assert at_b == [sent] and at_a == []  # A delivered locally already
        finally:
            await a.stop()
            await b.stop()

    asyncio.run(run())


def test_the_bus_comes_back_after_redis_restarts(tmp_path: Path) -> None:
    missing = redis_available()
    if missing:
        pytest.skip(missing)
    if os.environ.get("FRONTLINE_TEST_REDIS_URL"):
        pytest.skip("restarts a Redis of its own; FRONTLINE_TEST_REDIS_URL names someone else's")
    port = free_port()

    async def run() -> None:
        with redis_server(tmp_path / "first", port=port) as url:
            a, b = RedisBus(url), RedisBus(url)
            at_b: list[BusMessage] = []

            async def to_a(message: BusMessage) -> None:
                return None

            async def to_b(message: BusMessage) -> None:
                at_b.append(message)

            await a.start(to_a)
            await b.start(to_b)
            a.relay(BusMessage("events", (queue_moved(),)))
            await received(at_b, 1)
        # Redis is down: relaying neither raises nor blocks.
        a.relay(BusMessage("agents", frame={"type": "typing", "lost": True}))
        await asyncio.sleep(0.5)
        try:
            with redis_server(tmp_path / "second", port=port):
                deadline = asyncio.get_running_loop().time() + 15
                while len(at_b) < 2:  # resubscribed (backoff): relay until one arrives
                    assert asyncio.get_running_loop().time() < deadline, "never came back"
                    a.relay(BusMessage("agents", frame={"type": "typing", "back": True}))
                    await asyncio.sleep(0.3)
                assert any(m.frame and m.frame.get("back") for m in at_b)
        finally:
            await a.stop()
            await b.stop()

    asyncio.run(run())
