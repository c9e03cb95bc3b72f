"""The one interface every channel adapter implements, and the shapes it speaks.

An adapter knows one platform's wire protocol and nothing of conversations: it verifies an
inbound request, parses it into normalised events, sends one outbound message and says how
that went, and declares what the platform can show. Intake (channels/intake.py) and the
outbox (channels/outbox.py) do the rest once, for every channel.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable


class Refused(Exception):
    """An inbound request we do not accept; `status` is the HTTP answer (nothing stored)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Capabilities:
    """What a channel can show, so replies degrade instead of breaking."""

    buttons: int = 0  # how many buttons a message may carry; 0: numbered text instead
    text_limit: int = 4000  # longer texts are split (or refused for agents)
    markdown: str = "none"  # "none", "telegram-html", "mrkdwn", "commonmark"
    typing: bool = False
    live: bool = False  # replies go over the customer's open socket, not an API
    bot: bool = True  # False: every new message goes straight to people (email)
    # Hours after the customer's last message within which an agent may still reply (a
    # platform's customer-service window); None: no window. Outside it the reply route
    # refuses the reply before it is queued, and the console says so before the agent types.
    window_hours: int | None = None
    # The name of a pre-approved message the channel can send outside the window (a
    # WhatsApp template), if one is configured.
    template: str | None = None

    def window_open(self, last_customer_at: datetime | None, now: datetime | None = None) -> bool:
        """Whether an agent may still reply, the customer having last written then (a
        naive time is UTC, as the database stores it)."""
        if not self.window_hours:
            return True
        if last_customer_at is None:
            return False
        if last_customer_at.tzinfo is None:
            last_customer_at = last_customer_at.replace(tzinfo=UTC)
        return (now or datetime.now(UTC)) - last_customer_at < timedelta(hours=self.window_hours)

    def window_span(self) -> str:
        hours = self.window_hours or 0
        return f"{hours // 24}-day" if hours > 24 and hours % 24 == 0 else f"{hours}-hour"

    def window_closed(self) -> str:
        """Why an agent's reply cannot go out once the window has closed."""
        then = "send the template" if self.template else "wait for the customer to write"
        return f"the {self.window_span()} window has closed: {then}"

    def limits(self) -> list[str]:
        """What the console tells an agent before they type."""
        notes = []
        if not self.buttons:
            notes.append("no buttons (choices are sent as a numbered list)")
        notes.append(f"messages over {self.text_limit} characters are split")
        if self.markdown == "none":
            notes.append("plain text only")
        if self.window_hours:
            span = self.window_span().replace("-day", " days").replace("-hour", " hours")
            note = f"replies only within {span} of the customer's last message"
            if self.template:
                note += f' (after that only the template "{self.template}")'
            notes.append(note)
        return notes


@dataclass(frozen=True)
class Profile:
    """Who wrote, as the platform tells it."""

    name: str | None = None
    username: str | None = None
    email: str | None = None
    phone: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class Attachment:
    """What a customer attached (metadata only; the file stays on the platform)."""

    name: str | None = None
    content_type: str | None = None
    size: int | None = None
    external_id: str | None = None


@dataclass(frozen=True)
class InboundMessage:
    """One normalised event from a channel.

    `event_id` is unique per channel (the dedup key); `thread_id` names the chat or thread
    (one conversation); `user_id` the customer on that platform (one contact identity).
    `kind`: "message", "button" (a choice: `choice` holds our payload or its index),
    "edit" (a changed message, kept as a note), "note" (something the customer did that
    is worth showing but not answering: a story reply or mention, a reaction, a type the
    channel cannot show; kept in the transcript as a processed customer note), "status" (a
    platform's delivery report on one of our messages: `extra = {"status_of": <platform
    message id>, "status": "sent"|"delivered"|"read"|"failed", "reason": str | None}`,
    recorded with handoff.outbox.mark_status), or "ignored" (stored, not processed)."""

    event_id: str
    thread_id: str
    user_id: str
    text: str = ""
    kind: str = "message"
    message_id: str | None = None
    choice: str | None = None
    profile: Profile = field(default_factory=Profile)
    attachments: tuple[Attachment, ...] = ()
    # Channel-specific facts kept with the event (a callback to answer, a subject line,
    # the references of a mail).
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "thread_id": self.thread_id,
            "user_id": self.user_id,
            "text": self.text,
            "kind": self.kind,
            "message_id": self.message_id,
            "choice": self.choice,
            "profile": vars(self.profile),
            "attachments": [vars(a) for a in self.attachments],
            "extra": dict(self.extra),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> InboundMessage:
        return cls(
            event_id=str(data["event_id"]),
            thread_id=str(data["thread_id"]),
            user_id=str(data["user_id"]),
            text=str(data.get("text") or ""),
            kind=str(data.get("kind") or "message"),
            message_id=data.get("message_id"),
            choice=data.get("choice"),
            profile=Profile(**(data.get("profile") or {})),
            attachments=tuple(Attachment(**a) for a in data.get("attachments") or ()),
            extra=dict(data.get("extra") or {}),
        )


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class OutboundMessage:
    """One of our messages to send: text, choices, sources, who wrote it, and the thread."""

    thread_id: str
    text: str
    role: str  # "bot", "agent", "system"
    message_id: int
    conversation_id: int
    author: str | None = None
    buttons: tuple[Button, ...] = ()
    sources: tuple[Mapping[str, Any], ...] = ()
    # What the thread needs to carry on (an email's subject and references, a ticket number).
    context: Mapping[str, Any] = field(default_factory=dict)


class Outcome(StrEnum):
    SENT = "sent"
    RETRY = "retry"  # later: rate limited, platform down, timeout
    FAILED = "failed"  # for good: blocked, unknown chat, window closed


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    external_id: str | None = None
    retry_after: float | None = None  # seconds, when the platform said
    reason: str | None = None

    @classmethod
    def sent(cls, external_id: str | None = None) -> SendResult:
        return cls(Outcome.SENT, external_id=external_id)

    @classmethod
    def retry(cls, reason: str, retry_after: float | None = None) -> SendResult:
        return cls(Outcome.RETRY, retry_after=retry_after, reason=reason)

    @classmethod
    def failed(cls, reason: str) -> SendResult:
        return cls(Outcome.FAILED, reason=reason)


@dataclass(frozen=True)
class InboundRequest:
    """An HTTP request to /channels/<name>, as the adapter needs it: the raw body for
    signatures, lower-cased headers, the query, and the URL the platform called."""

    method: str
    url: str
    headers: Mapping[str, str]
    query: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class Answer:
    """What the webhook answers when the adapter must say something itself (a handshake)."""

    status: int = 200
    body: str | bytes = ""
    content_type: str = "text/plain"


@runtime_checkable
class Channel(Protocol):
    """A channel adapter (see docs/channels.md)."""

    name: str
    capabilities: Capabilities

    def verify(self, request: InboundRequest) -> None:
        """Raise Refused unless the request comes from the platform (constant-time checks
        on the raw body). Runs before anything is parsed or stored."""

    def handshake(self, request: InboundRequest) -> Answer | None:
        """The platform's verification call (a GET challenge, a url_verification), if this
        request is one; None otherwise."""

    def parse(self, request: InboundRequest) -> Sequence[InboundMessage]:
        """The events in a verified request (a batch may hold several; none is fine).
        Raise Refused(400) for a body that is not the platform's format."""

    async def send(self, message: OutboundMessage) -> SendResult:
        """Send one message and classify what the platform answered."""

    async def after_accept(self, event: InboundMessage) -> InboundMessage | None:
        """Anything the platform expects once an event is stored (answer a button press).
        May return the event completed with what only an API call tells (the customer's
        name, where the webhook carries just an id); intake files that copy. None: as is."""

    async def check(self) -> str:
        """Whether the credentials work: a line for `frontline channels check`; raises on
        failure."""

    async def aclose(self) -> None: ...
