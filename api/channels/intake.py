"""One intake for every channel: verify → inbound event log (stored once) → acknowledge →
the same conversation flow as the widget. Live channels (the widget, rasa-webchat) come in
through `receive_live`; webhook and mailbox channels through `accept` and `poll_forever`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy.orm import Session

from api.channels.base import Answer, Channel, InboundMessage, InboundRequest, Refused
from api.dialogue import ConversationFlow
from handoff import inbound
from handoff.db import transaction
from handoff.errors import InvalidInput
from handoff.events import Event
from handoff.models import Message, utcnow
from handoff.states import MessageStatus

log = logging.getLogger(__name__)


class Spawner(Protocol):
    def spawn(self, work: Any) -> None: ...


class Poller(Protocol):
    """A channel that fetches its events (a mailbox) instead of receiving webhooks."""

    name: str
    poll_seconds: float

    async def fetch(self) -> Sequence[InboundMessage]: ...

    async def done(self, event: InboundMessage) -> None: ...


class ChannelIntake:
    def __init__(
        self,
        flow: ConversationFlow,
        channels: Mapping[str, Channel],
        spawner: Spawner,
    ) -> None:
        self._flow = flow
        self._channels = channels
        self._spawner = spawner

    # ---- webhooks ---------------------------------------------------------------------

    async def accept(self, name: str, request: InboundRequest) -> Answer:
        """Answer one webhook request: nothing is stored unless it is verified."""
        channel = self._channels.get(name)
        if channel is None:
            raise Refused(404, f"channel {name!r} is not configured")
        if request.method == "GET":
            answer = channel.handshake(request)
            if answer is None:
                raise Refused(405, "this channel takes POST")
            return answer
        # In a worker thread: a check may fetch keys (Teams' OpenID keys) on a cache miss.
        await asyncio.to_thread(channel.verify, request)
        answer = channel.handshake(request)
        if answer is not None:
            return answer
        events = channel.parse(request)
        await self.store_and_process(channel, events)
        return Answer(200, "ok")

    async def store_and_process(self, channel: Channel, events: Sequence[InboundMessage]) -> int:
        """Store each event (a repeat is stored once), then process the new ones in the
        background: the platform gets its 2xx without waiting for the bot."""
        stored = await asyncio.to_thread(self._record, channel.name, events)
        for row_id, event in stored:
            self._spawner.spawn(self.process(channel, row_id, event))
        return len(stored)

    def _record(
        self, name: str, events: Sequence[InboundMessage]
    ) -> list[tuple[int, InboundMessage]]:
        stored: list[tuple[int, InboundMessage]] = []
        with transaction(self._flow.sessions) as session:
            for event in events:
                row, _ = inbound.record_event(
                    session,
                    channel=name,
                    external_id=event.event_id,
                    kind=event.kind,
                    data=event.to_json(),
                )
                if row is not None:
                    stored.append((row.id, event))
        return stored

    async def process(self, channel: Channel, row_id: int, event: InboundMessage) -> None:
        if event.kind == "status":  # a delivery report on one of our messages
            await self._status(channel, row_id, event)
            return
        try:
            event = await channel.after_accept(event) or event
        except Exception as error:  # a courtesy to the platform; the message matters more
            log.warning("%s: after_accept failed: %s", channel.name, error)
        try:
            message = await self._flow.write(lambda s: self._accept(s, row_id, event))
        except InvalidInput as error:
            await self._flow.run(inbound.fail_event, event_id=row_id, error=str(error))
            log.warning("%s event %s not usable: %s", channel.name, event.event_id, error)
            return
        except Exception as error:
            log.exception("%s event %s failed", channel.name, event.event_id)
            await self._flow.run(inbound.fail_event, event_id=row_id, error=repr(error))
            return
        if message is None or message.status is not MessageStatus.RECEIVED:
            return
        if channel.capabilities.bot:
            await self._flow.process(message)
        else:
            await self._flow.to_people(message, reason=f"{channel.name}_received")

    async def _status(self, channel: Channel, row_id: int, event: InboundMessage) -> None:
        """A delivery report: `InboundMessage(kind="status", extra={"status_of": <the
        platform's id of our message>, "status": "sent"|"delivered"|"read"|"failed",
        "reason": str | None})` moves that message's delivery forward (handoff.outbox.
        mark_status); it never becomes a message."""
        try:
            await self._flow.run(
                inbound.accept_status,
                event_id=row_id,
                status_of=str(event.extra.get("status_of") or ""),
                status=str(event.extra.get("status") or ""),
                reason=event.extra.get("reason"),
            )
        except Exception as error:
            log.warning("%s status %s not applied: %s", channel.name, event.event_id, error)
            await self._flow.run(inbound.fail_event, event_id=row_id, error=repr(error))

    def _accept(
        self, session: Session, row_id: int, event: InboundMessage
    ) -> tuple[Message | None, list[Event]]:
        return inbound.accept_event(
            session,
            event_id=row_id,
            thread_id=event.thread_id,
            user_id=event.user_id,
            text=event.text,
            kind=event.kind,
            choice=event.choice,
            name=event.profile.name,
            email=event.profile.email,
            phone=event.profile.phone,
            language=event.profile.language,
            attachments=[vars(a) for a in event.attachments],
            extra=event.extra,
            rules=self._flow.rules,
        )

    async def recover(self, older_than: float | None = None) -> int:
        """Events stored but never processed (their hub stopped in between): at start all
        of them; in the hubs' periodic recovery, those stored over `older_than` s ago."""
        before = None if older_than is None else utcnow() - timedelta(seconds=older_than)

        def load() -> list[tuple[str, int, dict[str, Any]]]:
            with self._flow.sessions() as session:
                return [
                    (r.channel, r.id, r.data)
                    for r in inbound.pending_events(session, before=before)
                ]

        pending = await asyncio.to_thread(load)
        for name, row_id, data in pending:
            channel = self._channels.get(name)
            if channel is not None:
                self._spawner.spawn(self.process(channel, row_id, InboundMessage.from_json(data)))
        return len(pending)

    # ---- mailboxes --------------------------------------------------------------------

    async def poll_forever(self, poller: Poller) -> None:
        channel = self._channels[poller.name]
        while True:
            try:
                events = await poller.fetch()
                await self.store_and_process(channel, events)
                for event in events:  # stored: now it may leave the mailbox's "new" list
                    await poller.done(event)
            except Exception:
                log.exception("%s: polling failed; trying again", poller.name)
            await asyncio.sleep(poller.poll_seconds)

    # ---- live channels ----------------------------------------------------------------

    async def receive_live(
        self,
        conversation_id: int,
        text: object,
        *,
        client_id: str | None = None,
        button: object = None,
        metadata: Mapping[str, Any] | None = None,
        acknowledge: Callable[[Message, bool], Awaitable[None]] | None = None,
        process: Callable[[Message], Awaitable[None]] | None = None,
    ) -> Message:
        """A message from an open socket (the widget, rasa-webchat): stored first (a
        re-sent client id is the same message; raises InvalidInput when unusable), then
        `acknowledge`d to the client with whether someone can take the conversation now,
        then processed in the background (`process`, by default the conversation flow),
        which outlives the socket: the customer may close the tab mid-answer, or the
        connection may drop before the ack is out."""
        message, agents_available = await self._flow.receive_and_check(
            conversation_id, text, client_id=client_id, button=button, metadata=metadata
        )
        try:
            if acknowledge is not None:
                await acknowledge(message, agents_available)
        finally:
            self._spawner.spawn((process or self._flow.process)(message))
        return message
