"""What the adapters that speak HTTP to their platform share: reading an answer's JSON and
its Retry-After, and the Channel methods most of them have nothing to do in."""

from __future__ import annotations

from typing import Any

import httpx

from api.channels.base import Answer, InboundMessage, InboundRequest


def json_object(response: httpx.Response) -> dict[str, Any]:
    """The answer's JSON object; {} when the body is not JSON or not an object."""
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def retry_after(response: httpx.Response) -> float | None:
    """The Retry-After header in seconds (never negative); None when absent or not a number."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class HttpChannel:
    """Defaults for an adapter with one httpx client: no handshake of its own, nothing to do
    once an event is stored, and closing the client. Adapters override what they need."""

    _client: httpx.AsyncClient

    def handshake(self, request: InboundRequest) -> Answer | None:
        return None

    async def after_accept(self, event: InboundMessage) -> InboundMessage | None:
        return None

    async def aclose(self) -> None:
        await self._client.aclose()
