"""WhatsApp Cloud API: Graph webhooks in, `/{phone_number_id}/messages` out.

A notification batches `entry[].changes[].value`, each with `messages` (the customer's,
keyed by `wamid`), `contacts` (profile name, `wa_id`) and `statuses` (sent, delivered, read,
failed with `errors`: our messages' delivery). Replies are plain text, interactive reply
buttons (at most 3, titles of 20 characters) or a list (at most 10 rows), else numbered
text. Outside the 24-hour customer-service window only a template may be sent: the reply
route refuses agents' replies there (Capabilities.window_hours), and a configured template
goes out as `type: template`.
Sources: developers.facebook.com/docs/whatsapp/cloud-api (webhooks payload, messages,
interactive messages, error codes), pywa's tests/data/updates (fixtures), and
../shared/reference/channels.md section 3.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import httpx

from api.channels import http, meta
from api.channels.base import (
    Answer,
    Attachment,
    Capabilities,
    InboundMessage,
    InboundRequest,
    OutboundMessage,
    Profile,
    SendResult,
)
from api.channels.config import WhatsAppConfig
from api.channels.render import plain_text, split_text

TEXT_LIMIT = 4096
BODY_LIMIT = 1024  # the text of an interactive message
MAX_BUTTONS = 3
BUTTON_TITLE = 20
MAX_ROWS = 10
ROW_TITLE = 24
WINDOW_HOURS = 24
MEDIA = ("image", "document", "audio", "video", "sticker")
STATUSES = frozenset({"sent", "delivered", "read", "failed"})


class WhatsAppChannel(http.HttpChannel):
    name = "whatsapp"

    def __init__(self, config: WhatsAppConfig, client: httpx.AsyncClient | None = None) -> None:
        self._config = config
        self._client = client or httpx.AsyncClient(timeout=15.0)
        self._url = f"{config.api_base.rstrip('/')}/{config.phone_number_id}/messages"
        self.capabilities = Capabilities(
            buttons=MAX_ROWS,
            text_limit=TEXT_LIMIT,
            markdown="none",
            window_hours=WINDOW_HOURS,
            template=config.template.name if config.template else None,
        )

    # ---- inbound ----------------------------------------------------------------------

    def verify(self, request: InboundRequest) -> None:
        meta.verify_signature(self._config.app_secret, request)

    def handshake(self, request: InboundRequest) -> Answer | None:
        return meta.handshake(self._config.verify_token, request)

    def parse(self, request: InboundRequest) -> Sequence[InboundMessage]:
        body = meta.load_body(request, "whatsapp_business_account")
        events: list[InboundMessage] = []
        for entry in body["entry"]:
            for change in (entry or {}).get("changes") or []:
                value = (change or {}).get("value") or {}
                if change.get("field") != "messages" or not isinstance(value, dict):
                    events.append(_ignored(change))
                    continue
                names = {
                    str(c.get("wa_id")): (c.get("profile") or {}).get("name")
                    for c in value.get("contacts") or []
                    if isinstance(c, dict)
                }
                for message in value.get("messages") or []:
                    if isinstance(message, dict) and message.get("id"):
                        events.append(_message(message, names))
                for status in value.get("statuses") or []:
                    if isinstance(status, dict) and status.get("id"):
                        events.append(_status(status))
        return events

    # ---- outbound ---------------------------------------------------------------------

    async def send(self, message: OutboundMessage) -> SendResult:
        template = self._config.template
        if message.context.get("template"):
            if template is None:
                return SendResult.failed("no WhatsApp template is configured")
            body = {
                "type": "template",
                "template": {"name": template.name, "language": {"code": template.language}},
            }
            return await self._send_one(message.thread_id, body)
        buttons = message.buttons
        numbered = len(buttons) > MAX_ROWS
        chunks = split_text(plain_text(message, numbered_buttons=numbered), TEXT_LIMIT)
        result = SendResult.failed("nothing to send")
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1
            if last and buttons and not numbered:
                if len(chunk) > BODY_LIMIT:  # the choices go in a short message of their own
                    result = await self._send_one(message.thread_id, _text(chunk))
                    if result.outcome != "sent":
                        return result
                    chunk = "Choose one:"
                result = await self._send_one(message.thread_id, interactive(chunk, buttons))
            else:
                result = await self._send_one(message.thread_id, _text(chunk))
            if result.outcome != "sent":
                return result
        return result

    async def _send_one(self, to: str, body: dict[str, Any]) -> SendResult:
        payload = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to}
        failed, answer = await meta.post(
            self._client, self._url, self._config.access_token, {**payload, **body}, "WhatsApp"
        )
        if failed is not None:
            return failed
        ids = [m.get("id") for m in answer.get("messages") or [] if isinstance(m, dict)]
        return SendResult.sent(str(ids[0]) if ids and ids[0] else None)

    async def check(self) -> str:
        base = self._config.api_base.rstrip("/")
        response = await self._client.get(
            f"{base}/{self._config.phone_number_id}",
            headers={"Authorization": f"Bearer {self._config.access_token}"},
        )
        if response.status_code != 200:
            raise RuntimeError(meta.classify_error(response).reason or "refused")
        data = response.json()
        return f"number {data.get('display_phone_number', self._config.phone_number_id)}"


def interactive(text: str, buttons: Sequence[Any]) -> dict[str, Any]:
    """Reply buttons for up to 3 choices, a list for up to 10; ids are "#<index>", which
    handoff.inbound maps back to the offered payload."""
    if len(buttons) <= MAX_BUTTONS:
        action: dict[str, Any] = {
            "buttons": [
                {"type": "reply", "reply": {"id": f"#{i}", "title": b.title[:BUTTON_TITLE]}}
                for i, b in enumerate(buttons)
            ]
        }
        kind = "button"
    else:
        rows = [{"id": f"#{i}", "title": b.title[:ROW_TITLE]} for i, b in enumerate(buttons)]
        action = {"button": "Choose", "sections": [{"title": "Options", "rows": rows}]}
        kind = "list"
    return {
        "type": "interactive",
        "interactive": {"type": kind, "body": {"text": text[:BODY_LIMIT]}, "action": action},
    }


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "text": {"body": text, "preview_url": False}}


def _message(message: dict[str, Any], names: dict[str, Any]) -> InboundMessage:
    sender = str(message.get("from") or "")
    kind = str(message.get("type") or "")
    text = ""
    choice: str | None = None
    event_kind = "message"
    attachments: tuple[Attachment, ...] = ()
    extra: dict[str, Any] = {"type": kind}
    if kind == "text":
        text = str((message.get("text") or {}).get("body") or "")
    elif kind == "interactive":
        reply = message.get("interactive") or {}
        picked = reply.get(str(reply.get("type"))) or {}
        text, choice, event_kind = str(picked.get("title") or ""), str(picked.get("id")), "button"
    elif kind == "button":  # a template's quick-reply button
        picked = message.get("button") or {}
        text, choice, event_kind = str(picked.get("text") or ""), picked.get("payload"), "button"
    elif kind in MEDIA:
        media = message.get(kind) or {}
        text = str(media.get("caption") or "")
        attachments = (
            Attachment(
                name=media.get("filename") or kind,
                content_type=media.get("mime_type"),
                external_id=media.get("id"),
            ),
        )
    elif kind == "location":
        place = message.get("location") or {}
        where = ", ".join(str(place[k]) for k in ("name", "address") if place.get(k))
        text = f"[location: {where or ''} ({place.get('latitude')}, {place.get('longitude')})]"
    elif kind == "reaction":
        emoji = (message.get("reaction") or {}).get("emoji")
        text = f"reacted {emoji} to a message" if emoji else "removed a reaction"
        event_kind = "note"
    else:
        text = f"[a {kind or 'unknown'} message WhatsApp cannot show here]"
        event_kind = "note"
    if (message.get("context") or {}).get("id"):
        extra["reply_to"] = message["context"]["id"]
    name = names.get(sender)
    return InboundMessage(
        event_id=str(message["id"]),
        thread_id=sender,
        user_id=sender,
        text=text,
        kind=event_kind,
        message_id=str(message["id"]),
        choice=None if choice is None else str(choice),
        profile=Profile(name=name, phone=f"+{sender}" if sender.isdigit() else None),
        attachments=attachments,
        extra=extra,
    )


def _status(status: dict[str, Any]) -> InboundMessage:
    """A delivery report: one event per (wamid, status), so a repeat is stored once."""
    value = str(status.get("status") or "")
    reason = None
    errors = [e for e in status.get("errors") or [] if isinstance(e, dict)]
    if value == "failed" and errors:
        first = errors[0]
        detail = str((first.get("error_data") or {}).get("details") or first.get("message") or "")
        _, reason = meta.describe_error(meta.as_int(first.get("code")), None, detail)
    wamid = str(status["id"])
    return InboundMessage(
        event_id=f"{wamid}:{value}",
        thread_id=str(status.get("recipient_id") or ""),
        user_id=str(status.get("recipient_id") or ""),
        kind="status" if value in STATUSES else "ignored",
        extra={"status_of": wamid, "status": value, "reason": reason},
    )


def _ignored(change: Any) -> InboundMessage:
    digest = hashlib.sha256(json.dumps(change, sort_keys=True).encode()).hexdigest()[:32]
    field = change.get("field") if isinstance(change, dict) else None
    return InboundMessage(
        event_id=f"change:{digest}",
        thread_id="",
        user_id="",
        kind="ignored",
        extra={"field": str(field)},
    )
