"""Messenger and Instagram messaging: Graph webhooks in (`entry[].messaging[]`), the Send
API (`/me/messages`) out. Instagram is Messenger with another `object`, token and limits.

Inbound: `message` (text, `quick_reply.payload` → a choice, attachments → metadata; our own
`is_echo` ignored), `postback` (a button's payload → a choice), `reaction`, Instagram story
replies and mentions and types we cannot show → a note; `delivery.mids` and Instagram's
`read.mid` → delivery statuses. Dedup by `mid`.
Outbound: `messaging_type: RESPONSE` within 24 hours of the customer's last message;
agents' (and their notices') replies after that, up to 7 days, go as
`MESSAGE_TAG` + `HUMAN_AGENT`. Quick replies: at most 13, titles of 20 characters.
Sources: developers.facebook.com/docs/messenger-platform (webhook events, Send API, quick
replies, policy: the 24-hour window and the HUMAN_AGENT tag), the Instagram messaging docs,
chatwoot's spec/factories/instagram (fixtures), ../shared/reference/channels.md §4-5.
"""

from __future__ import annotations

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
    SendResult,
)
from api.channels.config import InstagramConfig, MessengerConfig
from api.channels.render import plain_text, split_text

MAX_QUICK_REPLIES = 13
QUICK_REPLY_TITLE = 20
STANDARD_WINDOW_HOURS = 24
HUMAN_AGENT_HOURS = 7 * 24
MEDIA = {"image": "image/*", "video": "video/*", "audio": "audio/*", "file": None}


class MessengerChannel(http.HttpChannel):
    name = "messenger"
    object_name = "page"
    text_limit = 2000
    capabilities = Capabilities(
        buttons=MAX_QUICK_REPLIES,
        text_limit=2000,
        markdown="none",
        window_hours=HUMAN_AGENT_HOURS,
    )

    def __init__(
        self, config: MessengerConfig | InstagramConfig, client: httpx.AsyncClient | None = None
    ) -> None:
        self._config = config
        self._client = client or httpx.AsyncClient(timeout=15.0)
        self._url = f"{config.api_base.rstrip('/')}/me/messages"

    @property
    def _token(self) -> str:
        config = self._config
        if isinstance(config, MessengerConfig):
            return config.page_access_token
        return config.access_token

    # ---- inbound ----------------------------------------------------------------------

    def verify(self, request: InboundRequest) -> None:
        meta.verify_signature(self._config.app_secret, request)

    def handshake(self, request: InboundRequest) -> Answer | None:
        return meta.handshake(self._config.verify_token, request)

    def parse(self, request: InboundRequest) -> Sequence[InboundMessage]:
        body = meta.load_body(request, self.object_name)
        events: list[InboundMessage] = []
        for entry in body["entry"]:
            for item in (entry or {}).get("messaging") or []:
                if isinstance(item, dict):
                    events.extend(self._event(item))
        return events

    def _event(self, item: dict[str, Any]) -> list[InboundMessage]:
        sender = str((item.get("sender") or {}).get("id") or "")
        stamp = str(item.get("timestamp") or "")
        base: dict[str, Any] = {"thread_id": sender, "user_id": sender}
        message = item.get("message")
        if isinstance(message, dict) and message.get("mid"):
            return [self._message(sender, message)]
        postback = item.get("postback")
        if isinstance(postback, dict):
            mid = postback.get("mid") or f"postback:{sender}:{stamp}"
            return [
                InboundMessage(
                    event_id=str(mid),
                    text=str(postback.get("title") or postback.get("payload") or ""),
                    kind="button",
                    message_id=str(mid),
                    choice=str(postback.get("payload") or ""),
                    **base,
                )
            ]
        reaction = item.get("reaction")
        if isinstance(reaction, dict):
            emoji = reaction.get("emoji") or reaction.get("reaction")
            action = str(reaction.get("action") or "react")
            text = f"reacted {emoji} to a message" if action == "react" else "removed a reaction"
            return [
                InboundMessage(
                    event_id=f"reaction:{reaction.get('mid')}:{sender}:{stamp}:{action}",
                    text=text,
                    kind="note",
                    extra={"reaction_to": reaction.get("mid")},
                    **base,
                )
            ]
        delivery = item.get("delivery")
        if isinstance(delivery, dict) and delivery.get("mids"):
            return [_status(str(mid), "delivered") for mid in delivery["mids"]]
        read = item.get("read")
        if isinstance(read, dict) and read.get("mid"):  # Instagram names the message read
            return [_status(str(read["mid"]), "read")]
        kinds = [k for k in item if k not in ("sender", "recipient", "timestamp")]
        return [
            InboundMessage(
                event_id=f"other:{sender}:{stamp}:{kinds[0] if kinds else 'empty'}",
                kind="ignored",
                extra={"event": kinds[0] if kinds else "empty"},
                **base,
            )
        ]

    def _message(self, sender: str, message: dict[str, Any]) -> InboundMessage:
        mid = str(message["mid"])
        base: dict[str, Any] = {"event_id": mid, "thread_id": sender, "user_id": sender}
        if message.get("is_echo") or message.get("is_deleted"):
            return InboundMessage(kind="ignored", **base)
        text = str(message.get("text") or "")
        quick = message.get("quick_reply")
        if isinstance(quick, dict) and quick.get("payload"):
            return InboundMessage(
                text=text, kind="button", message_id=mid, choice=str(quick["payload"]), **base
            )
        story = (message.get("reply_to") or {}).get("story")
        if isinstance(story, dict):
            return InboundMessage(
                text=f"(replied to our story) {text}".strip(),
                kind="note",
                message_id=mid,
                extra={"story_url": story.get("url")},
                **base,
            )
        attachments: list[Attachment] = []
        notes: list[str] = []
        for item in message.get("attachments") or []:
            if not isinstance(item, dict):
                continue
            kind = str(item.get("type") or "")
            url = (item.get("payload") or {}).get("url")
            if kind in MEDIA:
                attachments.append(Attachment(name=kind, content_type=MEDIA[kind], external_id=url))
            elif kind == "story_mention":
                notes.append(f"(mentioned us in their story: {url})")
            else:
                notes.append(f"(sent a {kind or 'message'} that cannot be shown here: {url})")
        if notes and not attachments and not text:
            return InboundMessage(text=" ".join(notes), kind="note", message_id=mid, **base)
        return InboundMessage(
            text=text or " ".join(notes),
            message_id=mid,
            attachments=tuple(attachments),
            **base,
        )

    # ---- outbound ---------------------------------------------------------------------

    def messaging(self, message: OutboundMessage) -> dict[str, Any]:
        """RESPONSE within 24 hours of the customer's last message; after that (up to the
        7 days the reply route allows) people's replies carry the HUMAN_AGENT tag."""
        last = message.context.get("customer_last_at")
        if message.role == "bot" or meta.within(last, STANDARD_WINDOW_HOURS):
            return {"messaging_type": "RESPONSE"}
        return {"messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}

    async def send(self, message: OutboundMessage) -> SendResult:
        buttons = message.buttons
        numbered = len(buttons) > MAX_QUICK_REPLIES
        chunks = split_text(plain_text(message, numbered_buttons=numbered), self.text_limit)
        how = self.messaging(message)
        result = SendResult.failed("nothing to send")
        for index, chunk in enumerate(chunks):
            body: dict[str, Any] = {"text": chunk}
            if buttons and not numbered and index == len(chunks) - 1:
                body["quick_replies"] = [
                    {
                        "content_type": "text",
                        "title": b.title[:QUICK_REPLY_TITLE],
                        "payload": f"#{i}",
                    }
                    for i, b in enumerate(buttons)
                ]
            request = {"recipient": {"id": message.thread_id}, **how, "message": body}
            failed, answer = await meta.post(
                self._client, self._url, self._token, request, self.name.capitalize()
            )
            if failed is not None:
                return failed
            result = SendResult.sent(str(answer.get("message_id") or "") or None)
        return result

    async def check(self) -> str:
        base = self._config.api_base.rstrip("/")
        response = await self._client.get(
            f"{base}/me", headers={"Authorization": f"Bearer {self._token}"}
        )
        if response.status_code != 200:
            raise RuntimeError(meta.classify_error(response).reason or "refused")
        data = response.json()
        return f"{self.name} account {data.get('name') or data.get('username')} ({data.get('id')})"


class InstagramChannel(MessengerChannel):
    """Instagram messaging: Messenger's webhooks and Send API, `object: instagram`, texts of
    at most 1000 characters."""

    name = "instagram"
    object_name = "instagram"
    text_limit = 1000
    capabilities = Capabilities(
        buttons=MAX_QUICK_REPLIES,
        text_limit=1000,
        markdown="none",
        window_hours=HUMAN_AGENT_HOURS,
    )


def _status(mid: str, status: str) -> InboundMessage:
    return InboundMessage(
        event_id=f"{mid}:{status}",
        thread_id="",
        user_id="",
        kind="status",
        extra={"status_of": mid, "status": status, "reason": None},
    )
