"""The website widget's WebSocket (protocol: docs/protocol.md, "Widget WebSocket").

Visitor tokens are signed: the widget keeps `<conversation token>.<HMAC>` and the hub
refuses a token whose signature does not verify. A site may pass a signed identity (its
user id with an HMAC made with FRONTLINE_IDENTITY_SECRET); the conversation then belongs to
that user's contact, and a returning user resumes their latest open conversation.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from api import inputs, serializers
from api.frames import WelcomeFrame, WidgetFrame, WidgetLiveFrame
from api.hub import Hub
from api.ratelimit import client_ip
from api.routes.deps import socket_hub
from api.stopping import cancel_and_wait
from api.widget_auth import Identity, Refused, sign_token, verify_identity, verify_token
from handoff import intake, lookups
from handoff.client_metadata import primary_language
from handoff.errors import InvalidInput
from handoff.events import Event
from handoff.languages import LanguageSource
from handoff.messages import clean_text
from handoff.models import Contact, Conversation, Message
from handoff.states import ConversationState, MessageRole, MessageStatus

router = APIRouter()
log = logging.getLogger(__name__)

CHANNEL = "widget"
IDENTITY_CHANNEL = "web"  # the contact identity a site's signed user id becomes
TYPING_RELAY_SECONDS = 1.0  # at most one customer "typing" relayed per socket per second


def _language(frame: dict[str, Any]) -> tuple[str, LanguageSource]:
    """The conversation's language from the hello and where it came from: the widget's
    `lang` option is explicit (`language_explicit`), the page's or browser's language a hint
    that the customer's own words may overrule; English by default."""
    language = primary_language(frame.get("language"))
    if language is None:
        return "en", "default"
    return language, "explicit" if frame.get("language_explicit") is True else "hint"


# ---- Welcome ---------------------------------------------------------------------------


def contact_form(conversation: Conversation) -> str | None:
    """ "contact" while the bot is collecting the customer's email because nobody is online
    (its message carries the `form` payload), so the widget shows its contact form; else None.

    The form is over once people have the conversation or the bot has moved on (a system
    or agent message, or a knowledge-base answer, after the bot's request)."""
    if conversation.state is not ConversationState.BOT:
        return None
    for message in _latest_messages(conversation, 50):
        if message.role in (MessageRole.SYSTEM, MessageRole.AGENT):
            return None
        if message.role is MessageRole.BOT:
            if message.payload.get("form") == "contact":
                return "contact"
            if "decision" in message.payload:
                return None
    return None


def _latest_messages(conversation: Conversation, most: int) -> Iterator[Message]:
    """The conversation's messages, newest first, at most `most`: read a few at a time
    (contact_form is asked after every turn and usually decides on the first one or two),
    not the whole conversation."""
    session = object_session(conversation)
    if session is None or conversation.id is None:
        yield from reversed(conversation.messages[-most:])
        return
    seen = 0
    before: int | None = None
    first = min(5, most)
    for batch in (first, most - first):
        if batch <= 0:
            return
        query = select(Message).where(Message.conversation_id == conversation.id)
        if before is not None:
            query = query.where(Message.id < before)
        rows = session.scalars(query.order_by(Message.id.desc()).limit(batch)).all()
        for message in rows:
            yield message
            seen += 1
            before = message.id
        if len(rows) < batch or seen >= most:
            return


def _verified(contact: Contact) -> bool:
    return any(i.channel == IDENTITY_CHANNEL for i in contact.identities)


def _welcome_frame(
    session: Session, conversation: Conversation, key: bytes, agents_available: bool
) -> WelcomeFrame:
    contact = conversation.contact
    return {
        "type": "welcome",
        "token": sign_token(key, conversation.public_token),
        "conversation": {
            **serializers.widget_conversation(conversation, session),
            "language": conversation.language,
            "agents_available": agents_available,
            "form": contact_form(conversation),
        },
        "contact": {"name": contact.name, "email": contact.email, "verified": _verified(contact)},
        "messages": [serializers.message_dict(m) for m in conversation.messages],
    }


def _welcome(hub: Hub, conversation_id: int) -> WelcomeFrame:
    available = hub.flow.agents_available()
    with hub.sessions() as session:
        conversation = lookups.get_conversation(session, conversation_id)
        return _welcome_frame(session, conversation, hub.settings.signing_key, available)


def _pending_welcome(hub: Hub, pending: Pending) -> WelcomeFrame:
    """The welcome of a conversation that exists only as its token until the first message:
    no id yet (the first ack carries it), nothing stored."""
    return {
        "type": "welcome",
        "token": sign_token(hub.settings.signing_key, pending.public_token),
        "conversation": {
            "id": None,
            "state": ConversationState.BOT.value,
            "agent": None,
            "ticket_number": None,
            "queue": None,
            "language": pending.language,
            "agents_available": hub.flow.agents_available(),
            "form": None,
        },
        "contact": {"name": "Visitor", "email": None, "verified": False},
        "messages": [],
    }


@dataclass(frozen=True)
class Pending:
    """A visitor's conversation before its first message: the token they hold, the language
    it will have. The hub stores nothing for a visitor who never writes."""

    public_token: str
    language: str
    language_source: LanguageSource = "default"


def _anonymous_conversation(hub: Hub, public_token: str) -> int | None:
    """The conversation a visitor without an identity may resume (raises Refused)."""
    with hub.sessions() as session:
        conversation = lookups.find_conversation_by_token(session, public_token)
        if conversation is None:
            return None
        if conversation.channel != CHANNEL:
            raise Refused("unknown token; send hello with token null to start again", "token")
        if _verified(lookups.get_contact(session, conversation.contact_id)):
            # A signed-in user's conversation, and the page no longer says who is there (they
            # signed out on a shared computer): the token alone does not reopen it.
            raise Refused(
                "unknown token: that conversation belongs to a signed-in user; send hello with"
                " their identity, or with token null to start again",
                "token",
            )
        return conversation.id


def _identified_conversation(
    session: Session,
    identity: Identity,
    public_token: str | None,
    language: tuple[str, LanguageSource],
) -> tuple[int, list[Event]]:
    conversation, events = intake.conversation_for_identity(
        session,
        channel=CHANNEL,
        identity_channel=IDENTITY_CHANNEL,
        external_id=identity.user_id,
        name=identity.name,
        email=identity.email,
        public_token=public_token,
        language=language[0],
        language_source=language[1],
    )
    return conversation.id, events


def rate_refusal(wait: float, what: str) -> Refused:
    return Refused(f"{what}; try again in {max(1, math.ceil(wait))} s", "rate")


async def _conversation_for(hub: Hub, frame: dict[str, Any], ip: str) -> int | Pending:
    """The conversation a hello opens or resumes, or the token of one still to be created
    (raises Refused). A hello without a token takes one of the client IP's new-conversation
    tokens (api/ratelimit.py); a token the hub signed is not charged again."""
    token = frame.get("token")
    if token is not None and not isinstance(token, str):
        raise Refused("token must be a string or null", "token")
    public_token: str | None = None
    if token:
        public_token = verify_token(hub.settings.signing_key, token)
        if public_token is None:
            raise Refused(
                "unknown token: its signature does not verify; send hello with token null to"
                " start again",
                "token",
            )
    language = _language(frame)
    raw_identity = frame.get("identity")
    if raw_identity is not None:
        secret = hub.settings.identity_secret.get_secret_value().encode()
        identity = verify_identity(secret, raw_identity)
        try:
            return await hub.flow.write(
                lambda s: _identified_conversation(s, identity, public_token, language)
            )
        except InvalidInput as error:
            raise Refused(f"identity refused: {error}", "identity") from error
    if public_token is not None:
        found = await asyncio.to_thread(_anonymous_conversation, hub, public_token)
        # Signed by this hub but not stored: a visitor who has not written yet.
        return found if found is not None else Pending(public_token, *language)
    wait = hub.limits.conversations.take(ip)
    if wait > 0:
        raise rate_refusal(wait, "too many new conversations from your address")
    return Pending(intake.new_public_token(), *language)


async def _send(websocket: WebSocket, frame: WidgetFrame) -> None:
    """Send a frame the protocol defines (typed, so mypy checks its keys)."""
    await websocket.send_json(frame)


async def _receive_frame(websocket: WebSocket) -> dict[str, Any] | None:
    """The next JSON object from the client, or None (after telling it) if it is not one:
    binary frames, bad or deep JSON get an error frame and the socket stays open
    (`api.inputs`; every string in the frame is scrubbed of NUL and lone surrogates).

    Typed loosely on purpose: a client frame is `api.frames.WidgetInbound` only by
    promise, so every value is checked where it is used."""
    try:
        frame = await inputs.receive_json(websocket)
    except inputs.Refused as refused:
        await _send(websocket, {"type": "error", "error": f"frame refused: {refused}"})
        return None
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        await _send(
            websocket, {"type": "error", "error": "frames must be JSON objects with a 'type'"}
        )
        return None
    return frame


async def _hello(websocket: WebSocket, hub: Hub, ip: str) -> tuple[WelcomeFrame, Pending | None]:
    while True:
        frame = await _receive_frame(websocket)
        if frame is None:
            continue
        if frame["type"] == "ping":
            await _send(websocket, {"type": "pong"})
            continue
        if frame["type"] != "hello":
            await _send(websocket, {"type": "error", "error": "send 'hello' first"})
            continue
        try:
            opened = await _conversation_for(hub, frame, ip)
        except Refused as refused:
            await _send(websocket, {"type": "error", "error": str(refused), "code": refused.code})
            continue
        if isinstance(opened, Pending):
            return await asyncio.to_thread(_pending_welcome, hub, opened), opened
        return await asyncio.to_thread(_welcome, hub, opened), None


def _first_message_conversation(hub: Hub, pending: Pending) -> Callable[[Session], Any]:
    def operation(session: Session) -> tuple[int, list[Event]]:
        conversation, events = intake.conversation_for_token(
            session,
            channel=CHANNEL,
            public_token=pending.public_token,
            language=pending.language,
            language_source=pending.language_source,
        )
        return conversation.id, events

    return operation


# ---- The socket ------------------------------------------------------------------------


class _Socket:
    """One widget socket after its welcome: its conversation (created by the first message
    when the welcome had none), its live frames, its message bucket."""

    def __init__(
        self, websocket: WebSocket, hub: Hub, welcome: WelcomeFrame, pending: Pending | None
    ) -> None:
        self.websocket = websocket
        self.hub = hub
        self.conversation_id: int | None = welcome["conversation"]["id"]
        self.pending = pending
        self.bucket = hub.limits.message_bucket()
        self.queue: asyncio.Queue[WidgetLiveFrame] | None = None
        self.sender: asyncio.Task[None] | None = None
        self.typing_relayed = 0.0
        if self.conversation_id is not None:
            self._subscribe(self.conversation_id)

    def _subscribe(self, conversation_id: int) -> None:
        self.queue = self.hub.broker.subscribe_widget(conversation_id)
        self.sender = asyncio.create_task(_forward(self.websocket, self.queue))

    async def close(self) -> None:
        if self.conversation_id is not None and self.queue is not None:
            self.hub.broker.unsubscribe_widget(self.conversation_id, self.queue)
        if self.sender is not None:
            await cancel_and_wait([self.sender])

    async def conversation(self, frame: dict[str, Any]) -> int:
        """The conversation the message goes to, created now if this is the first one."""
        if self.conversation_id is not None:
            return self.conversation_id
        assert self.pending is not None  # a welcome without an id came from a Pending
        clean_text(frame.get("text"))  # refused messages create nothing
        if frame.get("payload") is not None:
            raise InvalidInput("that choice is not offered (any more); type your question instead")
        conversation_id: int = await self.hub.flow.write(
            _first_message_conversation(self.hub, self.pending)
        )
        self.conversation_id = conversation_id
        self._subscribe(conversation_id)
        return conversation_id

    async def typing(self) -> None:
        now = time.monotonic()
        if self.conversation_id is not None and now - self.typing_relayed >= TYPING_RELAY_SECONDS:
            self.typing_relayed = now
            self.hub.broker.send_to_agents(
                {"type": "typing", "conversation_id": self.conversation_id, "role": "customer"}
            )

    async def message(self, frame: dict[str, Any]) -> None:
        websocket, hub = self.websocket, self.hub
        client_id = frame.get("client_id")
        wait = self.bucket.take()
        if wait > 0:
            # Not stored: the widget keeps it in its outbox and sends it again later.
            refused = rate_refusal(wait, "too many messages; this one was not stored")
            await _send(
                websocket,
                {
                    "type": "error",
                    "error": str(refused),
                    "code": "rate",
                    "client_id": client_id,
                    "retry_after": max(1, math.ceil(wait)),
                },
            )
            return

        async def acknowledge(message: Message, available: bool) -> None:
            await _send(
                websocket,
                {
                    "type": "ack",
                    "client_id": client_id,
                    "message": serializers.message_dict(message),
                    "agents_available": available,
                },
            )

        try:
            conversation_id = await self.conversation(frame)
            await hub.intake.receive_live(
                conversation_id,
                frame.get("text"),
                client_id=client_id,
                button=frame.get("payload"),
                acknowledge=acknowledge,
                process=lambda message: _process(hub, message),
            )
        except InvalidInput as error:
            await _send(websocket, {"type": "error", "error": str(error), "client_id": client_id})


def _peer(websocket: WebSocket) -> str | None:
    return websocket.client.host if websocket.client else None


@router.websocket("/ws/widget")
async def widget_socket(websocket: WebSocket) -> None:
    hub = socket_hub(websocket)
    ip = client_ip(_peer(websocket), websocket.headers, hub.proxies)
    await websocket.accept()
    try:
        welcome, pending = await _hello(websocket, hub, ip)
    except WebSocketDisconnect:
        return
    socket = _Socket(websocket, hub, welcome, pending)
    try:
        await _send(websocket, welcome)
        while True:
            frame = await _receive_frame(websocket)
            if frame is None:
                continue
            kind = frame["type"]
            if kind == "typing":
                await socket.typing()
            elif kind == "ping":
                await _send(websocket, {"type": "pong"})
            elif kind == "message":
                await socket.message(frame)
            else:
                await _send(websocket, {"type": "error", "error": f"unknown frame type {kind!r}"})
    except WebSocketDisconnect:
        pass
    finally:
        await socket.close()


def _form_state(hub: Hub, conversation_id: int) -> str | None:
    with hub.sessions() as session:
        return contact_form(lookups.get_conversation(session, conversation_id))


async def _process(hub: Hub, message: Message) -> None:
    """The bot answers (or people get it); the conversation's widgets see the bot "typing"
    meanwhile, then whether the bot now asks for the contact form."""
    if message.status is not MessageStatus.RECEIVED:
        await hub.flow.process(message)  # with people: nothing for the bot to do
        return
    conversation_id = message.conversation_id
    hub.broker.send_to_widget(conversation_id, {"type": "typing", "role": "bot", "active": True})
    try:
        await hub.flow.process(message)
    finally:
        hub.broker.send_to_widget(
            conversation_id, {"type": "typing", "role": "bot", "active": False}
        )
        try:
            form = await asyncio.to_thread(_form_state, hub, conversation_id)
        except Exception:
            log.exception("could not read the contact-form state of %s", conversation_id)
        else:
            hub.broker.send_to_widget(conversation_id, {"type": "form", "form": form})


async def _forward(websocket: WebSocket, queue: asyncio.Queue[WidgetLiveFrame]) -> None:
    while True:
        frame = await queue.get()
        try:
            await websocket.send_json(frame)
        except Exception:
            log.debug("widget socket closed while sending", exc_info=True)
            return
