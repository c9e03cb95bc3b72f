"""Rasa's socket.io channel, spoken by the hub, for the `rasa-webchat` widget.

A site already running rasa-webchat (or another client of Rasa's `socketio` channel) points
its `socketUrl` at the hub and gets Frontline: the same ConversationFlow as the widget
(stored first, then Rasa, hand-offs, knowledge-base answers with sources), and agents'
replies and system notices in the same chat. Protocol: docs/protocol.md.

The socket.io session id is the conversation's `public_token` (channel "webchat"): the hub
issues it in `session_confirm`, rasa-webchat keeps it in the browser's storage and sends it
again in `session_request` to resume the conversation.

Several hubs (FRONTLINE_REDIS_URL): python-socketio's AsyncRedisManager carries emits to a
client connected to another hub; the conversation is found again from the session id in the
database, and what outlives a connection (replay marks, issued session ids) is in Redis
(api/webchat_memory.py). Per-connection state (`_links`, `_locks`, `_ips`) stays here: a
socket.io connection lives on one hub, and its live frames come through this hub's Broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import socketio
from fastapi import FastAPI
from sqlalchemy.orm import Session

from api import serializers
from api.frames import BotUttered, MessageData, QuickReply, WidgetLiveFrame
from api.hub import Hub
from api.ratelimit import TokenBucket, client_ip
from api.webchat_memory import LocalMemory, WebchatMemory, make_memory
from handoff import intake, lookups
from handoff.client_metadata import MetadataRefused, client_metadata, primary_language
from handoff.errors import InvalidInput, NotFound
from handoff.events import Event
from handoff.text import scrub

log = logging.getLogger(__name__)

CHANNEL = "webchat"
PATH = "/socket.io"  # Rasa's default `socketio_path`, and rasa-webchat's default socketPath
# rasa-webchat sends configured payloads such as its `initPayload` ("/get_started") as
# messages; only the payloads of the bot's latest buttons reach Rasa as intents.
INTENT_PAYLOAD = re.compile(r"^/[A-Za-z_][\w.-]*(\{.*\})?$", re.DOTALL)
NOT_OFFERED = "That choice is not offered any more; please type your question instead."
SOCKETIO_CHANNEL = "frontline:socketio"  # AsyncRedisManager's pub/sub channel

# Every ASCII character Markdown (remark, in rasa-webchat) treats as syntax, escaped with a
# backslash; "&" and "<" become entities, so no entity, HTML tag or autolink can form.
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")


def markdown_text(text: str) -> str:
    """Plain text as Markdown that renders as exactly that text (and line breaks)."""
    text = text.replace("&", "&amp;").replace("<", "&lt;")
    return _MARKDOWN.sub(r"\\\1", text).replace("\n", "  \n")


def source_link(source: Mapping[str, Any]) -> str | None:
    """A knowledge-base source as a Markdown link; only web links, as in the widget."""
    url = source.get("url")
    if not isinstance(url, str) or not re.match(r"^https?://", url, re.IGNORECASE):
        return None
    title = source.get("title") or source.get("article_id") or "article"
    safe_url = quote(url, safe=":/?#@!$&'*+,;=%~[]")  # spaces, (), <> and quotes encoded
    return f"[{markdown_text(str(title))}]({safe_url})"


def bot_uttered(message: Mapping[str, Any]) -> BotUttered:
    """A hub Message (docs/protocol.md) as Rasa's `bot_uttered` for rasa-webchat.

    rasa-webchat shows `{"text"}` and `{"text", "quick_replies"}` only with exactly those
    keys, and renders the text as Markdown: the text is escaped, the sources appended as links.
    """
    text = markdown_text(str(message.get("text") or ""))
    author = message.get("author")
    if message.get("role") == "agent" and isinstance(author, str) and author:
        text = f"**{markdown_text(author)}:** {text}"
    sources = message.get("sources") or []
    links = [link for s in sources if isinstance(s, Mapping) and (link := source_link(s))]
    if links:
        text += "\n\nSource: " + ", ".join(links)
    out: BotUttered = {"text": text}
    replies: list[QuickReply] = [
        {"content_type": "text", "title": b["title"], "payload": b["payload"]}
        for b in message.get("buttons") or []
        if isinstance(b, Mapping)
        and isinstance(b.get("title"), str)
        and isinstance(b.get("payload"), str)
    ]
    if replies:
        out["quick_replies"] = replies
    return out


def _metadata(data: Mapping[str, Any]) -> dict[str, Any] | None:
    """The message's metadata: rasa-webchat's `customData`, or `metadata` (Rasa's default
    `metadata_key`), as an object or a JSON string as Rasa accepts it. Metadata that is not
    kept is logged; the message goes on without it."""
    raw = data.get("customData", data.get("metadata"))
    if raw is None or raw == {}:
        return None
    try:
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError as error:
                raise MetadataRefused(f"metadata is not JSON: {error}") from error
        return client_metadata(raw)
    except MetadataRefused as error:
        log.warning("webchat metadata not kept: %s", error)
        return None


class RateLimited(Exception):
    """A new session or a message refused by a customer rate limit (api/ratelimit.py)."""


@dataclass
class _Link:
    """One socket.io connection bound to one conversation; `conversation_id` None until the
    first message creates it under `session_id` (nothing is stored for a silent visitor)."""

    conversation_id: int | None
    session_id: str
    queue: asyncio.Queue[WidgetLiveFrame] | None
    last_sent: int  # the highest message id this socket has had (or chose to skip)
    bucket: TokenBucket
    task: asyncio.Task[None] | None = field(default=None)


class WebchatChannel:
    """The socket.io server; handlers find the hub on the FastAPI app at event time."""

    def __init__(self, app: FastAPI, redis_url: str = "") -> None:
        self._app = app
        self._redis_url = redis_url
        # Like Rasa's channel, any site may embed the chat: the socket carries no cookie,
        # and the session id it sends is the only key to a conversation.
        self.sio = socketio.AsyncServer(
            async_mode="asgi",
            client_manager=(
                socketio.AsyncRedisManager(redis_url, channel=SOCKETIO_CHANNEL)
                if redis_url
                else None
            ),
            cors_allowed_origins="*",
            cors_credentials=False,
            logger=False,
            engineio_logger=False,
        )
        self._links: dict[str, _Link] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._ips: dict[str, str] = {}
        # Replay marks and issued session ids: shared by the hubs (api/webchat_memory.py).
        self.memory: WebchatMemory = LocalMemory()
        self.sio.on("connect", self._connect)
        self.sio.on("disconnect", self._disconnect)
        self.sio.on("session_request", self._session_request)
        self.sio.on("user_uttered", self._user_uttered)

    async def start(self) -> None:
        """With the app's lifespan: the memory shared with the other hubs, if any."""
        if self._redis_url:
            self.memory = make_memory(self._redis_url)

    async def aclose(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.memory.aclose(), 2)
        self.memory = LocalMemory()
        manager = self.sio.manager
        listener = getattr(manager, "thread", None)  # AsyncRedisManager's pub/sub listener
        if isinstance(listener, asyncio.Task):
            listener.cancel()
            await asyncio.wait([listener], timeout=2)  # a silent Redis cannot hold up shutdown
            redis = getattr(manager, "redis", None)
            if redis is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(redis.aclose(), 2)
            manager.connected = False
            self.sio.manager_initialized = False  # started again by the next connection

    @property
    def hub(self) -> Hub:
        hub: Hub = self._app.state.hub
        return hub

    # ---- socket.io events --------------------------------------------------------------

    async def _connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
        ready = hasattr(self._app.state, "hub")
        if not ready:
            log.warning("webchat connection refused: the hub is not started")
            return False
        scope = environ.get("asgi.scope") or {}
        peer = scope.get("client")
        headers = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])
        }
        self._ips[sid] = client_ip(peer[0] if peer else None, headers, self.hub.proxies)
        return True

    async def _disconnect(self, sid: str, reason: Any = None) -> None:
        self._unbind(sid)
        self._locks.pop(sid, None)
        self._ips.pop(sid, None)

    async def _session_request(self, sid: str, data: Any = None) -> None:
        requested = data.get("session_id") if isinstance(data, dict) else None
        try:
            async with self._lock(sid):
                await self._bind(sid, requested if isinstance(requested, str) else None)
        except RateLimited as limited:
            log.warning("webchat session from %s refused: %s", self._ips.get(sid), limited)
        except Exception:
            log.exception("webchat session_request from %s failed", sid)
        self._forget_lock(sid)

    async def _user_uttered(self, sid: str, data: Any = None) -> None:
        if not isinstance(data, dict):
            return
        try:
            async with self._lock(sid):
                link = self._links.get(sid)
                if link is None:  # a client that never asked for a session
                    requested = data.get("session_id")
                    link = await self._bind(sid, requested if isinstance(requested, str) else None)
                await self._receive(sid, link, data.get("message"), _metadata(data))
        except RateLimited as limited:
            log.warning("webchat message from %s refused: %s", self._ips.get(sid), limited)
            await self._utter(sid, {"text": markdown_text(f"Your message was not sent: {limited}")})
        except Exception:
            log.exception("webchat message from %s failed", sid)
        self._forget_lock(sid)

    # ---- conversations -----------------------------------------------------------------

    def _lock(self, sid: str) -> asyncio.Lock:
        # socket.io runs each event in its own task: one at a time per socket keeps the
        # customer's messages in the order they were sent.
        return self._locks.setdefault(sid, asyncio.Lock())

    def _connected(self, sid: str) -> bool:
        return bool(self.sio.manager.is_connected(sid, "/"))

    def _forget_lock(self, sid: str) -> None:
        if not self._connected(sid):  # an event handled after the disconnect
            self._locks.pop(sid, None)

    def _find(self, session_id: str) -> tuple[int, str] | None:
        with self.hub.sessions() as session:
            conversation = lookups.find_conversation_by_token(session, session_id)
            if conversation is None or conversation.channel != CHANNEL:
                return None
            return conversation.id, conversation.public_token

    async def _create(self, session_id: str) -> int:
        def operation(session: Session) -> tuple[int, list[Event]]:
            conversation, events = intake.conversation_for_token(
                session, channel=CHANNEL, public_token=session_id
            )
            return conversation.id, events

        return await self.hub.flow.write(operation)

    async def _issue(self, sid: str) -> str:
        """A new session id, if the client's address may start a conversation now."""
        wait = self.hub.limits.conversations.take(self._ips.get(sid, "unknown"))
        if wait > 0:
            raise RateLimited(
                f"too many new conversations from your address; try again in"
                f" {max(1, math.ceil(wait))} s"
            )
        session_id = intake.new_public_token()
        await self.memory.issue(session_id)
        return session_id

    def _last_id(self, conversation_id: int) -> int:
        with self.hub.sessions() as session:
            return lookups.last_message_id(session, conversation_id)

    async def _bind(self, sid: str, requested: str | None) -> _Link:
        """Resume the requested conversation, or start one (an unknown id starts one too:
        the client is told the new id and rasa-webchat starts a new session with it)."""
        found = await asyncio.to_thread(self._find, requested) if requested else None
        conversation_id: int | None
        if found is None:
            # Nothing is stored until the first message (`_receive`); a session id a hub
            # issued and nobody used yet is resumed without a new token.
            if requested is not None and await self.memory.was_issued(requested):
                session_id = requested
            else:
                session_id = await self._issue(sid)
            conversation_id = None
            baseline = 0
        else:
            conversation_id, session_id = found
            # Replay what was stored since this conversation's last delivery by any hub;
            # when nothing is known (one hub restarted) the client keeps its own history.
            known = await self.memory.delivered(conversation_id)
            baseline = (
                known
                if known is not None
                else await asyncio.to_thread(self._last_id, conversation_id)
            )
        self._unbind(sid)
        link = _Link(
            conversation_id,
            session_id,
            None,
            last_sent=baseline,
            bucket=self.hub.limits.message_bucket(),
        )
        self._links[sid] = link
        if not self._connected(sid):  # gone while the conversation was looked up
            self._unbind(sid)
            return link
        # Rasa answers with the bare id; rasa-webchat accepts that or {"session_id": id}.
        await self.sio.emit("session_confirm", session_id, to=sid)
        if conversation_id is not None:
            self._follow(sid, link, conversation_id)
        return link

    def _follow(self, sid: str, link: _Link, conversation_id: int) -> None:
        """Live frames of the conversation to this socket from now on."""
        link.conversation_id = conversation_id
        link.queue = self.hub.broker.subscribe_widget(conversation_id)
        link.task = asyncio.create_task(self._forward(sid, link))

    def _unbind(self, sid: str) -> None:
        link = self._links.pop(sid, None)
        if link is None:
            return
        if link.conversation_id is not None and link.queue is not None:
            self.hub.broker.unsubscribe_widget(link.conversation_id, link.queue)
        if link.task is not None:
            link.task.cancel()

    def _choice(self, conversation_id: int, text: str) -> tuple[str, str | None, bool]:
        """(text to store, button payload or None, whether the conversation has messages).

        rasa-webchat sends a chosen quick reply's payload as the message: when it is one of
        the bot's latest buttons it is stored like the widget's choice (title and payload).
        """
        with self.hub.sessions() as session:
            for button in lookups.offered_buttons(session, conversation_id):
                if button.get("payload") == text and isinstance(button.get("title"), str):
                    return button["title"], text, True
            return text, None, lookups.last_message_id(session, conversation_id) > 0

    async def _receive(
        self, sid: str, link: _Link, text: object, metadata: dict[str, Any] | None
    ) -> None:
        if not isinstance(text, str) or not text.strip():
            return
        wait = link.bucket.take()
        if wait > 0:  # not stored; the customer is told, and may send it again
            raise RateLimited(
                f"too many messages; wait {max(1, math.ceil(wait))} s and send it again"
            )
        text = scrub(text)  # NUL and lone surrogates (handoff.text)
        if link.conversation_id is None:
            if INTENT_PAYLOAD.match(text.strip()):
                return  # rasa-webchat's initPayload: not the customer's words, nothing to store
            await self.memory.forget_issued(link.session_id)
            self._follow(sid, link, await self._create(link.session_id))
        assert link.conversation_id is not None
        body, button, started = await asyncio.to_thread(self._choice, link.conversation_id, text)
        if button is None and INTENT_PAYLOAD.match(text.strip()):
            # A configured payload (initPayload, tooltipPayload) or a stale quick reply:
            # never an intent Rasa should see, and not the customer's words.
            if started:
                await self._utter(sid, {"text": markdown_text(NOT_OFFERED)})
            return
        flow = self.hub.flow
        language = primary_language((metadata or {}).get("language"))
        if language is not None:
            await flow.run(
                intake.set_language, conversation_id=link.conversation_id, language=language
            )
        try:
            await self.hub.intake.receive_live(
                link.conversation_id, body, button=button, metadata=metadata
            )
        except (InvalidInput, NotFound) as error:
            notice = f"Your message was not sent: {error}"
            await self._utter(sid, {"text": markdown_text(notice)})

    # ---- to the client -----------------------------------------------------------------

    async def _utter(self, sid: str, frame: BotUttered) -> None:
        await self.sio.emit("bot_uttered", frame, to=sid)

    def _messages_after(self, conversation_id: int, after: int) -> list[MessageData]:
        with self.hub.sessions() as session:
            rows = lookups.messages_after(session, conversation_id, after)
            return [serializers.message_dict(m) for m in rows]

    async def _forward(self, sid: str, link: _Link) -> None:
        try:
            assert link.conversation_id is not None and link.queue is not None
            missed = await asyncio.to_thread(
                self._messages_after, link.conversation_id, link.last_sent
            )
            for message in missed:
                await self._send(sid, link, message)
            while True:
                frame = await link.queue.get()
                if frame["type"] == "message":
                    await self._send(sid, link, frame["message"])
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("webchat forwarding to %s stopped", sid)

    async def _send(self, sid: str, link: _Link, message: MessageData) -> None:
        message_id = int(message["id"])
        if message_id <= link.last_sent:
            return  # caught up already, or the broker sent it twice
        link.last_sent = message_id
        if message.get("role") != "customer":  # rasa-webchat shows the customer's own
            await self._utter(sid, bot_uttered(message))
        if link.conversation_id is None:
            return
        await self.memory.note_delivered(link.conversation_id, message_id)


def asgi_app(app: FastAPI, redis_url: str = "") -> socketio.ASGIApp:
    """The channel as an ASGI app to mount at PATH (the mount does the routing); the
    channel itself is `app.state.webchat` (started and closed by the app's lifespan)."""
    channel = WebchatChannel(app, redis_url)
    app.state.webchat = channel
    return socketio.ASGIApp(channel.sio, socketio_path=None)
