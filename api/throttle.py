"""Login throttling: failed attempts counted per key (an account, a client address) in a
sliding window; past the limit the key is refused until its oldest failure leaves the window.

`Throttle` is the seam: `MemoryThrottle` keeps the counts in this process (one hub); a hub
running as several processes needs one shared store (e.g. Redis sorted sets keyed the same
way) behind the same three methods. `LoginGuard` is the policy the login route applies.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


class Throttle(Protocol):
    """Failure counts per key in a sliding window of `window` seconds."""

    async def retry_after(self, key: str, *, limit: int, window: float) -> float:
        """Seconds until `key` may try again: 0 while it has fewer than `limit` failures."""
        ...

    async def failed(self, key: str, *, window: float) -> None:
        """Count one failure for `key` now."""
        ...

    async def clear(self, key: str) -> None:
        """Forget `key`'s failures (a successful login)."""
        ...


class MemoryThrottle:
    """In-process counts, bounded: at most `max_keys` keys (the least recently failed one is
    dropped first), so a flood of made-up account names cannot grow memory without end."""

    def __init__(
        self, *, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._max_keys = max_keys
        self._clock = clock

    def _recent(self, key: str, window: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        cutoff = self._clock() - window
        while times and times[0] <= cutoff:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    async def retry_after(self, key: str, *, limit: int, window: float) -> float:
        times = self._recent(key, window)
        if times is None or len(times) < limit:
            return 0.0
        # The oldest failures that keep the count at the limit must leave the window first.
        return max(times[len(times) - limit] + window - self._clock(), 0.001)

    async def failed(self, key: str, *, window: float) -> None:
        times = self._recent(key, window) or deque()
        times.append(self._clock())
        self._failures[key] = times
        self._failures.move_to_end(key)
        while len(self._failures) > self._max_keys:
            self._failures.popitem(last=False)

    async def clear(self, key: str) -> None:
        self._failures.pop(key, None)


@dataclass(frozen=True)
class LoginGuard:
    """At most `per_account` failed logins per account and `per_ip` per client address in
    `window` seconds. Checked before the password is hashed, so refused attempts cost no
    argon2 time; a success clears the account's count (not the address's)."""

    throttle: Throttle
    per_account: int = 5
    per_ip: int = 20
    window: float = 15 * 60

    @staticmethod
    def _keys(email: str, ip: str) -> tuple[str, str]:
        return f"login:account:{email.strip().lower()}", f"login:ip:{ip}"

    async def retry_after(self, email: str, ip: str) -> int:
        """Whole seconds to wait (for Retry-After), 0 when the attempt may go ahead."""
        account, address = self._keys(email, ip)
        wait = max(
            await self.throttle.retry_after(account, limit=self.per_account, window=self.window),
            await self.throttle.retry_after(address, limit=self.per_ip, window=self.window),
        )
        return math.ceil(wait) if wait > 0 else 0

    async def failed(self, email: str, ip: str) -> None:
        for key in self._keys(email, ip):
            await self.throttle.failed(key, window=self.window)

    async def succeeded(self, email: str, ip: str) -> None:
        await self.throttle.clear(self._keys(email, ip)[0])
