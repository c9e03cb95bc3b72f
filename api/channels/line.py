"""LINE Messaging API: webhook events in, reply (while the token is fresh) or push out.

Inbound requests carry `X-Line-Signature` = base64 HMAC-SHA256 of the raw body with the
channel secret (the algorithm of line-bot-sdk's `SignatureValidator`; the unit tests prove
both agree). One request holds a batch of events, each with its `webhookEventId` (the dedup
key) and `deliveryContext.isRedelivery`. A reply token answers one event once, and only
shortly after it: we reply while it is fresh and unused, else push with an
`X-Line-Retry-Key` derived from our message id, so LINE runs a retried push only once.
Sources: developers.line.biz (Messaging API reference: webhook event objects, reply, push,
quick reply, profile; "Retrying an API request"; receiving messages), line-bot-sdk-python
tests; ../shared/reference/channels.md §8.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import replace
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
from api.channels.config import LineConfig
from api.channels.render import plain_text, split_text

TEXT_LIMIT = 5000  # characters of one text message object
MESSAGES_PER_REQUEST = 5
QUICK_REPLY_ITEMS = 13
LABEL_LIMIT = 20
POSTBACK_DATA_LIMIT = 300
# LINE: use a reply token within about a minute; we stop a little before.
REPLY_TOKEN_SECONDS = 50.0
_RETRY_KEYS = uuid.UUID("5b0f9a47-1c1e-4f7e-9d0c-6c1f3e0a2b11")  # namespace of our retry keys


def signature(secret: str, body: bytes) -> str:
    """The X-Line-Signature LINE sends for this body."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def retry_key(message_id: int, part: int = 0) -> str:
    """The X-Line-Retry-Key of one push of our message: the same on every retry."""
    return str(uuid.uuid5(_RETRY_KEYS, f"frontline:{message_id}:{part}"))


class LineChannel(http.HttpChannel):
    name = "line"
    capabilities = Capabilities(buttons=QUICK_REPLY_ITEMS, text_limit=TEXT_LIMIT, markdown="none")

    def __init__(
        self,
        config: LineConfig,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._config = config
        self._client = client or httpx.AsyncClient(timeout=15.0)
        self._clock = clock
        self._base = config.api_base.rstrip("/")
        # Reply tokens spent by this process (a token works once); a restarted hub finds out
        # from LINE's "Invalid reply token" and pushes instead.
        self._used: OrderedDict[str, None] = OrderedDict()

    # ---- inbound ----------------------------------------------------------------------

    def verify(self, request: InboundRequest) -> None:
        given = request.headers.get("x-line-signature", "")
        if not given:
            raise Refused(401, "missing X-Line-Signature")
        expected = signature(self._config.channel_secret, request.body)
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise Refused(401, "X-Line-Signature does not match the body")

    # No handshake: the console's "Verify" sends a signed, empty batch, which parse handles.
    def parse(self, request: InboundRequest) -> Sequence[InboundMessage]:
        try:
            body = json.loads(request.body)
        except ValueError:
            raise Refused(400, "body is not JSON") from None
        if not isinstance(body, dict) or not isinstance(body.get("events"), list):
            raise Refused(400, "not a LINE webhook body (no events list)")
        return [self._event(e) for e in body["events"] if isinstance(e, dict)]

    def _event(self, event: dict[str, Any]) -> InboundMessage:
        kind = str(event.get("type") or "")
        source = event.get("source") or {}
        chat = source.get("groupId") or source.get("roomId") or source.get("userId") or ""
        user = source.get("userId") or chat
        message = event.get("message") or {}
        event_id = str(
            event.get("webhookEventId")
            or f"{kind}:{event.get('timestamp')}:{chat}:{message.get('id', '')}"
        )
        extra: dict[str, Any] = {
            "source_type": source.get("type"),
            "reply_token": event.get("replyToken"),
            "timestamp": event.get("timestamp"),
            "redelivery": bool((event.get("deliveryContext") or {}).get("isRedelivery")),
        }
        if event.get("mode") == "standby" or not chat:
            # Another channel module is in charge of this chat ("standby": send nothing).
            return _ignored(event_id, {**extra, "event": kind, "why": "standby or no source"})
        if kind == "message":
            text, attachments = _content(message)
            return InboundMessage(
                event_id=event_id,
                thread_id=str(chat),
                user_id=str(user),
                text=text,
                message_id=str(message.get("id") or "") or None,
                attachments=attachments,
                extra=extra,
            )
        if kind == "postback":
            title, choice = _postback(str((event.get("postback") or {}).get("data") or ""))
            return InboundMessage(
                event_id=event_id,
                thread_id=str(chat),
                user_id=str(user),
                text=title,
                kind="button",
                choice=choice,
                extra=extra,
            )
        # follow/unfollow, join/leave, unsend, beacons, ...: kept, not asked.
        return _ignored(event_id, {**extra, "event": kind})

    async def after_accept(self, event: InboundMessage) -> InboundMessage | None:
        """The customer's display name and language (webhooks carry only the user id)."""
        if event.kind == "ignored" or event.extra.get("source_type") != "user":
            return None
        response = await self._client.get(
            f"{self._base}/v2/bot/profile/{event.user_id}", headers=self._auth()
        )
        if response.status_code != 200:
            return None
        profile = http.json_object(response)
        return replace(
            event,
            profile=Profile(
                name=profile.get("displayName"),
                language=(profile.get("language") or "")[:2] or None,
            ),
        )

    # ---- outbound ---------------------------------------------------------------------

    async def send(self, message: OutboundMessage) -> SendResult:
        objects = messages(message)
        batches = [
            objects[i : i + MESSAGES_PER_REQUEST]
            for i in range(0, len(objects), MESSAGES_PER_REQUEST)
        ]
        result = SendResult.failed("nothing to send")
        for part, batch in enumerate(batches):
            replied: SendResult | None = None
            if part == 0 and (token := self._fresh_token(message)):
                replied = await self._reply(token, batch)
            result = replied or await self._push(message, part, batch)
            if result.outcome != "sent":
                return result
        return result

    def _fresh_token(self, message: OutboundMessage) -> str | None:
        latest = message.context.get("latest_extra") or {}
        token, stamp = latest.get("reply_token"), latest.get("timestamp")
        if not token or not isinstance(stamp, int | float) or latest.get("redelivery"):
            return None
        if self._clock() - stamp / 1000 > REPLY_TOKEN_SECONDS or token in self._used:
            return None
        return str(token)

    async def _reply(self, token: str, batch: list[dict[str, Any]]) -> SendResult | None:
        """Sent, or None when the token is spent (push instead), or what else LINE said."""
        self._used[token] = None
        while len(self._used) > 1000:
            self._used.popitem(last=False)
        try:
            response = await self._client.post(
                f"{self._base}/v2/bot/message/reply",
                json={"replyToken": token, "messages": batch},
                headers=self._auth(),
            )
        except httpx.HTTPError as error:  # the token is spent: the next try pushes
            return SendResult.retry(f"LINE unreachable: {error!r}")
        said = str(http.json_object(response).get("message") or "")
        if response.status_code in (400, 403) and "reply token" in said.lower():
            return None
        return classify(response)

    async def _push(
        self, message: OutboundMessage, part: int, batch: list[dict[str, Any]]
    ) -> SendResult:
        headers = {**self._auth(), "X-Line-Retry-Key": retry_key(message.message_id, part)}
        try:
            response = await self._client.post(
                f"{self._base}/v2/bot/message/push",
                json={"to": message.thread_id, "messages": batch},
                headers=headers,
            )
        except httpx.HTTPError as error:
            return SendResult.retry(f"LINE unreachable: {error!r}")
        return classify(response)

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._config.channel_access_token}"}

    async def check(self) -> str:
        response = await self._client.get(f"{self._base}/v2/bot/info", headers=self._auth())
        info = http.json_object(response)
        if response.status_code != 200:
            raise RuntimeError(f"bot/info: {info.get('message') or response.status_code}")
        return f"LINE account {info.get('displayName')} ({info.get('basicId')})"


def messages(message: OutboundMessage) -> list[dict[str, Any]]:
    """Text message objects (≤ 5,000 characters each); the choices as quick replies on the
    last one (≤ 13, labels ≤ 20 characters), or as a numbered list when there are more."""
    quick = 0 < len(message.buttons) <= QUICK_REPLY_ITEMS
    text = plain_text(message, numbered_buttons=bool(message.buttons) and not quick)
    objects: list[dict[str, Any]] = [
        {"type": "text", "text": chunk} for chunk in split_text(text, TEXT_LIMIT)
    ]
    if quick:
        objects[-1]["quickReply"] = {"items": [_item(i, b) for i, b in enumerate(message.buttons)]}
    return objects


def _item(index: int, button: Any) -> dict[str, Any]:
    title = str(button.title)
    label = title if len(title) <= LABEL_LIMIT else title[: LABEL_LIMIT - 1] + "…"
    data = json.dumps({"t": title, "p": button.payload}, ensure_ascii=False)
    if len(data) > POSTBACK_DATA_LIMIT:
        data = json.dumps({"t": title[:200], "i": index}, ensure_ascii=False)
    return {
        "type": "action",
        "action": {
            "type": "postback",
            "label": label or str(index + 1),
            "data": data,
            "displayText": title[:300] or label,
        },
    }


def _postback(data: str) -> tuple[str, str]:
    """(the title shown, our choice) from a quick reply's postback data."""
    try:
        parsed = json.loads(data)
    except ValueError:
        return data, data
    if not isinstance(parsed, dict):
        return data, data
    title = str(parsed.get("t") or data)
    if "p" in parsed:
        return title, str(parsed["p"])
    if isinstance(parsed.get("i"), int):
        return title, f"#{parsed['i']}"
    return title, data


def classify(response: httpx.Response) -> SendResult:
    """A reply's or push's answer as sent / retry later / failed for good."""
    status = response.status_code
    data = http.json_object(response)
    said = str(data.get("message") or f"HTTP {status}")
    if status == 200:
        sent = data.get("sentMessages") or [{}]
        return SendResult.sent(str(sent[-1].get("id") or "") or None)
    if status == 409:  # this retry key was accepted before: it went out then
        return SendResult.sent(response.headers.get("x-line-accepted-request-id"))
    if status == 429 or status >= 500:
        retry_after = response.headers.get("retry-after")
        seconds = float(retry_after) if retry_after and retry_after.isdigit() else None
        return SendResult.retry(f"LINE: {said}", seconds)
    if status == 401:
        return SendResult.failed("the LINE channel access token is refused")
    if status == 403:
        return SendResult.failed("the customer blocked the account or is not a friend")
    return SendResult.failed(f"LINE refused the message: {said}")


def _content(message: dict[str, Any]) -> tuple[str, tuple[Attachment, ...]]:
    kind = str(message.get("type") or "")
    if kind == "text":
        return str(message.get("text") or ""), ()
    if kind in ("image", "video", "audio", "file"):
        default = {"image": "image/jpeg", "video": "video/mp4", "audio": "audio/m4a"}
        attachment = Attachment(
            name=message.get("fileName") or kind,
            content_type=default.get(kind),
            size=message.get("fileSize"),
            external_id=str(message.get("id") or "") or None,
        )
        return "", (attachment,)
    if kind == "location":
        where = ", ".join(str(message[k]) for k in ("title", "address") if message.get(k))
        return f"[location: {where or 'shared'}]", ()
    if kind == "sticker":
        words = message.get("text") or ", ".join(message.get("keywords") or [])
        return f"[sticker{': ' + str(words) if words else ''}]", ()
    return f"[{kind or 'unknown'} message]", ()


def _ignored(event_id: str, extra: dict[str, Any]) -> InboundMessage:
    return InboundMessage(event_id=event_id, thread_id="", user_id="", kind="ignored", extra=extra)
