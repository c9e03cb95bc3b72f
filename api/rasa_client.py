"""The hub's client for Rasa's REST channel."""

from __future__ import annotations

from typing import Any

import httpx


class RasaUnavailable(Exception):
    """Rasa did not answer in time, or answered with an error."""


class RasaClient:
    def __init__(
        self, base_url: str, *, timeout: float, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.AsyncClient(
            base_url=self.base_url, timeout=httpx.Timeout(timeout, connect=3.0), transport=transport
        )

    async def send(
        self, sender: str, text: str, metadata: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        body = {"sender": sender, "message": text, "metadata": metadata or {}}
        try:
            response = await self._client.post("/webhooks/rest/webhook", json=body)
        except httpx.TimeoutException as error:
            raise RasaUnavailable(f"Rasa did not answer within the timeout ({error!r})") from error
        except httpx.HTTPError as error:
            raise RasaUnavailable(f"Rasa is unreachable at {self.base_url} ({error!r})") from error
        if response.status_code != 200:
            raise RasaUnavailable(
                f"Rasa answered HTTP {response.status_code}: {response.text[:200]}"
            )
        try:
            replies = response.json()
        except ValueError as error:
            raise RasaUnavailable("Rasa answered with something that is not JSON") from error
        if not isinstance(replies, list):
            raise RasaUnavailable("Rasa's answer is not a list of messages")
        return [r for r in replies if isinstance(r, dict)]

    async def status(self) -> tuple[bool, str]:
        try:
            response = await self._client.get("/", timeout=3.0)
        except httpx.HTTPError as error:
            return False, f"unreachable: {error!r}"
        return response.status_code == 200, response.text.strip()[:100]

    async def aclose(self) -> None:
        await self._client.aclose()
