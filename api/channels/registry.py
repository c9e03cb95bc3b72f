"""Which adapter serves which key of channels.yml, and the live channels every hub has."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel

from api.channels.base import (
    Answer,
    Capabilities,
    Channel,
    InboundMessage,
    InboundRequest,
    OutboundMessage,
    Refused,
    SendResult,
)
from api.channels.line import LineChannel
from api.channels.messenger import InstagramChannel, MessengerChannel
from api.channels.slack import SlackChannel
from api.channels.teams import TeamsChannel
from api.channels.telegram import TelegramChannel
from api.channels.twilio import TwilioChannel
from api.channels.webhook import SignedWebhookChannel
from api.channels.whatsapp import WhatsAppChannel


class LiveChannel:
    """A channel whose customers hold an open socket (the widget, rasa-webchat): replies
    go out through the live broker, so it has no webhook and nothing to send by API."""

    def __init__(self, name: str, capabilities: Capabilities) -> None:
        self.name = name
        self.capabilities = capabilities

    def verify(self, request: InboundRequest) -> None:
        raise Refused(404, f"{self.name} is a live channel: it has no webhook")

    def handshake(self, request: InboundRequest) -> Answer | None:
        return None

    def parse(self, request: InboundRequest) -> list[InboundMessage]:
        return []

    async def send(self, message: OutboundMessage) -> SendResult:
        return SendResult.failed(f"{self.name} replies go over the customer's socket")

    async def after_accept(self, event: InboundMessage) -> None:
        return None

    async def check(self) -> str:
        return "live channel, always on"

    async def aclose(self) -> None:
        return None


LIVE_CHANNELS: dict[str, Capabilities] = {
    "widget": Capabilities(
        buttons=10, text_limit=4000, markdown="commonmark", typing=True, live=True
    ),
    "webchat": Capabilities(buttons=10, text_limit=4000, markdown="commonmark", live=True),
}


def _email(config: Any) -> Channel:
    from api.channels.email import EmailChannel  # imports the mail stack only when used

    channel: Channel = EmailChannel(config)
    return channel


ADAPTERS: dict[str, Callable[[Any], Channel]] = {
    "telegram": lambda config: TelegramChannel(config),
    "webhook": lambda config: SignedWebhookChannel(config),
    "email": _email,
    "slack": lambda config: SlackChannel(config),
    "line": lambda config: LineChannel(config),
    "whatsapp": lambda config: WhatsAppChannel(config),
    "messenger": lambda config: MessengerChannel(config),
    "instagram": lambda config: InstagramChannel(config),
    "twilio": lambda config: TwilioChannel(config),
    "teams": lambda config: TeamsChannel(config),
}


def build_channels(configs: Mapping[str, BaseModel]) -> dict[str, Channel]:
    """The live channels plus one adapter per configured key."""
    channels: dict[str, Channel] = {n: LiveChannel(n, c) for n, c in LIVE_CHANNELS.items()}
    for name, config in configs.items():
        adapter: Channel = ADAPTERS[name](config)
        channels[name] = adapter
    return channels


def capabilities_of(channels: Mapping[str, Channel], name: str) -> Capabilities:
    channel = channels.get(name)
    return channel.capabilities if channel is not None else Capabilities()
