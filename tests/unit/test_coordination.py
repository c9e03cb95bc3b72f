"""The coordination seam (api/coordination.py) on a real Redis: a lock excludes across
"hubs" (coordinators of their own), a dead holder's lock expires, the leader lease has one
holder and is taken over when its holder stops; the local one behaves as one process."""

from __future__ import annotations

import asyncio
import uuid

from api.coordination import LocalCoordinator, RedisCoordinator


def fleet(redis_url: str, n: int = 2, **options: float) -> list[RedisCoordinator]:
    """`n` hubs' coordinators on one Redis, with keys of their own for this test."""
    prefix = f"test-{uuid.uuid4().hex[:8]}:"
    return [RedisCoordinator(redis_url, prefix=prefix, **options) for _ in range(n)]  # type: ignore[arg-type]


async def _overlap(coordinators: list[RedisCoordinator] | list[LocalCoordinator]) -> int:
    """The most holders of one key at the same time, over 4 rounds per coordinator."""
    inside = 0
    most = 0

    async def work(coordinator: RedisCoordinator | LocalCoordinator) -> None:
        nonlocal inside, most
        for _ in range(4):
            async with coordinator.lock("conversation:1"):
                inside += 1
                most = max(most, inside)
                await asyncio.sleep(0.02)
                inside -= 1

    await asyncio.gather(*(work(c) for c in coordinators))
    return most


def test_the_redis_lock_excludes_across_hubs(redis_url: str) -> None:
    async def main() -> None:
        hubs = fleet(redis_url, 3)
        try:
            assert await _overlap(hubs) == 1
        finally:
            for hub in hubs:
                await hub.aclose()
        # The control: three hubs each with a lock of its own process overlap.
        assert await _overlap([LocalCoordinator() for _ in range(3)]) > 1

    asyncio.run(main())


def test_try_lock_says_whether_the_key_was_free(redis_url: str) -> None:
    async def main() -> None:
        a, b = fleet(redis_url)
        try:
            async with a.try_lock("conversation:7") as held_a:
                assert held_a
                async with b.try_lock("conversation:7") as held_b:
                    assert not held_b
            async with b.try_lock("conversation:7") as held_b:
                assert held_b  # released by a
        finally:
            await a.aclose()
            await b.aclose()

    asyncio.run(main())


def test_a_lock_is_renewed_while_held_and_expires_when_its_holder_died(redis_url: str) -> None:
    async def main() -> None:
        # A ttl well above a loaded machine's pauses (renewal comes every third of it).
        a, b = fleet(redis_url, lock_ttl=0.9)
        try:
            # Held for two ttls: the renewal keeps it; b cannot take it meanwhile.
            async with a.lock("conversation:3"):
                for _ in range(6):
                    await asyncio.sleep(0.3)
                    async with b.try_lock("conversation:3") as held:
                        assert not held
            # A hub that dies holding it: its key stays, no renewal, no release.
            died = await a._acquire(f"{a._prefix}lock:conversation:3", "dead-hub")
            assert died
            async with b.try_lock("conversation:3") as held:
                assert not held
            await asyncio.sleep(1.0)
            async with b.try_lock("conversation:3") as held:
                assert held  # expired
        finally:
            await a.aclose()
            await b.aclose()

    asyncio.run(main())


def test_one_leader_at_a_time_and_a_takeover_when_it_stops(redis_url: str) -> None:
    async def main() -> None:
        a, b = fleet(redis_url)
        try:
            # Leases far longer than a loaded machine's pauses; renewed every fifth of one.
            ttl = 1.5
            assert await a.lead("sweep", ttl)
            assert not await b.lead("sweep", ttl)
            for _ in range(7):  # a renews every interval: it keeps leading past the ttl
                await asyncio.sleep(0.3)
                assert await a.lead("sweep", ttl)
                assert not await b.lead("sweep", ttl)
            # a stops (no renewal): b takes over once the lease has expired.
            await asyncio.sleep(ttl + 0.2)
            assert await b.lead("sweep", ttl)
            assert not await a.lead("sweep", ttl)
            # b resigns (a clean shutdown): a leads at once.
            await b.resign("sweep")
            assert await a.lead("sweep", ttl)
        finally:
            await a.aclose()
            await b.aclose()

    asyncio.run(main())


def test_the_local_coordinator_is_one_process() -> None:
    async def main() -> None:
        local = LocalCoordinator()
        assert await local.lead("sweep", 1.0)
        async with local.try_lock("k") as held:
            assert held
            async with local.try_lock("k") as again:
                assert not again
        assert await _overlap([local, local]) == 1
        # Released with a waiter: the key is the waiter's, not free for a try.
        entered = asyncio.Event()

        async def waiter() -> None:
            async with local.lock("k"):
                entered.set()

        async with local.lock("k"):
            waiting = asyncio.create_task(waiter())
            await asyncio.sleep(0.01)
        async with local.try_lock("k") as held:
            assert not held
        await waiting
        assert entered.is_set()
        async with local.try_lock("k") as held:
            assert held

    asyncio.run(main())
