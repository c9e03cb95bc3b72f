"""SMS and WhatsApp through Twilio: form-encoded webhooks in, Messages.json out.

Inbound requests (messages and the status callbacks of what we sent, both to
/channels/twilio) are signed in `X-Twilio-Signature`: base64 HMAC-SHA1 with the auth token
over the URL Twilio was configured with (`public_url`: a proxy changes the URL the hub
sees) followed by every form field's name and value, names sorted. `MessageSid` is the
dedup key. SMS has no buttons: choices go as a numbered list. Customers who text an opt-out
keyword (STOP...) are unsubscribed by Twilio itself; we keep a note, and later sends fail
with error 21610. Sources: twilio-python `request_validator.py` (the same algorithm, checked
in tests/unit/test_twilio_teams.py), twilio.com/docs/usage/security,
twilio.com/docs/messaging/guides/webhook-request, twilio.com/docs/messaging/api/message-resource,
twilio.com/docs/messaging/guides/outbound-message-status-in-status-callbacks,
../shared/reference/channels.md section 6.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import httpx

from api.channels import http
from api.channels.base import (
    Attachment,
    Capabilities,
    InboundMessage,
    InboundRequest,
    OutboundMessage,
    Profile,
    Refused,
    SendResult,
)
from api.channels.config import TwilioConfig
from api.channels.render import plain_text, split_text

# A message body is at most 1600 characters (Twilio splits SMS into segments itself).
TEXT_LIMIT = 1600
SIGNATURE_HEADER = "x-twilio-signature"
# Twilio's default opt-out and opt-in keywords (support.twilio.com, "Twilio support for
# opt-out keywords"); Twilio answers them itself and blocks further sends (21610).
OPT_OUT = frozenset(
    {"STOP", "STOPALL", "STOP ALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"}
)
OPT_IN = frozenset({"START", "YES", "UNSTOP"})
OPTED_OUT = "the customer opted out (STOP)"
# Status callbacks: Twilio's MessageStatus → our delivery status (None: not news).
STATUSES: dict[str, str | None] = {
    "accepted": None,
    "scheduled": None,
    "queued": None,
    "sending": None,
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "undelivered": "failed",
    "failed": "failed",
    "canceled": "failed",
}
# Error codes an agent should read as words (twilio.com/docs/api/errors).
ERRORS: dict[str, str] = {
    "21610": OPTED_OUT,
    "21211": "not a valid phone number",
    "21614": "not a mobile number: it cannot receive SMS",
    "21408": "Twilio may not send to this region (geo permissions)",
    "63016": "outside WhatsApp's 24-hour window: only an approved template can be sent",
    "63014": "the customer blocked this WhatsApp sender",
    "30003": "the phone is unreachable (off or out of coverage)",
    "30004": "the customer blocked these messages",
    "30005": "unknown number (it does not exist)",
    "30006": "a landline or unreachable carrier",
    "30007": "filtered by the carrier as spam",
    "30008": "the carrier could not deliver it",
}
# Send errors that no retry fixes.
PERMANENT = frozenset({"21610", "21211", "21614", "21408", "63016", "63014", "21606", "21612"})


def signature(auth_token: str, url: str, fields: Sequence[tuple[str, str]]) -> str:
    """X-Twilio-Signature of a form POST to `url` (the algorithm of twilio-python's
    RequestValidator.compute_signature: names sorted, each name's distinct values sorted)."""
    values: dict[str, set[str]] = {}
    for name, value in fields:
        values.setdefault(name, set()).add(value)
    text = url + "".join(name + v for name in sorted(values) for v in sorted(values[name]))
    digest = hmac.new(auth_token.encode(), text.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _url_variants(url: str) -> list[str]:
    """The URL with and without its default port: Twilio signs either (as the SDK checks)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    default = 443 if parts.scheme == "https" else 80
    without = urlunsplit(parts._replace(netloc=host if parts.port else parts.netloc))
    port = parts.port or default
    with_port = urlunsplit(parts._replace(netloc=f"{host}:{port}"))
    if parts.username or parts.password:  # credentials in the URL: keep it as given
        return [url]
    return list(dict.fromkeys([url, without, with_port]))


class TwilioChannel(http.HttpChannel):
    name = "twilio"
    capabilities = Capabilities(buttons=0, text_limit=TEXT_LIMIT, markdown="none")

    def __init__(self, config: TwilioConfig, client: httpx.AsyncClient | None = None) -> None:
        self._config = config
        self._client = client or httpx.AsyncClient(
            timeout=15.0, auth=(config.account_sid, config.auth_token)
        )
        self._messages_url = (
            f"{config.api_base.rstrip('/')}/2010-04-01/Accounts/{config.account_sid}/Messages.json"
        )

    # ---- inbound ----------------------------------------------------------------------

    def _signed_urls(self, request: InboundRequest) -> list[str]:
        """The configured public URL; with the query the request came with, when Twilio was
        configured with one the proxy passed on (e.g. ?source=whatsapp)."""
        urls = _url_variants(self._config.public_url)
        query = urlsplit(request.url).query
        if query and not urlsplit(self._config.public_url).query:
            urls += _url_variants(f"{self._config.public_url}?{query}")
        return urls

    def verify(self, request: InboundRequest) -> None:
        given = request.headers.get(SIGNATURE_HEADER, "")
        if not given:
            raise Refused(401, "missing X-Twilio-Signature")
        fields = _form(request.body)
        for url in self._signed_urls(request):
            expected = signature(self._config.auth_token, url, fields)
            if hmac.compare_digest(given.encode(), expected.encode()):
                return
        raise Refused(403, "X-Twilio-Signature does not match (is public_url the URL in Twilio?)")

    def parse(self, request: InboundRequest) -> Sequence[InboundMessage]:
        form = dict(_form(request.body))
        sid = form.get("MessageSid") or form.get("SmsSid") or ""
        if not sid:
            raise Refused(400, "not a Twilio webhook (no MessageSid)")
        status = form.get("MessageStatus") or ""
        if status and status != "received" and "Body" not in form:
            return [_status(sid, status, form)]
        if not form.get("From"):
            raise Refused(400, "a Twilio message without From")
        return [_message(sid, form)]

    # ---- outbound ---------------------------------------------------------------------

    def _from_for(self, to: str) -> str:
        sender = self._config.from_
        if to.startswith("whatsapp:") and not sender.startswith("whatsapp:"):
            return f"whatsapp:{sender}"
        return sender

    async def send(self, message: OutboundMessage) -> SendResult:
        chunks = split_text(plain_text(message, numbered_buttons=True), TEXT_LIMIT)
        result = SendResult.failed("nothing to send")
        for chunk in chunks:
            form = {
                "To": message.thread_id,
                "From": self._from_for(message.thread_id),
                "Body": chunk,
                "StatusCallback": self._config.public_url,
            }
            try:
                response = await self._client.post(self._messages_url, data=form)
            except httpx.HTTPError as error:
                return SendResult.retry(f"Twilio unreachable: {error!r}")
            result = classify(response)
            if result.outcome != "sent":
                return result
        return result

    async def check(self) -> str:
        url = self._messages_url.removesuffix("/Messages.json") + ".json"
        response = await self._client.get(url)
        if response.status_code != 200:
            raise RuntimeError(
                f"Twilio answered {response.status_code}: {http.json_object(response)}"
            )
        account = http.json_object(response)
        name = account.get("friendly_name") or self._config.account_sid
        return f"account {name} ({account.get('status')}), sending from {self._config.from_}"


def classify(response: httpx.Response) -> SendResult:
    """Messages.json's answer as sent / retry later / failed for good."""
    data = http.json_object(response)
    status = response.status_code
    if 200 <= status < 300 and data.get("sid"):
        return SendResult.sent(str(data["sid"]))
    code = str(data.get("code") or "")
    text = str(data.get("message") or f"HTTP {status}")
    detail = f"Twilio {code}: {text}" if code else f"Twilio answered {status}: {text}"
    if status == 429 or code == "20429":
        return SendResult.retry(detail, http.retry_after(response))
    if status >= 500 or status in (401, 408):  # down, or credentials being fixed
        return SendResult.retry(detail, http.retry_after(response))
    if code in ERRORS and code in PERMANENT:
        return SendResult.failed(ERRORS[code])
    return SendResult.failed(detail)


def _status(sid: str, status: str, form: Mapping[str, str]) -> InboundMessage:
    """A status callback of a message we sent: one event per (message, status)."""
    ours = STATUSES.get(status)
    code = form.get("ErrorCode") or ""
    reason = None
    if ours == "failed":
        reason = ERRORS.get(code) or (f"Twilio error {code}" if code else f"Twilio: {status}")
    return InboundMessage(
        event_id=f"{sid}:{status}",
        thread_id=form.get("To", ""),
        user_id=form.get("To", ""),
        kind="status" if ours else "ignored",
        extra={"status_of": sid, "status": ours or status, "reason": reason, "error_code": code},
    )


def _message(sid: str, form: Mapping[str, str]) -> InboundMessage:
    sender = form["From"]
    body = form.get("Body", "")
    keyword = " ".join(body.split()).upper()
    opt_type = (form.get("OptOutType") or "").upper()
    extra: dict[str, Any] = {"to": form.get("To")}
    kind = "message"
    text = body
    if opt_type == "STOP" or keyword in OPT_OUT:
        kind, extra["opt_out"] = "note", True
        text = f"{body.strip()} (the customer opted out: Twilio stops all messages to them)"
    elif opt_type == "START" or keyword in OPT_IN:
        kind, extra["opt_in"] = "note", True
        text = f"{body.strip()} (the customer opted back in)"
    phone = sender.removeprefix("whatsapp:")
    return InboundMessage(
        event_id=sid,
        thread_id=sender,
        user_id=sender,
        text=text,
        kind=kind,
        message_id=sid,
        profile=Profile(name=form.get("ProfileName") or phone, phone=phone),
        attachments=_attachments(form),
        extra=extra,
    )


def _attachments(form: Mapping[str, str]) -> tuple[Attachment, ...]:
    try:
        count = int(form.get("NumMedia") or 0)
    except ValueError:
        return ()
    found: list[Attachment] = []
    for n in range(min(count, 10)):  # Twilio sends at most 10
        url = form.get(f"MediaUrl{n}")
        if not url:
            continue
        found.append(
            Attachment(
                name=url.rsplit("/", 1)[-1],
                content_type=form.get(f"MediaContentType{n}"),
                external_id=url,
            )
        )
    return tuple(found)


def _form(body: bytes) -> list[tuple[str, str]]:
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise Refused(400, "the form is not UTF-8") from None
