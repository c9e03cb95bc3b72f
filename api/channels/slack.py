"""Slack: Events API and interactive payloads in, Web API `chat.postMessage` out.

Inbound requests are signed: `X-Slack-Signature` = "v0=" + hex HMAC-SHA256 of
"v0:{X-Slack-Request-Timestamp}:{raw body}" with the app's signing secret, refused outside a
300-second window (the algorithm of `slack_sdk.signature.SignatureVerifier`; the unit tests
prove both agree). Every conversation is one Slack thread: the channel plus the thread's root
`ts` (a new top-level message starts a thread, and our replies go into it). Retries carry
`X-Slack-Retry-Num` and the same `event_id`, which is the dedup key. Sources:
docs.slack.dev (Events API, url_verification, verifying requests, chat.postMessage, Block
Kit, block_actions), slack-sdk and bolt-python tests; ../shared/reference/channels.md §2.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs

import httpx

from api.channels import http
from api.channels.base import (
    Answer,
    Attachment,
    Capabilities,
    InboundMessage,
    InboundRequest,
    OutboundMessage,
    Profile,
    Refused,
    SendResult,
)
from api.channels.config import SlackConfig
from api.channels.render import split_text

WINDOW_SECONDS = 300
# A section block's text holds at most 3,000 characters; Slack advises ≤ 4,000 for `text`.
TEXT_LIMIT = 3000
BUTTON_LIMIT = 25  # elements of one `actions` block
# Subtypes that are still a person's words; every other subtype (edits, deletions, joins,
# bot_message, ...) is stored and ignored.
PERSON_SUBTYPES = frozenset({"file_share", "thread_broadcast"})
# Web API errors after which trying again cannot help (HTTP 200, ok: false).
PERMANENT = {
    "channel_not_found": "the Slack channel is gone or the bot cannot see it",
    "not_in_channel": "the bot is not a member of the Slack channel",
    "is_archived": "the Slack channel is archived",
    "account_inactive": "the Slack bot's account is deactivated",
    "invalid_auth": "the Slack bot token is refused",
    "not_authed": "no Slack bot token was sent",
    "token_revoked": "the Slack bot token was revoked",
    "missing_scope": "the Slack app lacks the chat:write scope",
    "msg_too_long": "the message is too long for Slack",
    "restricted_action": "the workspace does not let the bot post there",
}
TRANSIENT = frozenset(
    {"ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable"}
)
_MENTION = re.compile(r"^(\s*<@[A-Z0-9]+>)+\s*")
_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)\s]+)\)")
_BOLD = re.compile(r"(\*\*|__)(.+?)\1")


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The v0 signature Slack sends for this body and timestamp."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


class SlackChannel(http.HttpChannel):
    name = "slack"
    capabilities = Capabilities(buttons=BUTTON_LIMIT, text_limit=TEXT_LIMIT, markdown="mrkdwn")

    def __init__(
        self,
        config: SlackConfig,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._config = config
        self._client = client or httpx.AsyncClient(timeout=15.0)
        self._clock = clock
        self._base = config.api_base.rstrip("/")
        # The bot's own user and bot ids, learnt from what Slack answers our posts.
        self._own: set[str] = set()

    # ---- inbound ----------------------------------------------------------------------

    def verify(self, request: InboundRequest) -> None:
        timestamp = request.headers.get("x-slack-request-timestamp", "")
        given = request.headers.get("x-slack-signature", "")
        if not timestamp or not given:
            raise Refused(401, "missing X-Slack-Signature or X-Slack-Request-Timestamp")
        try:
            moment = int(timestamp)
        except ValueError:
            raise Refused(401, "X-Slack-Request-Timestamp is not a number") from None
        if abs(self._clock() - moment) > WINDOW_SECONDS:
            raise Refused(401, "X-Slack-Request-Timestamp outside the 5-minute window")
        expected = signature(self._config.signing_secret, timestamp, request.body)
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise Refused(401, "X-Slack-Signature does not match the body")

    def handshake(self, request: InboundRequest) -> Answer | None:
        """The Events API's url_verification (answered only after `verify`; intake calls
        this after the signature check for POSTs)."""
        if request.method != "POST" or not request.body.lstrip().startswith(b"{"):
            return None
        try:
            body = json.loads(request.body)
        except ValueError:
            return None
        if isinstance(body, dict) and body.get("type") == "url_verification":
            return Answer(200, str(body.get("challenge") or ""), "text/plain")
        return None

    def parse(self, request: InboundRequest) -> Sequence[InboundMessage]:
        # A retry (same event_id) is stored once; we keep why Slack retried it.
        retry = {
            key: request.headers[header]
            for key, header in (
                ("retry_num", "x-slack-retry-num"),
                ("retry_reason", "x-slack-retry-reason"),
            )
            if request.headers.get(header)
        }
        if request.headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"
        ) or request.body.startswith(b"payload="):
            return self._interactive(request.body)
        try:
            body = json.loads(request.body)
        except ValueError:
            raise Refused(400, "body is neither JSON nor an interactive payload") from None
        if not isinstance(body, dict) or not isinstance(body.get("type"), str):
            raise Refused(400, "not a Slack Events API body (no type)")
        if body["type"] != "event_callback":  # app_rate_limited and future envelope types
            return [_ignored(f"{body['type']}:{body.get('minute_rate_limited', '')}", body)]
        event = body.get("event")
        event_id = body.get("event_id")
        if not isinstance(event, dict) or not isinstance(event_id, str) or not event_id:
            raise Refused(400, "event_callback without event or event_id")
        return [self._event(event_id, event, retry, body.get("team_id"))]

    def _event(
        self, event_id: str, event: dict[str, Any], retry: dict[str, str], team: Any
    ) -> InboundMessage:
        kind = str(event.get("type") or "")
        subtype = event.get("subtype")
        why = None
        if kind != "message":
            why = kind or "untyped"  # app_mention too: the same words come as a message
        elif event.get("bot_id") or subtype == "bot_message":
            why = "bot message"
        elif subtype and subtype not in PERSON_SUBTYPES:
            why = f"subtype {subtype}"
        elif not event.get("user") or event.get("user") in self._own:
            why = "own or anonymous message"
        if why is not None:
            return _ignored(event_id, {"event": kind, "why": why, **retry})
        channel, ts = event.get("channel"), event.get("ts")
        if not isinstance(channel, str) or not isinstance(ts, str):
            raise Refused(400, "message event without channel or ts")
        root = event.get("thread_ts") or ts
        text = _MENTION.sub("", str(event.get("text") or ""))
        profile = event.get("user_profile") or {}
        return InboundMessage(
            event_id=event_id,
            thread_id=f"{channel}:{root}",
            user_id=str(event["user"]),
            text=text,
            message_id=ts,
            profile=Profile(
                name=profile.get("real_name") or profile.get("display_name") or None,
                username=profile.get("name") or profile.get("display_name") or None,
            ),
            attachments=_files(event),
            extra={
                "channel_type": event.get("channel_type"),
                "team": team or event.get("team"),
                **retry,
            },
        )

    def _interactive(self, raw: bytes) -> Sequence[InboundMessage]:
        try:
            payload = json.loads(parse_qs(raw.decode())["payload"][0])
        except (KeyError, IndexError, ValueError, UnicodeDecodeError):
            raise Refused(400, "interactive request without a JSON payload") from None
        if not isinstance(payload, dict):
            raise Refused(400, "interactive payload is not an object")
        kind = str(payload.get("type") or "")
        trigger = str(payload.get("trigger_id") or "")
        if kind != "block_actions":  # shortcuts, view submissions: not ours
            return [_ignored(f"{kind}:{trigger}", {"interactive": kind})]
        user = payload.get("user") or {}
        container = payload.get("container") or {}
        message = payload.get("message") or {}
        channel = (payload.get("channel") or {}).get("id") or container.get("channel_id")
        root = (
            message.get("thread_ts")
            or container.get("thread_ts")
            or message.get("ts")
            or container.get("message_ts")
        )
        if not channel or not root or not user.get("id"):
            raise Refused(400, "block_actions without channel, message or user")
        events = []
        for action in payload.get("actions") or []:
            if not isinstance(action, dict) or action.get("type") != "button":
                continue
            title = str((action.get("text") or {}).get("text") or action.get("value") or "")
            events.append(
                InboundMessage(
                    event_id=f"action:{action.get('action_ts') or trigger}:{user['id']}",
                    thread_id=f"{channel}:{root}",
                    user_id=str(user["id"]),
                    text=title,
                    kind="button",
                    choice=str(action.get("value") or ""),
                    profile=Profile(name=user.get("name"), username=user.get("username")),
                    extra={"team": (payload.get("team") or {}).get("id")},
                )
            )
        return events or [_ignored(f"block_actions:{trigger}", {"interactive": "no button"})]

    async def after_accept(self, event: InboundMessage) -> InboundMessage | None:
        """A customer's name where the event has none (users.info; needs users:read)."""
        if event.kind == "ignored" or event.profile.name or not event.user_id:
            return None
        data = await self._call("users.info", {"user": event.user_id})
        user = data.get("user") or {}
        profile = user.get("profile") or {}
        name = profile.get("real_name") or profile.get("display_name") or user.get("name")
        if not name:
            return None
        return replace(
            event,
            profile=Profile(
                name=str(name),
                username=user.get("name") or event.profile.username,
                email=profile.get("email"),
                language=(user.get("locale") or "")[:2] or None,
            ),
        )

    # ---- outbound ---------------------------------------------------------------------

    async def send(self, message: OutboundMessage) -> SendResult:
        channel, _, root = message.thread_id.partition(":")
        chunks = split_text(mrkdwn(message), TEXT_LIMIT)
        result = SendResult.failed("nothing to send")
        for index, chunk in enumerate(chunks):
            body: dict[str, Any] = {"channel": channel, "text": chunk, "unfurl_links": False}
            if root:
                body["thread_ts"] = root
            if message.buttons and index == len(chunks) - 1:
                body["blocks"] = blocks(chunk, message)
            result = await self._post(body)
            if result.outcome != "sent":
                return result
        return result

    async def _post(self, body: dict[str, Any]) -> SendResult:
        try:
            response = await self._client.post(
                f"{self._base}/chat.postMessage", json=body, headers=self._auth()
            )
        except httpx.HTTPError as error:
            return SendResult.retry(f"Slack unreachable: {error!r}")
        result = classify(response)
        posted = http.json_object(response).get("message") or {}
        self._own.update(str(posted[k]) for k in ("user", "bot_id") if posted.get(k))
        return result

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._config.bot_token}"}

    async def _call(self, method: str, params: dict[str, str]) -> dict[str, Any]:
        response = await self._client.post(
            f"{self._base}/{method}", data=params, headers=self._auth()
        )
        data = http.json_object(response)
        if not data.get("ok"):
            raise RuntimeError(f"{method}: {data.get('error') or response.status_code}")
        return data

    async def check(self) -> str:
        me = await self._call("auth.test", {})
        self._own.update(str(me[k]) for k in ("user_id", "bot_id") if me.get(k))
        return f"bot @{me.get('user')} ({me.get('user_id')}) in {me.get('team')}"


def classify(response: httpx.Response) -> SendResult:
    """chat.postMessage's answer as sent / retry later / failed for good."""
    data = http.json_object(response)
    if response.status_code == 429:
        return SendResult.retry("Slack rate limit", http.retry_after(response))
    if response.status_code >= 500:
        return SendResult.retry(f"Slack answered HTTP {response.status_code}")
    if response.status_code == 200 and data.get("ok"):
        channel, ts = data.get("channel"), data.get("ts")
        return SendResult.sent(f"{channel}:{ts}" if channel and ts else None)
    error = str(data.get("error") or f"HTTP {response.status_code}")
    if error in TRANSIENT:
        return SendResult.retry(f"Slack: {error}", http.retry_after(response))
    if error in PERMANENT:
        return SendResult.failed(f"{PERMANENT[error]} ({error})")
    return SendResult.failed(f"Slack refused the message ({error})")


def mrkdwn(message: OutboundMessage) -> str:
    """Our Markdown in Slack's mrkdwn: &, <, > escaped, links as <url|title>, **bold** as
    *bold*; the sources listed under it."""

    def escape(text: str) -> str:
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    def link(url: str, title: str) -> str:
        return f"<{url}|{escape(title).replace('|', '¦')}>"

    text = escape(message.text)
    text = _LINK.sub(lambda m: link(m.group(2), m.group(1)), text)
    text = _BOLD.sub(lambda m: f"*{m.group(2)}*", text)
    sources = [s for s in message.sources if s.get("url") or s.get("title")]
    if sources:
        lines = []
        for source in sources:
            url, title = source.get("url"), str(source.get("title") or source.get("url"))
            lines.append("• " + (link(str(url), title) if url else escape(title)))
        text += "\n\n*Source:*\n" + "\n".join(lines)
    return text


def blocks(text: str, message: OutboundMessage) -> list[dict[str, Any]]:
    """A section with the text and an `actions` block of buttons; a button's value is our
    payload (up to Slack's 2,000 characters), else its index ("#2")."""
    buttons = [
        {
            "type": "button",
            "action_id": f"choice-{i}",
            "text": {"type": "plain_text", "text": b.title[:75] or str(i + 1), "emoji": True},
            "value": b.payload if 0 < len(b.payload) <= 2000 else f"#{i}",
        }
        for i, b in enumerate(message.buttons[:BUTTON_LIMIT])
    ]
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": text or " "}},
        {"type": "actions", "block_id": f"choices-{message.message_id}", "elements": buttons},
    ]


def _ignored(event_id: str, extra: dict[str, Any]) -> InboundMessage:
    return InboundMessage(event_id=event_id, thread_id="", user_id="", kind="ignored", extra=extra)


def _files(event: dict[str, Any]) -> tuple[Attachment, ...]:
    return tuple(
        Attachment(
            name=f.get("name"),
            content_type=f.get("mimetype"),
            size=f.get("size"),
            external_id=f.get("id"),
        )
        for f in event.get("files") or []
        if isinstance(f, dict)
    )
