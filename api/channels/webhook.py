"""A generic signed webhook both ways (Standard Webhooks, standardwebhooks.com): bridges any
platform we have no adapter for.

Inbound: `webhook-id`, `webhook-timestamp`, `webhook-signature` = "v1," + base64
HMAC-SHA256 of "id.timestamp.body" with the base64-decoded secret; 5-minute window; dedup by
`webhook-id`. Outbound callbacks are signed the same way. Both use the `standardwebhooks`
package, the scheme's reference implementation.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from api.channels import http
from api.channels.base import (
    Capabilities,
    InboundMessage,
    InboundRequest,
    OutboundMessage,
    Profile,
    Refused,
    SendResult,
)
from api.channels.config import WebhookConfig


class _User(BaseModel):
    id: str = Field(min_length=1, max_length=200)
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)


class InboundBody(BaseModel):
    """The inbound contract (README, "Signed webhook")."""

    model_config = ConfigDict(extra="ignore")

    conversation_id: str = Field(min_length=1, max_length=255)
    message_id: str = Field(min_length=1, max_length=255)
    text: str = Field(max_length=4000)
    payload: str | None = Field(default=None, max_length=1000)
    user: _User


class SignedWebhookChannel(http.HttpChannel):
    name = "webhook"
    capabilities = Capabilities(buttons=10, text_limit=4000, markdown="commonmark")

    def __init__(self, config: WebhookConfig, client: httpx.AsyncClient | None = None) -> None:
        self._config = config
        self._hook = Webhook(config.secret)
        self._client = client or httpx.AsyncClient(timeout=15.0)

    def verify(self, request: InboundRequest) -> None:
        headers = {
            k: request.headers.get(k, "")
            for k in ("webhook-id", "webhook-timestamp", "webhook-signature")
        }
        try:
            # Checks the 5-minute timestamp window too; compares in constant time.
            self._hook.verify(request.body, headers, json_parse=False)
        except WebhookVerificationError as error:
            raise Refused(401, f"signature refused: {error}") from None

    def parse(self, request: InboundRequest) -> Sequence[InboundMessage]:
        try:
            body = InboundBody.model_validate_json(request.body)
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
                for e in error.errors()
            )
            raise Refused(400, f"body does not match the webhook contract: {problems}") from None
        return [
            InboundMessage(
                event_id=request.headers.get("webhook-id", "") or body.message_id,
                thread_id=body.conversation_id,
                user_id=body.user.id,
                text=body.text,
                kind="button" if body.payload else "message",
                message_id=body.message_id,
                choice=body.payload,
                profile=Profile(name=body.user.name, email=body.user.email),
            )
        ]

    def callback_body(self, message: OutboundMessage) -> dict[str, Any]:
        return {
            "conversation_id": message.thread_id,
            "message_id": str(message.message_id),
            "role": message.role,
            "author": message.author,
            "text": message.text,
            "buttons": [{"title": b.title, "payload": b.payload} for b in message.buttons],
            "sources": [dict(s) for s in message.sources],
        }

    def sign(self, msg_id: str, body: str, now: datetime | None = None) -> dict[str, str]:
        moment = now or datetime.now(UTC)
        return {
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(moment.timestamp())),
            "webhook-signature": self._hook.sign(msg_id, moment, body),
            "content-type": "application/json",
        }

    async def send(self, message: OutboundMessage) -> SendResult:
        body = json.dumps(self.callback_body(message), ensure_ascii=False)
        # The same id on every retry: the receiver deduplicates by it.
        headers = self.sign(f"msg_{message.message_id}", body)
        try:
            response = await self._client.post(
                self._config.callback_url, content=body.encode(), headers=headers
            )
        except httpx.HTTPError as error:
            return SendResult.retry(f"callback unreachable: {error!r}")
        return classify(response)

    async def check(self) -> str:
        return f"callbacks go to {self._config.callback_url} (signed, Standard Webhooks)"


def classify(response: httpx.Response) -> SendResult:
    status = response.status_code
    if 200 <= status < 300:
        return SendResult.sent(response.headers.get("webhook-id"))
    retry_after = http.retry_after(response)
    if status in (408, 425, 429) or status >= 500:
        return SendResult.retry(f"callback answered {status}", retry_after)
    if status == 410:
        return SendResult.failed("the receiver is gone (410)")
    return SendResult.failed(f"callback refused it ({status})")
