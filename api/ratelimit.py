"""Customer rate limits: token buckets, and the client's address behind a trusted proxy.

Two limits protect the hub from one client (security-probe.md rows 28-30): new conversations
per client IP (across `/ws/widget` and `/socket.io`), and messages per socket. Both are token
buckets: `burst` tokens at most, refilled at `rate` per second; a request takes one token or
is refused with the seconds until one is there.

`Limiter` is the seam: `LocalLimiter` keeps its buckets in this process, which is right for
one hub; several hubs behind a load balancer need a shared one (Redis) behind the same
`take`.
"""

from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

Clock = Callable[[], float]


@dataclass
class TokenBucket:
    """`burst` tokens, refilled at `rate` per second."""

    rate: float
    burst: float
    clock: Clock = time.monotonic
    tokens: float = field(init=False)
    stamp: float = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = self.burst
        self.stamp = self.clock()

    def _refill(self) -> float:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return now

    def take(self) -> float:
        """0.0 when a token was taken, else the seconds until one will be there."""
        self._refill()
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate if self.rate > 0 else float("inf")

    @property
    def full(self) -> bool:
        self._refill()
        return self.tokens >= self.burst


class Limiter(Protocol):
    """A token bucket per key (a client IP)."""

    def take(self, key: str) -> float:
        """0.0 when allowed (a token taken), else the seconds to wait before trying again."""
        ...


class LocalLimiter:
    """Buckets in this process, at most `max_keys` of them: the least recently used goes
    first, so a flood of addresses cannot grow memory (a forgotten key starts full again)."""

    def __init__(
        self, rate: float, burst: float, *, max_keys: int = 100_000, clock: Clock = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def take(self, key: str) -> float:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self.rate, self.burst, self.clock)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        return bucket.take()


@dataclass(frozen=True)
class RateLimits:
    """The customer limits a hub enforces (settings: FRONTLINE_NEW_CONVERSATIONS_PER_MINUTE,
    ..._BURST, FRONTLINE_MESSAGES_PER_SECOND, ..._BURST)."""

    conversations: Limiter
    message_rate: float
    message_burst: float

    def message_bucket(self) -> TokenBucket:
        """A fresh bucket for one socket's messages."""
        return TokenBucket(self.message_rate, self.message_burst)


def rate_limits(
    conversations_per_minute: float,
    conversations_burst: float,
    messages_per_second: float,
    messages_burst: float,
) -> RateLimits:
    return RateLimits(
        LocalLimiter(conversations_per_minute / 60.0, conversations_burst),
        messages_per_second,
        messages_burst,
    )


Networks = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]


def networks(entries: Iterable[str]) -> Networks:
    """Addresses or CIDR ranges (FRONTLINE_TRUSTED_PROXIES) as networks."""
    return tuple(ipaddress.ip_network(e.strip(), strict=False) for e in entries if e.strip())


def _trusted(address: str, proxies: Networks) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in proxies)


def client_ip(peer: str | None, headers: Mapping[str, str], proxies: Networks) -> str:
    """The client's address: the TCP peer, or, when the peer is a trusted proxy, the nearest
    address in X-Forwarded-For that is not itself a trusted proxy. A client cannot pick its
    own key by sending the header: from an untrusted peer it is ignored."""
    address = peer or "unknown"
    if not proxies or not _trusted(address, proxies):
        return address
    forwarded = [a.strip() for a in headers.get("x-forwarded-for", "").split(",") if a.strip()]
    for hop in reversed(forwarded):
        if not _trusted(hop, proxies):
            return hop
        address = hop
    return address
