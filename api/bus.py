"""The live bus: what one hub's Broker tells the Brokers of the other hubs.

`LocalBus` (one hub, no Redis) relays nothing: every subscriber is in this process and the
Broker delivers to them itself. `RedisBus` publishes on one Redis pub/sub channel and hands
what the other hubs published to the Broker.

What travels: committed *events* (handoff.events.Event: ids, not rows), so each hub reads
the committed state and builds the frames for its own subscribers (a queued widget hears its
own place in the queue from the hub it is connected to); and transient frames (typing,
forms), which are not stored anywhere and travel as they are.

Each hub delivers to its own subscribers at once and skips its own messages when Redis hands
them back (`origin`): local delivery then neither waits for nor depends on Redis, a Redis
outage only cuts the hubs off from each other, and nothing is delivered twice.

Relaying never fails nor delays the operation that committed: `relay` only queues the
message; a task sends it, reconnecting with backoff after a Redis restart (a message that
cannot be sent after a reconnection is dropped and logged: live frames are a courtesy, the
database holds the truth and the clients fetch what they missed when they reconnect).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal, Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from api.stopping import cancel_and_wait
from handoff.events import Event

log = logging.getLogger(__name__)

CHANNEL = "frontline:live"
QUEUE_LIMIT = 10_000  # messages waiting for Redis; beyond that the oldest are dropped
BACKOFF_FIRST = 0.1
BACKOFF_MAX = 5.0
STOP_WAIT = 2.0  # seconds the shutdown waits for a connection to close
_EVENT_FIELDS = {f.name for f in fields(Event)}

Target = Literal["events", "widget", "agents"]


@dataclass(frozen=True)
class BusMessage:
    """Events to turn into frames, or one transient frame for a conversation's widgets
    (`widget`) or for every console (`agents`)."""

    target: Target
    events: tuple[Event, ...] = ()
    conversation_id: int = 0
    frame: dict[str, Any] | None = None


Handler = Callable[[BusMessage], Awaitable[None]]


def encode(origin: str, message: BusMessage) -> str:
    return json.dumps(
        {
            "origin": origin,
            "target": message.target,
            "events": [asdict(e) for e in message.events],
            "conversation_id": message.conversation_id,
            "frame": message.frame,
        },
        separators=(",", ":"),
    )


def decode(data: str | bytes) -> tuple[str, BusMessage]:
    """(origin, message); ValueError for anything that is not one of ours."""
    raw = json.loads(data)
    if not isinstance(raw, dict) or raw.get("target") not in ("events", "widget", "agents"):
        raise ValueError("not a bus message")
    events = []
    for item in raw.get("events") or []:
        if not isinstance(item, dict) or not set(item) <= _EVENT_FIELDS:
            raise ValueError(f"not an event: {item!r}")
        events.append(Event(**item))
    frame = raw.get("frame")
    if frame is not None and not isinstance(frame, dict):
        raise ValueError("a frame is an object")
    return str(raw.get("origin")), BusMessage(
        raw["target"], tuple(events), int(raw.get("conversation_id") or 0), frame
    )


class Bus(Protocol):
    """Started and stopped with the app's lifespan."""

    origin: str

    async def start(self, handler: Handler) -> None:
        """From now on, `handler` gets what the other hubs relay."""

    def relay(self, message: BusMessage) -> None:
        """Tell the other hubs (never blocks, never raises)."""

    async def stop(self) -> None: ...


class LocalBus:
    """One hub: nobody else to tell (the Broker delivered in this process already)."""

    def __init__(self) -> None:
        self.origin = "local"

    async def start(self, handler: Handler) -> None:
        return None

    def relay(self, message: BusMessage) -> None:
        return None

    async def stop(self) -> None:
        return None


class RedisBus:
    """Redis pub/sub on one channel, a listener and a sender task, each reconnecting."""

    def __init__(self, url: str, *, channel: str = CHANNEL, origin: str | None = None) -> None:
        self.url = url
        self.channel = channel
        self.origin = origin or secrets.token_hex(8)
        self._outgoing: asyncio.Queue[str] = asyncio.Queue(QUEUE_LIMIT)
        self._tasks: list[asyncio.Task[None]] = []
        self._subscribed = asyncio.Event()
        self.dropped = 0  # live updates that never reached Redis

    async def start(self, handler: Handler, *, ready_within: float = 5.0) -> None:
        """Subscribes before returning (up to `ready_within` s: a Redis that is down does
        not stop the hub from starting; the listener keeps trying)."""
        self._tasks = [
            asyncio.create_task(self._listen(handler)),
            asyncio.create_task(self._send()),
        ]
        try:
            await asyncio.wait_for(self._subscribed.wait(), ready_within)
        except TimeoutError:
            log.error(
                "live bus: not subscribed to Redis yet (%s); retrying in the background", self.url
            )

    def relay(self, message: BusMessage) -> None:
        data = encode(self.origin, message)
        if self._outgoing.full():
            self._outgoing.get_nowait()
            self.dropped += 1
            log.warning("live bus: Redis is behind, an old live update was dropped")
        self._outgoing.put_nowait(data)

    async def stop(self) -> None:
        """Cancels the tasks; a Redis that does not answer cannot hold up the shutdown."""
        await cancel_and_wait(self._tasks, timeout=STOP_WAIT)
        self._tasks = []

    async def _send(self) -> None:
        backoff = BACKOFF_FIRST
        while True:
            client = aioredis.from_url(self.url)
            try:
                while True:
                    data = await self._outgoing.get()
                    try:
                        await client.publish(self.channel, data)
                    except (RedisError, OSError):
                        # One more try on a fresh connection, then the message is dropped.
                        await client.aclose()
                        await asyncio.sleep(backoff)
                        client = aioredis.from_url(self.url)
                        try:
                            await client.publish(self.channel, data)
                        except (RedisError, OSError):
                            self.dropped += 1
                            raise
                    backoff = BACKOFF_FIRST
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as error:
                log.warning(
                    "live bus: cannot publish to Redis (%s); retrying in %.1f s", error, backoff
                )
                await asyncio.sleep(backoff)
                backoff = min(BACKOFF_MAX, backoff * 2)
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(client.aclose(), STOP_WAIT)

    async def _listen(self, handler: Handler) -> None:
        backoff = BACKOFF_FIRST
        lost = False
        while True:
            client = aioredis.from_url(self.url)
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                self._subscribed.set()
                if lost:
                    log.warning("live bus: subscribed to Redis again")
                    lost = False
                backoff = BACKOFF_FIRST
                while True:
                    item = await pubsub.get_message(timeout=None)
                    if item is None or item.get("type") != "message":
                        continue
                    await self._handle(handler, item["data"])
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as error:
                lost = True
                self._subscribed.clear()
                log.warning(
                    "live bus: lost Redis (%s); subscribing again in %.1f s", error, backoff
                )
                await asyncio.sleep(backoff)
                backoff = min(BACKOFF_MAX, backoff * 2)
            finally:
                # Through a typed name: some redis-py releases leave `PubSub.aclose`
                # unannotated (an untyped call for mypy --strict), 8.2 annotates it.
                close_pubsub: Callable[[], Awaitable[None]] = pubsub.aclose
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(close_pubsub(), STOP_WAIT)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(client.aclose(), STOP_WAIT)

    async def _handle(self, handler: Handler, data: str | bytes) -> None:
        try:
            origin, message = decode(data)
        except (ValueError, TypeError) as error:
            log.warning("live bus: ignored a message that is not ours: %s", error)
            return
        if origin == self.origin:
            return  # delivered in this process already
        try:
            await handler(message)
        except Exception:  # one bad message must not stop the listener
            log.exception("live bus: delivering %s failed", message)


def make_bus(redis_url: str) -> Bus:
    return RedisBus(redis_url) if redis_url else LocalBus()
