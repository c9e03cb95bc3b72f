"""Microsoft Teams through the Bot Framework: activities in, connector REST calls out.

Every inbound activity carries the connector's JWT (checked in teams_auth.py). `activity.id`
is the dedup key (with the conversation, since Teams' ids are only unique within one). The
conversation reference (serviceUrl, conversation, bot, tenant) is kept with each event, so
a reply can go out at any later time: the outbox passes the latest as
`context["reference"]`. Replies: `POST {serviceUrl}/v3/conversations/{id}/activities` with
our client-credentials token; choices as a hero card of messageBack buttons, whose press
comes back as a message with `value`. Sources: MicrosoftDocs/bot-docs
rest-api/bot-framework-rest-connector-authentication.md,
bot-framework-rest-connector-send-and-receive-messages.md, bot-framework-rest-connector-api-
reference.md (Activity, HeroCard, CardAction), msteams-docs bots/how-to/rate-limit.md,
../shared/reference/channels.md section 7.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

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
from api.channels.config import TeamsConfig
from api.channels.render import plain_text, split_text
from api.channels.teams_auth import BotToken, ConnectorKeys, TokenError, verify_activity

TEXT_LIMIT = 4000  # Teams takes ~28 KB per message; long answers read better split
BUTTONS = 6
HERO_CARD = "application/vnd.microsoft.card.hero"


class TeamsChannel(http.HttpChannel):
    name = "teams"
    capabilities = Capabilities(buttons=BUTTONS, text_limit=TEXT_LIMIT, markdown="none")

    def __init__(
        self,
        config: TeamsConfig,
        client: httpx.AsyncClient | None = None,
        keys: ConnectorKeys | None = None,
    ) -> None:
        self._config = config
        self._client = client or httpx.AsyncClient(timeout=15.0)
        self._keys = keys or ConnectorKeys(config.openid_metadata_url)
        self._token = BotToken(config.token_url, config.app_id, config.app_password, self._client)

    # ---- inbound ----------------------------------------------------------------------

    def verify(self, request: InboundRequest) -> None:
        authorization = request.headers.get("authorization", "")
        if not authorization:
            raise Refused(401, "missing Authorization: Bearer token")
        activity = _activity(request.body)
        verify_activity(authorization, activity, app_id=self._config.app_id, keys=self._keys)
        tenant = _tenant(activity)
        if tenant and tenant != self._config.tenant_id:
            raise Refused(403, f"an activity of another tenant ({tenant})")

    def parse(self, request: InboundRequest) -> Sequence[InboundMessage]:
        activity = _activity(request.body)
        conversation = activity.get("conversation") or {}
        activity_id = str(activity.get("id") or "")
        conversation_id = str(conversation.get("id") or "")
        if not activity_id or not conversation_id:
            raise Refused(400, "an activity without id or conversation.id")
        event_id = _event_id(conversation_id, activity_id)
        kind = activity.get("type")
        sender = activity.get("from") or {}
        if kind != "message" or sender.get("id") == (activity.get("recipient") or {}).get("id"):
            # conversationUpdate (members added), typing, reactions, installs: nothing to say.
            return [
                InboundMessage(
                    event_id=event_id,
                    thread_id=conversation_id,
                    user_id=str(sender.get("id") or ""),
                    kind="ignored",
                    extra={"activity": str(kind)},
                )
            ]
        return [self._message(event_id, conversation_id, activity)]

    def _message(
        self, event_id: str, conversation_id: str, activity: Mapping[str, Any]
    ) -> InboundMessage:
        sender = activity.get("from") or {}
        text = _without_bot_mention(activity)
        choice = _choice(activity.get("value"))
        return InboundMessage(
            event_id=event_id,
            thread_id=conversation_id,
            user_id=str(sender.get("aadObjectId") or sender.get("id") or ""),
            text=text or (choice or ""),
            kind="button" if choice else "message",
            message_id=str(activity.get("id")),
            choice=choice,
            profile=Profile(name=sender.get("name"), language=_language(activity)),
            attachments=_attachments(activity),
            extra={"reference": reference(activity)},
        )

    # ---- outbound ---------------------------------------------------------------------

    async def send(self, message: OutboundMessage) -> SendResult:
        ref = message.context.get("reference")
        if not isinstance(ref, Mapping) or not ref.get("service_url"):
            return SendResult.failed("no Teams conversation reference (serviceUrl) to reply to")
        url = (
            f"{str(ref['service_url']).rstrip('/')}/v3/conversations/"
            f"{quote(str(ref.get('conversation_id') or message.thread_id), safe='')}/activities"
        )
        chunks = split_text(plain_text(message), TEXT_LIMIT)
        result = SendResult.failed("nothing to send")
        for index, chunk in enumerate(chunks):
            body = activity_for(ref, chunk, message if index == len(chunks) - 1 else None)
            result = await self._post(url, body)
            if result.outcome != "sent":
                return result
        return result

    async def _post(self, url: str, body: dict[str, Any]) -> SendResult:
        for attempt in range(2):
            try:
                token = await self._token.get()
            except TokenError as error:
                return SendResult.retry(f"no Bot Framework token: {error}")
            except httpx.HTTPError as error:
                return SendResult.retry(f"token endpoint unreachable: {error!r}")
            try:
                response = await self._client.post(
                    url, json=body, headers={"Authorization": f"Bearer {token}"}
                )
            except httpx.HTTPError as error:
                return SendResult.retry(f"Teams unreachable: {error!r}")
            if response.status_code == 401 and attempt == 0:
                self._token.forget()  # revoked or rotated: one more try with a fresh token
                continue
            return classify(response)
        raise AssertionError("unreachable")

    async def check(self) -> str:
        await self._token.get()
        return f"Bot Framework token for app {self._config.app_id}"

    async def aclose(self) -> None:
        await self._client.aclose()
        self._keys.close()


def reference(activity: Mapping[str, Any]) -> dict[str, Any]:
    """What a reply needs later (the Bot Framework's ConversationReference)."""
    conversation = activity.get("conversation") or {}
    bot = activity.get("recipient") or {}
    user = activity.get("from") or {}
    return {
        "service_url": activity.get("serviceUrl"),
        "channel_id": activity.get("channelId"),
        "conversation_id": conversation.get("id"),
        "conversation_type": conversation.get("conversationType"),
        "bot_id": bot.get("id"),
        "bot_name": bot.get("name"),
        "user_id": user.get("id"),
        "user_name": user.get("name"),
        "tenant_id": _tenant(activity),
        "activity_id": activity.get("id"),
    }


def activity_for(
    ref: Mapping[str, Any], text: str, with_buttons: OutboundMessage | None
) -> dict[str, Any]:
    """A `message` activity from the bot to the conversation of `ref`."""
    body: dict[str, Any] = {
        "type": "message",
        "from": {"id": ref.get("bot_id"), "name": ref.get("bot_name")},
        "conversation": {"id": ref.get("conversation_id")},
        "recipient": {"id": ref.get("user_id"), "name": ref.get("user_name")},
        "text": text,
        "textFormat": "plain",
    }
    if with_buttons is not None and with_buttons.buttons:
        body["attachments"] = [
            {
                "contentType": HERO_CARD,
                "content": {
                    "buttons": [
                        {
                            "type": "messageBack",
                            "title": b.title[:80],
                            "text": b.title,
                            "displayText": b.title,
                            "value": {"choice": f"#{i}"},
                        }
                        for i, b in enumerate(with_buttons.buttons[:BUTTONS])
                    ]
                },
            }
        ]
    return body


def classify(response: httpx.Response) -> SendResult:
    """The connector's answer as sent / retry later / failed for good."""
    status = response.status_code
    data = http.json_object(response)
    if 200 <= status < 300:
        return SendResult.sent(str(data.get("id") or "") or None)
    found = data.get("error")
    error: dict[str, Any] = found if isinstance(found, dict) else {}
    detail = str(error.get("message") or error.get("code") or f"HTTP {status}")
    if status in (412, 429) or status >= 500:
        return SendResult.retry(f"Teams answered {status}: {detail}", http.retry_after(response))
    if status in (401, 403):
        return SendResult.failed(f"the bot was removed or may not post here ({status})")
    if status == 404:
        return SendResult.failed("the Teams conversation is gone (404)")
    return SendResult.failed(f"Teams refused it ({status}): {detail}")


def _activity(body: bytes) -> dict[str, Any]:
    try:
        activity = json.loads(body)
    except ValueError:
        raise Refused(400, "body is not JSON") from None
    if not isinstance(activity, dict) or not isinstance(activity.get("serviceUrl"), str):
        raise Refused(400, "not a Bot Framework activity (no serviceUrl)")
    return activity


def _event_id(conversation_id: str, activity_id: str) -> str:
    """Unique per channel: Teams' activity ids are unique only within their conversation."""
    scope = hashlib.sha256(conversation_id.encode()).hexdigest()[:24]
    return f"{scope}:{activity_id}"[:255]


def _tenant(activity: Mapping[str, Any]) -> str | None:
    conversation = activity.get("conversation") or {}
    channel_data = activity.get("channelData") or {}
    tenant = conversation.get("tenantId") or (channel_data.get("tenant") or {}).get("id")
    return str(tenant) if tenant else None


def _without_bot_mention(activity: Mapping[str, Any]) -> str:
    """The text without "<at>Bot</at>" (how a channel message addresses the bot)."""
    text = str(activity.get("text") or "")
    bot_id = (activity.get("recipient") or {}).get("id")
    for entity in activity.get("entities") or ():
        if (
            isinstance(entity, dict)
            and entity.get("type") == "mention"
            and (entity.get("mentioned") or {}).get("id") == bot_id
            and entity.get("text")
        ):
            text = text.replace(str(entity["text"]), "")
    return " ".join(text.split())


def _choice(value: Any) -> str | None:
    """A button press: our messageBack value, or an Adaptive Card's submitted `choice`."""
    if isinstance(value, dict):
        picked = value.get("choice") or value.get("payload")
        return str(picked) if picked else None
    return None


def _language(activity: Mapping[str, Any]) -> str | None:
    locale = activity.get("locale")
    return str(locale).split("-")[0] if locale else None


def _attachments(activity: Mapping[str, Any]) -> tuple[Attachment, ...]:
    found: list[Attachment] = []
    for item in activity.get("attachments") or ():
        if not isinstance(item, dict) or item.get("contentType") == "text/html":
            continue  # Teams repeats the message as HTML: not a file
        raw = item.get("content")
        content: dict[str, Any] = raw if isinstance(raw, dict) else {}
        found.append(
            Attachment(
                name=item.get("name"),
                content_type=(content.get("fileType") and str(content["fileType"]))
                or item.get("contentType"),
                external_id=(content.get("downloadUrl") or item.get("contentUrl")),
            )
        )
    return tuple(found)
