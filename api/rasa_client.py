"""The hub's client for Rasa's REST channel."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

import httpx
import jwt

log = logging.getLogger(__name__)

# Rasa 3.6 parses a message starting with "/" as that intent without its NLU; `restart` is one
# of its default intents, and the RulePolicy maps it to `action_restart` (no custom action
# runs), which ends the tracker's dialogue state.
RESTART = "/restart"


class RasaUnavailable(Exception):
    """Rasa did not answer in time, or answered with an error."""


class RasaClient:
    """`api_key`: the HS256 key of Rasa's HTTP API (`rasa run --enable-api --jwt-secret FILE`),
    exactly as Rasa reads it from that file; without it only the REST channel is used."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float,
        transport: httpx.AsyncBaseTransport | None = None,
        api_key: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
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

    def _api_headers(self) -> dict[str, str]:
        if not self._api_key:
            raise RasaUnavailable("no key for Rasa's HTTP API")
        # Rasa grants its whole API to role "admin"; a short life bounds a leaked token.
        claims = {"user": {"username": "frontline-hub", "role": "admin"}, "exp": time.time() + 60}
        return {"Authorization": f"Bearer {jwt.encode(claims, self._api_key, algorithm='HS256')}"}

    async def tracker_events(self, sender: str) -> list[dict[str, Any]]:
        """Every event Rasa's tracker store holds for `sender` (HTTP API)."""
        response = await self._api("GET", sender, params={"include_events": "ALL"})
        events = response.json().get("events") or []
        return [e for e in events if isinstance(e, dict)]

    async def erase_tracker(self, sender: str) -> None:
        """Replace the tracker of `sender` with no events at all: Rasa's tracker store then
        holds nothing of the conversation (raises RasaUnavailable)."""
        await self._api("PUT", sender, suffix="/events", json=[])

    async def _api(
        self, method: str, sender: str, *, suffix: str = "", **kwargs: Any
    ) -> httpx.Response:
        url = f"/conversations/{quote(sender, safe='')}/tracker{suffix}"
        try:
            response = await self._client.request(
                method, url, headers=self._api_headers(), **kwargs
            )
        except httpx.HTTPError as error:
            raise RasaUnavailable(f"Rasa is unreachable at {self.base_url} ({error!r})") from error
        if response.status_code != 200:
            raise RasaUnavailable(
                f"Rasa's HTTP API answered {response.status_code}: {response.text[:200]}"
            )
        return response

    async def status(self) -> tuple[bool, str]:
        try:
            response = await self._client.get("/", timeout=3.0)
        except httpx.HTTPError as error:
            return False, f"unreachable: {error!r}"
        return response.status_code == 200, response.text.strip()[:100]

    async def aclose(self) -> None:
        await self._client.aclose()


async def erase_trackers(rasa: RasaClient, conversation_ids: Iterable[int]) -> int:
    """Delete what Rasa holds of each erased conversation; how many trackers were erased.

    Through Rasa's HTTP API (enabled by `frontline run`, guarded by a key only the hub and
    Rasa read) each tracker is replaced by an empty one, so its events are gone from the
    tracker store. A Rasa without that API gets the REST channel's `/restart` instead: the
    bot forgets the dialogue at once, but the events stay in its memory until it restarts
    (the operator is told in the log). A Rasa that is down holds nothing to forget: the
    first failure ends the pass, logged, and never fails the erasure."""
    erased = 0
    for conversation_id in conversation_ids:
        sender = f"conversation-{conversation_id}"
        try:
            await rasa.erase_tracker(sender)
        except RasaUnavailable as api_error:
            try:
                await rasa.restart(sender)
            except RasaUnavailable as error:
                log.warning("could not reach Rasa after an erasure: %s", error)
                break
            log.warning(
                "Rasa's tracker of %s was restarted, not deleted (%s): its events stay in "
                "Rasa's memory until Rasa restarts",
                sender,
                api_error,
            )
            continue
        erased += 1
    return erased
