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
        # Several Rasa servers sharing a tracker and a lock store (deploy/README.md):
        # "http://rasa-1:5005,http://rasa-2:5005", asked in turn.
        self.base_urls = [u.strip().rstrip("/") for u in base_url.split(",") if u.strip()]
        if not self.base_urls:
            raise ValueError("no Rasa server URL")
        self.base_url = self.base_urls[0]
        self._api_key = api_key
        self._clients = [
            httpx.AsyncClient(
                base_url=url, timeout=httpx.Timeout(timeout, connect=3.0), transport=transport
            )
            for url in self.base_urls
        ]
        self._turn = 0

    def _order(self) -> list[httpx.AsyncClient]:
        """Every server, starting with the next one in turn (round robin)."""
        start = self._turn % len(self._clients)
        self._turn += 1
        return self._clients[start:] + self._clients[:start]

    async def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One request, to the next server in turn; a server that refuses the connection is
        skipped for the next. A timeout is not retried elsewhere: that server may be answering,
        and the same message must not reach the bot twice."""
        last: httpx.ConnectError | None = None
        for client in self._order():
            try:
                return await client.request(method, url, **kwargs)
            except httpx.ConnectError as error:
                log.warning("Rasa at %s refused the connection: %r", client.base_url, error)
                last = error
        assert last is not None
        raise last

    async def send(
        self, sender: str, text: str, metadata: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        body = {"sender": sender, "message": text, "metadata": metadata or {}}
        try:
            response = await self._request("POST", "/webhooks/rest/webhook", json=body)
        except httpx.TimeoutException as error:
            raise RasaUnavailable(f"Rasa did not answer within the timeout ({error!r})") from error
        except httpx.HTTPError as error:
            raise RasaUnavailable(f"Rasa is unreachable at {self.base_urls} ({error!r})") from error
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
            response = await self._request(method, url, headers=self._api_headers(), **kwargs)
        except httpx.HTTPError as error:
            raise RasaUnavailable(f"Rasa is unreachable at {self.base_urls} ({error!r})") from error
        if response.status_code != 200:
            raise RasaUnavailable(
                f"Rasa's HTTP API answered {response.status_code}: {response.text[:200]}"
            )
        return response

    async def status(self) -> tuple[bool, str]:
        """Up when every server answers (each one's answer is named when there are several)."""
        states: list[tuple[bool, str]] = []
        for client in self._clients:
            try:
                response = await client.get("/", timeout=3.0)
            except httpx.HTTPError as error:
                states.append((False, f"unreachable: {error!r}"))
                continue
            states.append((response.status_code == 200, response.text.strip()[:100]))
        if len(states) == 1:
            return states[0]
        detail = "; ".join(
            f"{url}: {text}" for url, (_, text) in zip(self.base_urls, states, strict=True)
        )
        return all(up for up, _ in states), detail

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()


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
