"""Telegram Bot API: webhook updates in, sendMessage out.

Inbound requests carry the secret token set with setWebhook in
X-Telegram-Bot-Api-Secret-Token (no body signature); `update_id` is the dedup key.
Sources: core.telegram.org/bots/api (Update, Message, CallbackQuery, sendMessage,
setWebhook), ../shared/reference/channels.md section 1.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Sequence
from typing import Any

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
from api.channels.config import TelegramConfig
from api.channels.render import plain_text, split_text

TEXT_LIMIT = 4096
SECRET_HEADER = "x-telegram-bot-api-secret-token"


class TelegramChannel(http.HttpChannel):
    name = "telegram"
    capabilities = Capabilities(buttons=8, text_limit=TEXT_LIMIT, markdown="none")

    def __init__(self, config: TelegramConfig, client: httpx.AsyncClient | None = None) -> None:
        self._config = config
        self._client = client or httpx.AsyncClient(timeout=15.0)
        self._base = f"{config.api_base.rstrip('/')}/bot{config.bot_token}"

    # ---- inbound ----------------------------------------------------------------------

    def verify(self, request: InboundRequest) -> None:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self._config.secret_token.encode()):
            raise Refused(401, "missing or wrong X-Telegram-Bot-Api-Secret-Token")

    def parse(self, request: InboundRequest) -> Sequence[InboundMessage]:
        try:
            update = json.loads(request.body)
        except ValueError:
            raise Refused(400, "body is not JSON") from None
        if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
            raise Refused(400, "not a Telegram update (no integer update_id)")
        event_id = str(update["update_id"])
        if isinstance(update.get("message"), dict):
            return [self._message(event_id, update["message"], "message")]
        if isinstance(update.get("edited_message"), dict):
            return [self._message(event_id, update["edited_message"], "edit")]
        if isinstance(update.get("callback_query"), dict):
            return [self._callback(event_id, update["callback_query"])]
        kinds = [k for k in update if k != "update_id"]
        return [
            InboundMessage(
                event_id=event_id,
                thread_id="",
                user_id="",
                kind="ignored",
                extra={"update": kinds[0] if kinds else "empty"},
            )
        ]

    def _message(self, event_id: str, message: dict[str, Any], kind: str) -> InboundMessage:
        chat = message.get("chat") or {}
        sender = message.get("from") or chat
        if "id" not in chat:
            raise Refused(400, "message without chat.id")
        text = message.get("text") or message.get("caption") or ""
        extra: dict[str, Any] = {}
        if kind == "message" and text.split(" ", 1)[0] in ("/start", "/help"):
            # A first contact: greet rather than ask Rasa about the word "start".
            extra["command"] = text
            text = "Hello"
        return InboundMessage(
            event_id=event_id,
            thread_id=str(chat["id"]),
            user_id=str(sender.get("id", chat["id"])),
            text=str(text),
            kind=kind,
            message_id=str(message.get("message_id", "")) or None,
            profile=_profile(sender),
            attachments=_attachments(message),
            extra=extra,
        )

    def _callback(self, event_id: str, query: dict[str, Any]) -> InboundMessage:
        sender = query.get("from") or {}
        message = query.get("message") or {}
        chat = message.get("chat") or sender
        data = str(query.get("data") or "")
        title = data
        for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
            for button in row:
                if isinstance(button, dict) and button.get("callback_data") == data:
                    title = str(button.get("text") or data)
        return InboundMessage(
            event_id=event_id,
            thread_id=str(chat.get("id", "")),
            user_id=str(sender.get("id", "")),
            text=title,
            kind="button",
            choice=data,
            profile=_profile(sender),
            extra={"callback_query_id": query.get("id")},
        )

    async def after_accept(self, event: InboundMessage) -> None:
        callback = event.extra.get("callback_query_id")
        if callback:  # stops the client's progress spinner on the button
            await self._call("answerCallbackQuery", {"callback_query_id": callback})

    # ---- outbound ---------------------------------------------------------------------

    async def send(self, message: OutboundMessage) -> SendResult:
        chunks = split_text(plain_text(message), TEXT_LIMIT)
        result = SendResult.failed("nothing to send")
        for index, chunk in enumerate(chunks):
            body: dict[str, Any] = {"chat_id": message.thread_id, "text": chunk}
            if message.buttons and index == len(chunks) - 1:
                body["reply_markup"] = {
                    "inline_keyboard": [
                        [{"text": b.title[:64], "callback_data": f"#{i}"}]
                        for i, b in enumerate(message.buttons)
                    ]
                }
            result = await self._send_one(body)
            if result.outcome != "sent":
                return result
        return result

    async def _send_one(self, body: dict[str, Any]) -> SendResult:
        try:
            response = await self._client.post(f"{self._base}/sendMessage", json=body)
        except httpx.HTTPError as error:
            return SendResult.retry(f"Telegram unreachable: {error!r}")
        return classify(response)

    async def _call(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self._client.post(f"{self._base}/{method}", json=body)
        data = http.json_object(response)
        if not data.get("ok"):
            raise RuntimeError(f"{method}: {data.get('description') or response.status_code}")
        return data

    async def check(self) -> str:
        me = (await self._call("getMe", {}))["result"]
        return f"bot @{me.get('username')} (id {me.get('id')})"

    async def set_webhook(self, url: str) -> str:
        await self._call(
            "setWebhook",
            {
                "url": url,
                "secret_token": self._config.secret_token,
                "allowed_updates": ["message", "edited_message", "callback_query"],
            },
        )
        return f"webhook set to {url}"


def classify(response: httpx.Response) -> SendResult:
    """sendMessage's answer as sent / retry later / failed for good."""
    data = http.json_object(response)
    if response.status_code == 200 and data.get("ok"):
        return SendResult.sent(str((data.get("result") or {}).get("message_id", "")) or None)
    description = str(data.get("description") or f"HTTP {response.status_code}")
    code = int(data.get("error_code") or response.status_code)
    if code == 429:
        retry_after = (data.get("parameters") or {}).get("retry_after")
        return SendResult.retry(description, float(retry_after) if retry_after else None)
    if code == 403:
        if "blocked" in description:
            return SendResult.failed("the customer blocked the bot")
        return SendResult.failed(description)
    if code == 400:
        if "chat not found" in description:
            return SendResult.failed("unknown chat")
        return SendResult.failed(description)
    return SendResult.retry(description)


def _profile(user: dict[str, Any]) -> Profile:
    name = " ".join(str(user[k]) for k in ("first_name", "last_name") if user.get(k)) or None
    return Profile(
        name=name or user.get("username"),
        username=user.get("username"),
        language=user.get("language_code"),
    )


def _attachments(message: dict[str, Any]) -> tuple[Attachment, ...]:
    found: list[Attachment] = []
    document = message.get("document")
    if isinstance(document, dict):
        found.append(
            Attachment(
                name=document.get("file_name"),
                content_type=document.get("mime_type"),
                size=document.get("file_size"),
                external_id=document.get("file_id"),
            )
        )
    photos = message.get("photo")
    if isinstance(photos, list) and photos and isinstance(photos[-1], dict):
        largest = photos[-1]  # Telegram lists sizes smallest first
        found.append(
            Attachment(
                name="photo.jpg",
                content_type="image/jpeg",
                size=largest.get("file_size"),
                external_id=largest.get("file_id"),
            )
        )
    return tuple(found)
