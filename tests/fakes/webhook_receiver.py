"""The customer's end of the generic signed webhook channel, for tests.

Our hub POSTs outbound messages to a customer URL signed with Standard Webhooks
(`webhook-id`, `webhook-timestamp`, `webhook-signature`). This receiver checks them with the
reference implementation (`standardwebhooks.Webhook.verify`), not with our own code, so a
signing bug in the hub cannot hide behind a matching bug in the test. It records every
callback, verified or not, and can be told to fail (500, 429 with Retry-After, 410) to drive
the outbox's retry and give-up paths. `sign()` makes the headers for inbound requests.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from standardwebhooks import Webhook

from tests.fakes._http import BackgroundHttpServer, Failures, Reply, Request

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "channels" / "webhook"


def new_secret() -> str:
    """A random `whsec_`-prefixed secret as Standard Webhooks senders issue them."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(
    secret: str,
    msg_id: str,
    timestamp: int | float | datetime | None,
    body: bytes | str,
) -> dict[str, str]:
    """The three Standard Webhooks headers for `body`, signed by the `standardwebhooks` package.

    `timestamp` None means now. The body is signed as given: send exactly these bytes.
    """
    if timestamp is None:
        when = datetime.now(tz=UTC)
    elif isinstance(timestamp, datetime):
        when = timestamp if timestamp.tzinfo else timestamp.replace(tzinfo=UTC)
    else:
        when = datetime.fromtimestamp(timestamp, tz=UTC)
    data = body.decode() if isinstance(body, bytes) else body
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, when, data),
    }


def load_vectors() -> dict[str, Any]:
    """tests/fixtures/channels/webhook/vectors.json."""
    data: dict[str, Any] = json.loads((FIXTURES / "vectors.json").read_text(encoding="utf-8"))
    return data


def load_body(name: str) -> bytes:
    """An inbound body fixture's exact bytes (what its signature vector signs)."""
    return (FIXTURES / name).read_bytes()


@dataclass(frozen=True)
class Callback:
    """One request the receiver got. `status` is what it answered."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    verified: bool
    error: str | None
    payload: Any
    status: int
    time: float

    @property
    def msg_id(self) -> str | None:
        return self.headers.get("webhook-id")

    def json(self) -> Any:
        return json.loads(self.body)


class WebhookReceiver(BackgroundHttpServer):
    """Accepts callbacks on any path; `url` is `{base_url}/callbacks` for convenience.

    A verified callback is answered 200; one whose signature does not verify is recorded and
    answered 401 (as a careful receiver would), unless `reject_unverified=False`. Scripted
    failures take precedence over both. `payload` is the parsed JSON body, verified or not.
    """

    def __init__(
        self,
        secret: str,
        *,
        reject_unverified: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(self._handle, host, port)
        self.secret = secret
        self.reject_unverified = reject_unverified
        self._webhook = Webhook(secret)
        self._lock = threading.Condition()
        self._callbacks: list[Callback] = []
        self._failures: Failures[Reply] = Failures()

    @property
    def url(self) -> str:
        return f"{self.base_url}/callbacks"

    def fail_next(self, status: int, count: int = 1, retry_after: int | None = None) -> None:
        """The next `count` callbacks are answered `status` (with Retry-After if given)."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        with self._lock:
            self._failures.add(Reply.json(status, {"error": f"scripted {status}"}, headers), count)

    def clear(self) -> None:
        with self._lock:
            self._callbacks.clear()
            self._failures.clear()

    @property
    def callbacks(self) -> list[Callback]:
        with self._lock:
            return list(self._callbacks)

    def verified(self) -> list[Callback]:
        return [c for c in self.callbacks if c.verified]

    def wait_for(
        self, count: int, timeout: float = 5.0, *, verified_only: bool = True
    ) -> list[Callback]:
        """Blocks until `count` callbacks (verified ones by default) arrived, else TimeoutError."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                got = [c for c in self._callbacks if c.verified or not verified_only]
                if len(got) >= count:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"{len(got)} of {count} callbacks within {timeout}s; all: "
                        f"{[(c.msg_id, c.verified, c.error, c.status) for c in self._callbacks]}"
                    )
                self._lock.wait(left)

    def _handle(self, request: Request) -> Reply:
        payload: Any = None
        error: str | None = None
        try:
            self._webhook.verify(request.body, dict(request.headers), json_parse=False)
            verified = True
        except Exception as exc:
            verified = False
            error = f"{type(exc).__name__}: {exc}"
        try:
            payload = json.loads(request.body)
        except ValueError:
            payload = None
        with self._lock:
            failure = self._failures.take()
            if failure is not None:
                reply = failure
            elif not verified and self.reject_unverified:
                reply = Reply.json(401, {"error": error})
            else:
                reply = Reply.json(200, {"received": True})
            self._callbacks.append(
                Callback(
                    method=request.method,
                    path=request.path,
                    headers=request.headers,
                    body=request.body,
                    verified=verified,
                    error=error,
                    payload=payload,
                    status=reply.status,
                    time=time.time(),
                )
            )
            self._lock.notify_all()
        return reply
