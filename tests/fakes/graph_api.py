"""A local fake of Meta's Graph API send paths (WhatsApp `/{phone_number_id}/messages`,
Messenger and Instagram `/me/messages`), and helpers that deliver webhooks like Meta.

Answers have the Graph API's shapes: WhatsApp `{"messaging_product", "contacts",
"messages": [{"id": "wamid..."}]}`, Messenger `{"recipient_id", "message_id"}`, errors
`{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}`. Scriptable: the
next N calls of a product fail with a given code (429 rate limits, 190 token, 131047 window,
551 unavailable...), and a recipient can be made unreachable.

    with FakeGraphApi(tokens={"whatsapp": "wa-token"}) as fake:
        config.api_base = fake.base_url + "/v21.0"
        fake.fail_next("whatsapp", 131047, "Re-engagement message", status=400)
        ...
        fake.wait_for_sent(1, product="whatsapp", to="15551234567")
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx

from tests.fakes._http import BackgroundHttpServer, Failures, Reply, Request

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "channels"
_PATH = re.compile(r"^(?:/v\d+\.\d+)?/(?P<node>[^/]+)/messages$")
PRODUCTS = ("whatsapp", "messenger", "instagram")
RATE_LIMIT_CODES = {"whatsapp": 130429, "messenger": 613, "instagram": 613}
UNREACHABLE = {
    "whatsapp": (131026, "Message Undeliverable."),
    "messenger": (551, "This person isn't available right now."),
    "instagram": (551, "This person isn't available right now."),
}


@dataclass(frozen=True)
class Call:
    """One send as received: `status` is the HTTP status the fake answered."""

    product: str
    node: str
    body: dict[str, Any]
    token: str
    status: int
    time: float
    answer_id: str | None = None  # the wamid / mid the fake answered (statuses refer to it)

    @property
    def to(self) -> str:
        if self.product == "whatsapp":
            return str(self.body.get("to", ""))
        return str((self.body.get("recipient") or {}).get("id", ""))

    @property
    def text(self) -> str:
        """The visible text of the message, whatever its type."""
        if self.product != "whatsapp":
            return str((self.body.get("message") or {}).get("text", ""))
        kind = self.body.get("type")
        if kind == "text":
            return str((self.body.get("text") or {}).get("body", ""))
        if kind == "interactive":
            return str(((self.body.get("interactive") or {}).get("body") or {}).get("text", ""))
        if kind == "template":
            return f"[template {(self.body.get('template') or {}).get('name')}]"
        return ""


def graph_error(
    status: int,
    code: int,
    message: str,
    subcode: int | None = None,
    retry_after: int | None = None,
) -> Reply:
    error: dict[str, Any] = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "AbCdEfGhIjK",
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return Reply.json(status, {"error": error}, headers)


class FakeGraphApi(BackgroundHttpServer):
    """`tokens` maps each product to the token it accepts (a wrong one answers 190);
    Messenger and Instagram share `/me/messages` and are told apart by their token."""

    def __init__(
        self, tokens: Mapping[str, str], *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        super().__init__(self._handle, host, port)
        self.tokens = dict(tokens)
        self._lock = threading.Condition()
        self._calls: list[Call] = []
        self._failures: Failures[Reply] = Failures()
        self._unreachable: set[tuple[str, str]] = set()
        self._ids = itertools.count(1)

    # scripting

    def fail_next(
        self,
        product: str,
        code: int,
        message: str,
        *,
        status: int = 400,
        subcode: int | None = None,
        retry_after: int | None = None,
        count: int = 1,
    ) -> None:
        """The next `count` sends of `product` answer this Graph error."""
        with self._lock:
            self._failures.add(
                graph_error(status, code, message, subcode, retry_after), count, product
            )

    def rate_limit_next(self, product: str, count: int = 1) -> None:
        self.fail_next(
            product, RATE_LIMIT_CODES[product], "Rate limit hit", status=429, count=count
        )

    def unreachable(self, product: str, recipient: str) -> None:
        """Every send to this recipient fails for good (WhatsApp 131026, Messenger 551)."""
        with self._lock:
            self._unreachable.add((product, recipient))

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self._failures.clear()
            self._unreachable.clear()

    # inspection

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def sent(self, product: str | None = None, to: str | None = None) -> list[Call]:
        with self._lock:
            return self._sent(product, to)

    def _sent(self, product: str | None, to: str | None) -> list[Call]:
        return [
            c
            for c in self._calls
            if c.status == 200
            and (product is None or c.product == product)
            and (to is None or c.to == to)
        ]

    def wait_for_sent(
        self, count: int, *, product: str | None = None, to: str | None = None, timeout: float = 10
    ) -> list[Call]:
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(found := self._sent(product, to)) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"{len(found)} of {count} sent within {timeout}s; "
                        f"calls: {[(c.product, c.to, c.status) for c in self._calls]}"
                    )
                self._lock.wait(left)
            return found

    # serving

    def _handle(self, request: Request) -> Reply:
        match = _PATH.match(request.path)
        if request.method != "POST" or not match:
            return graph_error(400, 100, f"Unsupported request: {request.method} {request.path}")
        token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        token = token or dict(parse_qsl(request.query)).get("access_token", "")
        node = match["node"]
        product = self._product(node, token)
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            body = {}
        with self._lock:
            if product is None:
                reply = graph_error(401, 190, "Invalid OAuth access token")
            else:
                reply = self._answer(product, body)
            answered = json.loads(reply.body) if reply.status == 200 else {}
            ids = [m.get("id") for m in answered.get("messages", [])]
            ids = ids or [answered.get("message_id")]
            self._calls.append(
                Call(product or "unknown", node, body, token, reply.status, time.time(), ids[0])
            )
            self._lock.notify_all()
        return reply

    def _product(self, node: str, token: str) -> str | None:
        for product, known in self.tokens.items():
            same = hmac.compare_digest(token.encode(), known.encode())
            if same and (node == "me") == (product != "whatsapp"):
                return product
        return None

    def _answer(self, product: str, body: dict[str, Any]) -> Reply:
        failure = self._failures.take(product)
        if failure is not None:
            return failure
        problem = _whatsapp_problem(body) if product == "whatsapp" else _messenger_problem(body)
        if problem:
            return graph_error(400, 100, f"(#100) {problem}")
        to = str(body.get("to") or (body.get("recipient") or {}).get("id") or "")
        if (product, to) in self._unreachable:
            code, message = UNREACHABLE[product]
            return graph_error(400, code, message)
        n = next(self._ids)
        if product == "whatsapp":
            return Reply.json(
                200,
                {
                    "messaging_product": "whatsapp",
                    "contacts": [{"input": to, "wa_id": to}],
                    "messages": [{"id": f"wamid.FAKE{n:08d}"}],
                },
            )
        return Reply.json(200, {"recipient_id": to, "message_id": f"m_FAKE{n:08d}"})


def _whatsapp_problem(body: dict[str, Any]) -> str | None:
    if body.get("messaging_product") != "whatsapp":
        return "messaging_product must be whatsapp"
    if not body.get("to"):
        return "Param to is required"
    kind = body.get("type")
    if kind == "text":
        text = str((body.get("text") or {}).get("body") or "")
        return None if 0 < len(text) <= 4096 else "text.body must be 1-4096 characters"
    if kind == "template":
        template = body.get("template") or {}
        ok = template.get("name") and (template.get("language") or {}).get("code")
        return None if ok else "template needs a name and language.code"
    if kind == "interactive":
        inner = body.get("interactive") or {}
        if not 0 < len(str((inner.get("body") or {}).get("text") or "")) <= 1024:
            return "interactive.body.text must be 1-1024 characters"
        action = inner.get("action") or {}
        if inner.get("type") == "button":
            buttons = action.get("buttons") or []
            if not 1 <= len(buttons) <= 3:
                return "Param interactive.action.buttons must have 1-3 buttons"
            if any(len(b["reply"]["title"]) > 20 for b in buttons):
                return "button title must be at most 20 characters"
            return None
        if inner.get("type") == "list":
            rows = [r for s in action.get("sections") or [] for r in s.get("rows") or []]
            if not 1 <= len(rows) <= 10:
                return "a list must have 1-10 rows"
            return None if all(len(r["title"]) <= 24 for r in rows) else "row title over 24"
        return "unknown interactive type"
    return f"unsupported message type {kind!r}"


def _messenger_problem(body: dict[str, Any]) -> str | None:
    if not (body.get("recipient") or {}).get("id"):
        return "recipient.id is required"
    kind = body.get("messaging_type")
    if kind not in ("RESPONSE", "UPDATE", "MESSAGE_TAG"):
        return "messaging_type must be RESPONSE, UPDATE or MESSAGE_TAG"
    if kind == "MESSAGE_TAG" and not body.get("tag"):
        return "a MESSAGE_TAG needs a tag"
    message = body.get("message") or {}
    if not 0 < len(str(message.get("text") or "")) <= 2000:
        return "message.text must be 1-2000 characters"
    quick = message.get("quick_replies") or []
    if len(quick) > 13 or any(len(q.get("title", "")) > 20 for q in quick):
        return "at most 13 quick replies of at most 20 characters"
    return None


# ---- webhooks, as Meta delivers them ----------------------------------------------------


def sign(app_secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def post_webhook(
    hub_url: str,
    channel: str,
    payload: Mapping[str, Any] | bytes,
    app_secret: str | None,
    *,
    timeout: float = 10.0,
) -> httpx.Response:
    """POST a notification to /channels/<channel>, signed with X-Hub-Signature-256 (and the
    legacy SHA-1 X-Hub-Signature beside it, as Meta sends both)."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if app_secret is not None:
        headers["X-Hub-Signature-256"] = sign(app_secret, body)
        legacy = hmac.new(app_secret.encode(), body, hashlib.sha1).hexdigest()
        headers["X-Hub-Signature"] = f"sha1={legacy}"
    with httpx.Client(timeout=timeout) as client:
        url = f"{hub_url.rstrip('/')}/channels/{channel}"
        return client.post(url, content=body, headers=headers)


def load_fixture(channel: str, name: str) -> dict[str, Any]:
    path = FIXTURES / channel / (name if name.endswith(".json") else f"{name}.json")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


_wamids = itertools.count(1)
_mids = itertools.count(1)


def whatsapp_message(
    sender: str,
    message: Mapping[str, Any],
    *,
    name: str = "Test Name",
    phone_number_id: str = "1122334455667",
) -> dict[str, Any]:
    """A notification with one customer message (shaped like whatsapp/text.json)."""
    full = {
        "from": sender,
        "id": f"wamid.TEST{next(_wamids):08d}",
        "timestamp": str(int(time.time())),
        **message,
    }
    return _whatsapp_value(
        {"contacts": [{"profile": {"name": name}, "wa_id": sender}], "messages": [full]},
        phone_number_id,
    )


def whatsapp_text(sender: str, text: str, **kw: Any) -> dict[str, Any]:
    return whatsapp_message(sender, {"type": "text", "text": {"body": text}}, **kw)


def whatsapp_button(sender: str, button_id: str, title: str, **kw: Any) -> dict[str, Any]:
    reply = {"type": "button_reply", "button_reply": {"id": button_id, "title": title}}
    return whatsapp_message(sender, {"type": "interactive", "interactive": reply}, **kw)


def whatsapp_status(
    wamid: str,
    status: str,
    recipient: str,
    errors: list[dict[str, Any]] | None = None,
    phone_number_id: str = "1122334455667",
) -> dict[str, Any]:
    """A `statuses` notification (shaped like whatsapp/status_*.json)."""
    item: dict[str, Any] = {
        "id": wamid,
        "status": status,
        "timestamp": str(int(time.time())),
        "recipient_id": recipient,
    }
    if errors:
        item["errors"] = errors
    return _whatsapp_value({"statuses": [item]}, phone_number_id)


def _whatsapp_value(value: dict[str, Any], phone_number_id: str) -> dict[str, Any]:
    metadata = {"display_phone_number": "15550001111", "phone_number_id": phone_number_id}
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "1234567890987654321",
                "changes": [
                    {
                        "value": {"messaging_product": "whatsapp", "metadata": metadata, **value},
                        "field": "messages",
                    }
                ],
            }
        ],
    }


def messaging(
    sender: str, event: Mapping[str, Any], *, object_name: str = "page"
) -> dict[str, Any]:
    """A Messenger (`page`) or Instagram (`instagram`) notification with one event."""
    stamp = int(time.time() * 1000)
    return {
        "object": object_name,
        "entry": [
            {
                "id": "PAGE-ID-1",
                "time": stamp,
                "messaging": [
                    {
                        "sender": {"id": sender},
                        "recipient": {"id": "PAGE-ID-1"},
                        "timestamp": stamp,
                        **event,
                    }
                ],
            }
        ],
    }


def messenger_text(sender: str, text: str, *, object_name: str = "page") -> dict[str, Any]:
    mid = f"m_TEST{next(_mids):08d}"
    return messaging(sender, {"message": {"mid": mid, "text": text}}, object_name=object_name)
