"""What WhatsApp Cloud API, Messenger and Instagram messaging share: Meta's Graph webhooks
(the `X-Hub-Signature-256` body signature and the `hub.challenge` GET) and the Graph API's
error classes.

Sources: developers.facebook.com/docs/graph-api/webhooks/getting-started (verification
request, payload signature), the Graph API and WhatsApp Cloud API error-code pages,
../shared/reference/channels.md sections 3-5; checked against pywa 4.5.0
(`pywa.utils.webhook_updates_validator`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from api.channels import http
from api.channels.base import Answer, InboundRequest, Refused, SendResult

SIGNATURE_HEADER = "x-hub-signature-256"
# Graph API throttling: app (4), user (17), page (32), call-rate (613), Messenger
# business-use-case (80007), WhatsApp throughput (130429) and pair rate (131056).
RATE_LIMITED = frozenset({4, 17, 32, 613, 80007, 130429, 131056})
TRANSIENT = frozenset({1, 2, 131000})  # "unknown/temporary error, try again"
OUTSIDE_WINDOW_SUBCODE = 2018278  # Messenger code 10: sent outside the allowed window

# Failed for good, with what an agent should read.
PERMANENT: dict[int, str] = {
    10: "the platform does not allow this message (permission missing, or outside the "
    "messaging window)",
    200: "the page or number lacks the permission to send this message",
    551: "the customer isn't available right now (they may have blocked us or left)",
    131047: "the 24-hour window has closed: send the template",
    131026: "undeliverable: the number is not on WhatsApp, has not accepted the latest terms, "
    "or blocked the business",
    131051: "WhatsApp does not support this message type",
    131052: "WhatsApp could not download the media",
}


def signature(app_secret: str, body: bytes) -> str:
    """The header value Meta sends: "sha256=" + hex HMAC-SHA256(app secret, raw body)."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(app_secret: str, request: InboundRequest) -> None:
    """Only `X-Hub-Signature-256` counts: the SHA-1 `X-Hub-Signature` Meta still sends
    beside it is not accepted on its own."""
    given = request.headers.get(SIGNATURE_HEADER, "")
    if not given.startswith("sha256="):
        raise Refused(401, "missing X-Hub-Signature-256 (sha256=...) header")
    expected = signature(app_secret, request.body)
    if not hmac.compare_digest(given.strip().encode(), expected.encode()):
        raise Refused(401, "X-Hub-Signature-256 does not match the body")


def handshake(verify_token: str, request: InboundRequest) -> Answer | None:
    """The verification GET: `hub.mode=subscribe`, our verify token → the challenge echoed
    as text/plain; a wrong token → 403. A POST is never a handshake."""
    if request.method != "GET":
        return None
    if request.query.get("hub.mode") != "subscribe" or "hub.challenge" not in request.query:
        raise Refused(400, "not a hub.mode=subscribe verification request")
    token = request.query.get("hub.verify_token", "")
    if not hmac.compare_digest(token.encode(), verify_token.encode()):
        raise Refused(403, "wrong hub.verify_token")
    return Answer(200, request.query["hub.challenge"], "text/plain")


def load_body(request: InboundRequest, expected_object: str) -> dict[str, Any]:
    """The notification's JSON, refused (400) unless it is of the `object` we serve."""
    try:
        body = json.loads(request.body)
    except ValueError:
        raise Refused(400, "body is not JSON") from None
    if not isinstance(body, dict) or not isinstance(body.get("entry"), list):
        raise Refused(400, "not a Graph webhook notification (no entry list)")
    if body.get("object") != expected_object:
        raise Refused(400, f"object is {body.get('object')!r}, expected {expected_object!r}")
    return body


def describe_error(code: int | None, subcode: int | None, message: str) -> tuple[bool, str]:
    """(retry?, reason) for a Graph error code, as the outbox and the console need it."""
    if code in RATE_LIMITED:
        return True, f"rate limited by the platform (Graph error {code}): {message}"
    if code in TRANSIENT:
        return True, f"temporary platform error (Graph error {code}): {message}"
    if code == 190:
        return True, (
            "the access token was refused (Graph error 190: expired or revoked): renew it in "
            "channels.yml; the message waits"
        )
    if code == 10 and subcode == OUTSIDE_WINDOW_SUBCODE:
        return False, "outside the messaging window: the customer has not written recently"
    if code is not None and code in PERMANENT:
        return False, PERMANENT[code]
    return False, f"refused by the platform (Graph error {code}): {message}"


def classify_error(response: httpx.Response) -> SendResult:
    """A Graph API answer that is not 2xx, as retry-later or failed-for-good."""
    data = http.json_object(response)
    found = data.get("error")
    error: dict[str, Any] = found if isinstance(found, dict) else {}
    code = as_int(error.get("code"))
    subcode = as_int(error.get("error_subcode"))
    message = str(error.get("message") or f"HTTP {response.status_code}")
    retry_after = http.retry_after(response)
    if response.status_code == 429 or response.status_code >= 500:
        _, reason = describe_error(code, subcode, message)
        return SendResult.retry(reason, retry_after)
    retry, reason = describe_error(code, subcode, message)
    if retry or error.get("is_transient") is True:
        return SendResult.retry(reason, retry_after)
    return SendResult.failed(reason)


async def post(
    client: httpx.AsyncClient, url: str, token: str, body: Mapping[str, Any], what: str
) -> tuple[SendResult | None, dict[str, Any]]:
    """POST to the Graph API: (None, the JSON answer) on 2xx, else (the classified result,
    {})."""
    try:
        response = await client.post(
            url, json=dict(body), headers={"Authorization": f"Bearer {token}"}
        )
    except httpx.HTTPError as error:
        return SendResult.retry(f"{what} unreachable: {error!r}"), {}
    if 200 <= response.status_code < 300:
        return None, http.json_object(response)
    return classify_error(response), {}


def within(last_customer_at: Any, hours: float, now: datetime | None = None) -> bool:
    """Whether the customer wrote within the last `hours` (an ISO time or a datetime)."""
    if isinstance(last_customer_at, str):
        try:
            last_customer_at = datetime.fromisoformat(last_customer_at)
        except ValueError:
            return False
    if not isinstance(last_customer_at, datetime):
        return False
    if last_customer_at.tzinfo is None:
        last_customer_at = last_customer_at.replace(tzinfo=UTC)
    return bool((now or datetime.now(UTC)) - last_customer_at < timedelta(hours=hours))


def as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
