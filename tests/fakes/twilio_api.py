"""A local fake of Twilio's Messages API, and helpers that call the hub as Twilio does.

`POST /2010-04-01/Accounts/{AccountSid}/Messages.json` with HTTP Basic auth (account SID,
auth token) and a form (To, From, Body, StatusCallback) answers 201 with a message resource,
or Twilio's error answers (`{"code", "message", "more_info", "status"}`): 21610 for a
number that texted STOP, scripted failures (429/20429, 5xx, 21211, 21614, 63016). Inbound
webhooks and status callbacks are signed with twilio-python's own RequestValidator over the
configured public URL (tests/fixtures/channels/twilio/README.md has the sources).

    with FakeTwilioApi() as fake:
        config api_base = fake.base_url
        fake.opt_out("+15551234567")
        post_form(hub_url, inbound_form("Hi", "+15551234567"), fake.auth_token, PUBLIC_URL)
"""

from __future__ import annotations

import base64
import hmac
import itertools
import secrets
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
from twilio.request_validator import RequestValidator

from tests.fakes._http import BackgroundHttpServer, Reply, Request

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "f00dbabe0123456789abcdef01234567"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "channels" / "twilio"
MAX_BODY = 1600
# The URL configured in Twilio for the integration stack: the hub is reached at another one,
# as behind a proxy.
PUBLIC_URL = "https://support.example.com/channels/twilio"


@dataclass(frozen=True)
class Sent:
    """One Messages.json call as received: `status` is what the fake answered."""

    form: dict[str, str]
    status: int
    sid: str | None
    time: float

    @property
    def to(self) -> str:
        return self.form.get("To", "")

    @property
    def body(self) -> str:
        return self.form.get("Body", "")


def load_form(name: str) -> list[tuple[str, str]]:
    """A fixture's fields, in order (tests/fixtures/channels/twilio/<name>.form)."""
    path = FIXTURES / (name if name.endswith(".form") else f"{name}.form")
    return parse_qsl(path.read_text(encoding="utf-8").strip(), keep_blank_values=True)


def error(status: int, code: int, message: str, headers: Mapping[str, str] | None = None) -> Reply:
    return Reply.json(
        status,
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        headers,
    )


class FakeTwilioApi(BackgroundHttpServer):
    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN) -> None:
        super().__init__(self._handle)
        self.account_sid = account_sid
        self.auth_token = auth_token
        self._lock = threading.Condition()
        self._sent: list[Sent] = []
        self._failures: list[Reply] = []
        self._opted_out: set[str] = set()
        self._sids = itertools.count(1)

    # scripting

    def fail_next(self, reply: Reply, count: int = 1) -> None:
        with self._lock:
            self._failures.extend([reply] * count)

    def opt_out(self, number: str) -> None:
        """As if this number texted STOP: sends to it answer 21610."""
        with self._lock:
            self._opted_out.add(number)

    # inspection

    @property
    def calls(self) -> list[Sent]:
        with self._lock:
            return list(self._sent)

    def sent(self, to: str | None = None) -> list[Sent]:
        return [s for s in self.calls if s.status == 201 and (to is None or s.to == to)]

    def wait_for(self, count: int, to: str | None = None, timeout: float = 30.0) -> list[Sent]:
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                found = [s for s in self._sent if s.status == 201 and (to is None or s.to == to)]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(found)} of {count} messages sent to {to}")
                self._lock.wait(left)

    # serving

    def _handle(self, request: Request) -> Reply:
        form = dict(parse_qsl(request.body.decode(), keep_blank_values=True))
        reply, sid = self._answer(request, form)
        with self._lock:
            self._sent.append(Sent(form, reply.status, sid, time.time()))
            self._lock.notify_all()
        return reply

    def _answer(self, request: Request, form: dict[str, str]) -> tuple[Reply, str | None]:
        path = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        if request.method != "POST" or request.path != path:
            return error(404, 20404, "The requested resource was not found"), None
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Basic {expected}".encode()):
            return error(401, 20003, "Authenticate"), None
        with self._lock:
            if self._failures:
                return self._failures.pop(0), None
            opted_out = form.get("To", "").removeprefix("whatsapp:") in self._opted_out
        if not form.get("To") or not form.get("From"):
            return error(400, 21604, "A 'To' phone number is required."), None
        if not form.get("Body"):
            return error(400, 21602, "Message body is required."), None
        if len(form["Body"]) > MAX_BODY:
            return error(400, 21617, "The concatenated message body exceeds 1600 characters"), None
        if opted_out:
            return error(400, 21610, "Attempt to send to unsubscribed recipient"), None
        sid = f"SM{next(self._sids):032x}"
        return Reply.json(201, self._resource(sid, form)), sid

    def _resource(self, sid: str, form: Mapping[str, str]) -> dict[str, Any]:
        return {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": form["Body"],
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": form["From"],
            "num_media": "0",
            "num_segments": str(-(-len(form["Body"]) // 153)),
            "sid": sid,
            "status": "queued",
            "to": form["To"],
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        }


# ---- Twilio calling the hub -------------------------------------------------------------


def sign(auth_token: str, public_url: str, fields: Sequence[tuple[str, str]]) -> str:
    """X-Twilio-Signature as Twilio's own library computes it."""
    return str(RequestValidator(auth_token).compute_signature(public_url, dict(fields)))


def post_form(
    hub_url: str,
    fields: Sequence[tuple[str, str]],
    auth_token: str,
    public_url: str,
    *,
    signature: str | None = None,
    path: str = "/channels/twilio",
) -> httpx.Response:
    """POSTs a webhook to the hub as Twilio does: form-encoded, signed over `public_url`
    (the URL configured in Twilio; the hub is reached at another one, as behind a proxy)."""
    body = urlencode(list(fields))
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": signature or sign(auth_token, public_url, fields),
        "I-Twilio-Idempotency-Token": secrets.token_hex(16),
    }
    return httpx.post(f"{hub_url.rstrip('/')}{path}", content=body, headers=headers, timeout=10)


_sids = itertools.count(1)


def inbound_form(
    text: str, sender: str, *, to: str = "+15557654321", sid: str | None = None, **more: str
) -> list[tuple[str, str]]:
    """An inbound SMS (or WhatsApp, with a whatsapp: sender), shaped like inbound_sms.form."""
    sid = sid or f"SM{0xF0000000 + next(_sids):032x}"
    fields = [
        ("ToCountry", "US"),
        ("SmsMessageSid", sid),
        ("NumMedia", "0"),
        ("SmsSid", sid),
        ("SmsStatus", "received"),
        ("Body", text),
        ("To", to if not sender.startswith("whatsapp:") else f"whatsapp:{to}"),
        ("NumSegments", "1"),
        ("MessageSid", sid),
        ("AccountSid", ACCOUNT_SID),
        ("From", sender),
        ("ApiVersion", "2010-04-01"),
    ]
    return fields + list(more.items())


def status_form(
    sid: str, status: str, to: str, *, error_code: str | None = None
) -> list[tuple[str, str]]:
    """A status callback of a message we sent (status_delivered.form's shape)."""
    fields = [
        ("SmsSid", sid),
        ("SmsStatus", status),
        ("MessageStatus", status),
        ("To", to),
        ("MessageSid", sid),
        ("AccountSid", ACCOUNT_SID),
        ("From", "+15557654321"),
        ("ApiVersion", "2010-04-01"),
    ]
    if error_code:
        fields.insert(0, ("ErrorCode", error_code))
    return fields
