"""What the socket.io channel remembers beyond one connection, so that a rasa-webchat client
that reconnects to another hub is served as if it had come back to the same one:

- the last message delivered to each conversation's clients (to replay what a client missed
  while it was away: everything stored after that);
- the session ids issued to clients that have not sent a first message yet (a reconnect
  resumes them instead of taking another new-conversation token).

In this process for one hub (bounded); in Redis with FRONTLINE_REDIS_URL (keys expire).
Per-connection state (the socket's conversation, its lock, its address) stays per process: a
socket.io connection lives on one hub. A Redis error is logged and the channel goes on as
after a restart (the client keeps its own history).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

REMEMBERED = 10_000  # conversations / session ids kept in this process
DELIVERED_TTL = 7 * 24 * 3600  # a conversation idle for a week replays nothing
ISSUED_TTL = 24 * 3600
PREFIX = "frontline:webchat"
# Keep the highest id: two hubs may deliver to the same conversation at once.
_RAISE = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
else
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return 1
"""


class WebchatMemory(Protocol):
    async def delivered(self, conversation_id: int) -> int | None:
        """The last message id delivered to this conversation's clients, None if unknown."""

    async def note_delivered(self, conversation_id: int, message_id: int) -> None: ...

    async def issue(self, session_id: str) -> None: ...

    async def was_issued(self, session_id: str) -> bool: ...

    async def forget_issued(self, session_id: str) -> None: ...

    async def aclose(self) -> None: ...


class LocalMemory:
    def __init__(self, limit: int = REMEMBERED) -> None:
        self._limit = limit
        self._delivered: OrderedDict[int, int] = OrderedDict()
        self._issued: OrderedDict[str, None] = OrderedDict()

    async def delivered(self, conversation_id: int) -> int | None:
        return self._delivered.get(conversation_id)

    async def note_delivered(self, conversation_id: int, message_id: int) -> None:
        self._delivered[conversation_id] = max(message_id, self._delivered.get(conversation_id, 0))
        self._delivered.move_to_end(conversation_id)
        while len(self._delivered) > self._limit:
            self._delivered.popitem(last=False)

    async def issue(self, session_id: str) -> None:
        self._issued[session_id] = None
        while len(self._issued) > self._limit:
            self._issued.popitem(last=False)

    async def was_issued(self, session_id: str) -> bool:
        return session_id in self._issued

    async def forget_issued(self, session_id: str) -> None:
        self._issued.pop(session_id, None)

    async def aclose(self) -> None:
        return None


class RedisMemory:
    def __init__(self, url: str, prefix: str = PREFIX) -> None:
        self._redis = aioredis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._prefix = prefix
        self._raise = self._redis.register_script(_RAISE)

    def _key(self, kind: str, name: object) -> str:
        return f"{self._prefix}:{kind}:{name}"

    async def delivered(self, conversation_id: int) -> int | None:
        try:
            value = await self._redis.get(self._key("delivered", conversation_id))
        except (RedisError, OSError) as error:
            log.warning("webchat: Redis did not say what was delivered: %s", error)
            return None
        return int(value) if value is not None else None

    async def note_delivered(self, conversation_id: int, message_id: int) -> None:
        key = self._key("delivered", conversation_id)
        try:
            await self._raise(keys=[key], args=[message_id, DELIVERED_TTL])
        except (RedisError, OSError) as error:
            log.warning("webchat: Redis did not note a delivery: %s", error)

    async def issue(self, session_id: str) -> None:
        try:
            await self._redis.set(self._key("issued", session_id), 1, ex=ISSUED_TTL)
        except (RedisError, OSError) as error:
            log.warning("webchat: Redis did not keep an issued session id: %s", error)

    async def was_issued(self, session_id: str) -> bool:
        try:
            return bool(await self._redis.exists(self._key("issued", session_id)))
        except (RedisError, OSError) as error:
            log.warning("webchat: Redis did not say whether a session id was issued: %s", error)
            return False

    async def forget_issued(self, session_id: str) -> None:
        try:
            await self._redis.delete(self._key("issued", session_id))
        except (RedisError, OSError) as error:
            log.warning("webchat: Redis did not forget an issued session id: %s", error)

    async def aclose(self) -> None:
        await self._redis.aclose()


def make_memory(redis_url: str) -> WebchatMemory:
    return RedisMemory(redis_url) if redis_url else LocalMemory()
