"""channels.yml: which channels are on and their credentials (an exact contract, see the
README's channel sections). Each top-level key enables one channel; values may be
`${ENV_VAR}`; a missing file means only the live channels (widget and webchat)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class ChannelConfigError(ValueError):
    """channels.yml is unusable; the message names the key and what is wrong."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TelegramConfig(_Strict):
    bot_token: str = Field(min_length=3)
    secret_token: str = Field(min_length=1, max_length=256, pattern=r"^[A-Za-z0-9_-]+$")
    api_base: str = "https://api.telegram.org"


class WebhookConfig(_Strict):
    secret: str = Field(pattern=r"^whsec_[A-Za-z0-9+/=]+$")
    callback_url: str = Field(min_length=8)


class ImapConfig(_Strict):
    host: str
    port: int = 993
    username: str
    password: str
    ssl: bool = True
    starttls: bool = False
    folder: str = "INBOX"


class SmtpConfig(_Strict):
    host: str
    port: int = 587
    username: str | None = None
    password: str | None = None
    starttls: bool = True
    ssl: bool = False


class EmailConfig(_Strict):
    imap: ImapConfig
    smtp: SmtpConfig
    address: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    name: str = "Support"
    poll_seconds: float = Field(default=30, gt=0)


class SlackConfig(_Strict):
    signing_secret: str = Field(min_length=1)
    bot_token: str = Field(pattern=r"^xox[a-z]-[A-Za-z0-9-]+$")
    api_base: str = "https://slack.com/api"


class LineConfig(_Strict):
    channel_secret: str = Field(min_length=1)
    channel_access_token: str = Field(min_length=1)
    api_base: str = "https://api.line.me"


GRAPH_API = "https://graph.facebook.com/v21.0"


class TemplateConfig(_Strict):
    """A pre-approved WhatsApp template (no parameters) for outside the 24-hour window."""

    name: str = Field(min_length=1, max_length=512, pattern=r"^[a-z0-9_]+$")
    language: str = Field(default="en_US", min_length=2, max_length=15)


class WhatsAppConfig(_Strict):
    app_secret: str = Field(min_length=1)
    verify_token: str = Field(min_length=1)
    access_token: str = Field(min_length=1)
    phone_number_id: str = Field(min_length=1, pattern=r"^[0-9]+$")
    template: TemplateConfig | None = None
    api_base: str = GRAPH_API


class MessengerConfig(_Strict):
    app_secret: str = Field(min_length=1)
    verify_token: str = Field(min_length=1)
    page_access_token: str = Field(min_length=1)
    api_base: str = GRAPH_API


class InstagramConfig(_Strict):
    app_secret: str = Field(min_length=1)
    verify_token: str = Field(min_length=1)
    access_token: str = Field(min_length=1)
    api_base: str = GRAPH_API


class TwilioConfig(_Strict):
    """SMS and WhatsApp through Twilio. `public_url` is the webhook URL exactly as entered in
    Twilio's console (Twilio signs that URL; behind a proxy the hub sees another one); it is
    also the StatusCallback of every message sent."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    account_sid: str = Field(pattern=r"^AC[0-9a-fA-F]{32}$")
    auth_token: str = Field(min_length=8)
    from_: str = Field(alias="from", min_length=3)  # "+15557654321" or "whatsapp:+1555..."
    public_url: str = Field(pattern=r"^https?://")
    api_base: str = "https://api.twilio.com"


class TeamsConfig(_Strict):
    """Microsoft Teams through the Bot Framework (an Azure Bot's app registration)."""

    app_id: str = Field(min_length=1)
    app_password: str = Field(min_length=1)
    tenant_id: str = Field(min_length=1)
    openid_metadata_url: str = "https://login.botframework.com/v1/.well-known/openidconfiguration"
    token_url: str = "https://login.microsoftonline.com/botframework.com/oauth2/v2.0/token"
    api_base: str | None = None  # unused: replies go to each conversation's serviceUrl


CHANNEL_CONFIGS: dict[str, type[BaseModel]] = {
    "telegram": TelegramConfig,
    "webhook": WebhookConfig,
    "email": EmailConfig,
    "slack": SlackConfig,
    "line": LineConfig,
    "whatsapp": WhatsAppConfig,
    "messenger": MessengerConfig,
    "instagram": InstagramConfig,
    "twilio": TwilioConfig,
    "teams": TeamsConfig,
}


def _expand(value: Any, where: str) -> Any:
    if isinstance(value, str):

        def lookup(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in os.environ:
                raise ChannelConfigError(f"{where}: environment variable {name} is not set")
            return os.environ[name]

        return _ENV.sub(lookup, value)
    if isinstance(value, dict):
        return {k: _expand(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, where) for v in value]
    return value


def parse_channels(text: str, source: str = "channels.yml") -> dict[str, BaseModel]:
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise ChannelConfigError(f"{source}: not YAML: {error}") from None
    if not isinstance(raw, dict):
        raise ChannelConfigError(f"{source}: expected a mapping of channel names")
    configs: dict[str, BaseModel] = {}
    for name, value in raw.items():
        model = CHANNEL_CONFIGS.get(str(name))
        if model is None:
            known = ", ".join(sorted(CHANNEL_CONFIGS))
            raise ChannelConfigError(f"{source}: unknown channel {name!r} (known: {known})")
        try:
            configs[str(name)] = model.model_validate(_expand(value or {}, f"{source}: {name}"))
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()
            )
            raise ChannelConfigError(f"{source}: {name}: {problems}") from None
    return configs


def load_channels(path: Path) -> dict[str, BaseModel]:
    """The configured channels; none when the file does not exist."""
    if not path.is_file():
        return {}
    return parse_channels(path.read_text(encoding="utf-8"), str(path))
