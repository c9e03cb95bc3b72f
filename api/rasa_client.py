"""The hub's client for Rasa's REST channel."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import httpx

log = logging.getLogger(__name__)

# Rasa 3.6 parses a message starting with "/" as that intent without its NLU; `restart` is one
# of its default intents, and the RulePolicy maps it to `action_restart` (no custom action
# runs), which ends the tracker's dialogue state.
RESTART = "/restart"


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

    async def restart(self, sender: str) -> None:
        """Reset the tracker of `sender` (raises RasaUnavailable)."""
        await self.send(sender, RESTART, {"frontline_erasure": True})

    async def status(self) -> tuple[bool, str]:
        try:
            response = await self._client.get("/", timeout=3.0)
        except httpx.HTTPError as error:
            return False, f"unreachable: {error!r}"
        return response.status_code == 200, response.text.strip()[:100]

    async def aclose(self) -> None:
        await self._client.aclose()


async def reset_trackers(rasa: RasaClient, conversation_ids: Iterable[int]) -> int:
    """Best-effort: restart the Rasa tracker of each erased conversation; how many were reset.

    Rasa's HTTP API (which could replace a tracker's events) stays disabled, so the REST
    channel's `/restart` is the reach we have: the bot forgets the dialogue at once, and the
    event list itself lives only in Rasa's memory (the default in-memory tracker store) until
    Rasa restarts. A Rasa that is down holds nothing to forget: the first failure ends the
    pass, logged, and never fails the erasure."""
    reset = 0
    for conversation_id in conversation_ids:
        try:
            await rasa.restart(f"conversation-{conversation_id}")
        except RasaUnavailable as error:
            log.warning("could not reset Rasa trackers after an erasure: %s", error)
            break
        reset += 1
    return reset
