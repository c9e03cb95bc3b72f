"""Coordination between hubs: a lock per key and a leader lease.

One hub on its own (no FRONTLINE_REDIS_URL) coordinates in its own process: asyncio locks,
and it always leads. Several hubs share Redis: a lock is a key set with `SET NX PX` holding a
random token, renewed while its holder runs and deleted only by that holder (compare and
delete), so a lock whose hub died expires after `ttl` seconds; a lease is the same kind of
key, kept by the leader renewing it every time it asks, taken over by another hub once it
has expired.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import weakref
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

from api.stopping import cancel_and_wait

log = logging.getLogger(__name__)

# A held lock's key lives this long without renewal: how long a dead hub's lock blocks.
LOCK_TTL = 15.0
PREFIX = "frontline:"

# KEYS[1] the key, ARGV[1] the holder's token, ARGV[2] the new ttl in ms.
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""
# Take the lease if free, renew it if ours: 1 when we lead afterwards.
_LEAD = """
if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 1
end
if redis.call('get', KEYS[1]) == ARGV[1] then
  redis.call('pexpire', KEYS[1], ARGV[2])
  return 1
end
return 0
"""


class Coordinator(Protocol):
    def lock(self, key: str) -> AbstractAsyncContextManager[None]:
        """Hold `key` exclusively across the fleet (waits for it)."""
        ...

    def try_lock(self, key: str) -> AbstractAsyncContextManager[bool]:
        """Hold `key` if it is free now: yields False (holding nothing) if it is not."""
        ...

    async def lead(self, job: str, ttl: float) -> bool:
        """Whether this hub runs `job` now: takes or renews the job's lease for `ttl` s.
        Call it every interval (ttl a few intervals): the leader keeps leading while it
        lives, another hub takes over once the lease expires."""
        ...

    async def resign(self, job: str) -> None:
        """Give the lease up (at shutdown), so another hub leads at once."""
        ...

    async def aclose(self) -> None: ...


class LocalCoordinator:
    """One hub: asyncio locks per key, and this hub always leads (today's behaviour)."""

    def __init__(self) -> None:
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        # Holders and waiters per key: a try finds a key busy while anyone waits for it too
        # (asyncio.Lock is unlocked for a moment between a release and the next waiter).
        self._busy: dict[str, int] = {}

    @asynccontextmanager
    async def _hold(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        self._busy[key] = self._busy.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._busy[key] -= 1
            if not self._busy[key]:
                del self._busy[key]

    @asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        async with self._hold(key):
            yield

    @asynccontextmanager
    async def try_lock(self, key: str) -> AsyncIterator[bool]:
        if self._busy.get(key):
            yield False
            return
        async with self._hold(key):  # nobody holds or awaits it: this does not wait
            yield True

    async def lead(self, job: str, ttl: float) -> bool:
        return True

    async def resign(self, job: str) -> None:
        return None

    async def aclose(self) -> None:
        return None


class RedisCoordinator:
    """Several hubs: locks and leases as Redis keys with owners' tokens and expiries."""

    def __init__(
        self, url: str, *, lock_ttl: float = LOCK_TTL, poll: float = 0.02, prefix: str = PREFIX
    ) -> None:
        import redis.asyncio as redis  # only hubs configured for Redis need it loaded

        self._redis: Any = redis.Redis.from_url(url)
        self._lock_ttl = lock_ttl
        self._poll = poll
        self._prefix = prefix  # keys of one fleet: several may share a Redis
        self._token = secrets.token_hex(16)  # this hub's, for its leases
        self._renew = self._redis.register_script(_RENEW)
        self._release = self._redis.register_script(_RELEASE)
        self._lead = self._redis.register_script(_LEAD)

    @property
    def client(self) -> Any:
        return self._redis

    async def _acquire(self, key: str, token: str) -> bool:
        return bool(await self._redis.set(key, token, nx=True, px=int(self._lock_ttl * 1000)))

    @asynccontextmanager
    async def _held(self, key: str, token: str) -> AsyncIterator[None]:
        """Renew the lock while the body runs (a third of the ttl apart), then release it."""

        held = True

        async def renew() -> None:
            while held:  # besides the cancellation, which Python 3.11 can lose (api/stopping.py)
                await asyncio.sleep(self._lock_ttl / 3)
                if not held:
                    return
                try:
                    ttl = int(self._lock_ttl * 1000)
                    if not await self._renew(keys=[key], args=[token, ttl]):
                        log.warning("lock %s expired while held (a pause longer than its ttl)", key)
                        return
                except Exception:  # Redis away for a moment: try again next time
                    log.exception("could not renew lock %s", key)

        renewal = asyncio.create_task(renew())
        try:
            yield
        finally:
            held = False
            await cancel_and_wait([renewal])
            try:
                await self._release(keys=[key], args=[token])
            except Exception:  # it expires on its own
                log.exception("could not release lock %s", key)

    @asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        name = f"{self._prefix}lock:{key}"
        token = secrets.token_hex(16)
        delay = self._poll
        while not await self._acquire(name, token):
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 0.25)  # quick when the holder is quick, polite when not
        async with self._held(name, token):
            yield

    @asynccontextmanager
    async def try_lock(self, key: str) -> AsyncIterator[bool]:
        name = f"{self._prefix}lock:{key}"
        token = secrets.token_hex(16)
        if not await self._acquire(name, token):
            yield False
            return
        async with self._held(name, token):
            yield True

    async def lead(self, job: str, ttl: float) -> bool:
        name = f"{self._prefix}lease:{job}"
        return bool(await self._lead(keys=[name], args=[self._token, int(ttl * 1000)]))

    async def resign(self, job: str) -> None:
        await self._release(keys=[f"{self._prefix}lease:{job}"], args=[self._token])

    async def aclose(self) -> None:
        await self._redis.aclose()


def make_coordinator(redis_url: str) -> Coordinator:
    """Redis when a URL is configured, else this process alone."""
    return RedisCoordinator(redis_url) if redis_url else LocalCoordinator()
