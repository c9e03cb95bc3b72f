"""The outbox worker: sends what handoff.outbox says is due, one message at a time per
conversation, at most `rate` a second per channel, and records how each send went."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from api.channels.base import Button, Channel, OutboundMessage, Outcome, SendResult
from api.dialogue import ConversationFlow
from handoff import outbox
from handoff.db import transaction
from handoff.lookups import (
    inbound_events_of,
    last_customer_message_at,
    latest_ticket,
    sent_external_ids,
)
from handoff.models import Delivery

log = logging.getLogger(__name__)

# Messages a second per channel, below the platforms' published limits (Telegram ~30/s).
DEFAULT_RATE = 20.0


@dataclass
class _Bucket:
    """A token bucket: `rate` sends a second, bursts up to `rate`."""

    rate: float
    tokens: float = 0.0
    stamp: float = 0.0

    async def take(self) -> None:
        while True:
            now = time.monotonic()
            self.tokens = min(self.rate, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                return
            await asyncio.sleep((1 - self.tokens) / self.rate)


class OutboxWorker:
    def __init__(
        self,
        flow: ConversationFlow,
        channels: Mapping[str, Channel],
        *,
        interval: float = 1.0,
        rates: Mapping[str, float] | None = None,
        claim_seconds: float = 120.0,
    ) -> None:
        self._flow = flow
        self._channels = channels
        self._interval = interval
        # Long enough for the rate limit's wait and the platform's answer: another hub
        # takes a claimed row only after this (its claimer died mid-send).
        self._lease = timedelta(seconds=claim_seconds)
        self._buckets = {
            name: _Bucket((rates or {}).get(name, DEFAULT_RATE), tokens=1.0, stamp=time.monotonic())
            for name in channels
        }

    async def run_forever(self) -> None:
        while True:
            try:
                await self.deliver_due()
            except Exception:  # the outbox must outlive a bad row or a locked database
                log.exception("outbox pass failed")
            await asyncio.sleep(self._interval)

    async def deliver_due(self) -> int:
        """One pass: the head of each conversation's queue, claimed (so no other hub sends
        it too), then sent side by side."""
        due = await asyncio.to_thread(self._claim_due)
        unsettled = {delivery_id for delivery_id, _ in due}

        async def deliver(delivery_id: int, message: OutboundMessage | None) -> Outcome:
            outcome = await self._deliver(delivery_id, message)
            unsettled.discard(delivery_id)
            return outcome

        try:
            results = await asyncio.gather(*(deliver(d, m) for d, m in due))
        except asyncio.CancelledError:  # the hub stops: what was not sent is due again now
            if unsettled:
                await self._flow.run(
                    outbox.release, delivery_ids=sorted(unsettled), now=datetime.now(UTC)
                )
            raise
        return sum(1 for r in results if r is Outcome.SENT)

    def _claim_due(self) -> list[tuple[int, OutboundMessage | None]]:
        out: list[tuple[int, OutboundMessage | None]] = []
        with transaction(self._flow.sessions) as session:
            rows = outbox.claim_due(session, now=datetime.now(UTC), lease=self._lease)
            for row in rows:
                out.append((row.id, _outbound(session, row)))
        return out

    async def _deliver(self, delivery_id: int, message: OutboundMessage | None) -> Outcome:
        if message is None:
            result = SendResult.failed("the message has no chat to go to")
        else:
            channel = self._channels.get(message.context.get("channel", ""))
            if channel is None:
                result = SendResult.retry("the channel is not configured on this hub")
            else:
                await self._buckets[channel.name].take()
                try:
                    result = await channel.send(message)
                except Exception as error:  # an adapter bug must not stop the outbox
                    log.exception("%s: send failed", channel.name)
                    result = SendResult.retry(f"send raised {error!r}")
        if result.outcome is Outcome.SENT:
            await self._flow.run(
                outbox.mark_sent, delivery_id=delivery_id, external_id=result.external_id
            )
        elif result.outcome is Outcome.RETRY:
            await self._flow.run(
                outbox.mark_retry,
                delivery_id=delivery_id,
                reason=result.reason or "retry",
                retry_after=result.retry_after,
            )
        else:
            log.warning("delivery %s failed for good: %s", delivery_id, result.reason)
            await self._flow.run(
                outbox.mark_failed, delivery_id=delivery_id, reason=result.reason or "failed"
            )
        return result.outcome


def _outbound(session: Session, row: Delivery) -> OutboundMessage | None:
    """What the adapter needs: the message, its choices and sources, the chat, and the
    thread's context (ticket number, subject, the platform ids to reply to)."""
    message = row.message
    conversation = row.conversation
    if conversation.external_id is None:
        return None
    payload = message.payload or {}
    buttons = tuple(
        Button(str(b.get("title", "")), str(b.get("payload", "")))
        for b in payload.get("buttons", [])
        if isinstance(b, dict)
    )
    sources = tuple(s for s in payload.get("sources", []) if isinstance(s, dict))
    ticket = latest_ticket(conversation)
    received = inbound_events_of(session, conversation.id)
    sent = sent_external_ids(session, conversation.id)
    first = received[0].data if received else {}
    last_customer = last_customer_message_at(session, conversation.id)
    # The latest conversation reference a platform gave (Teams: serviceUrl, bot, tenant):
    # what a reply needs, however long after the customer wrote.
    reference = next(
        (
            (r.data.get("extra") or {})["reference"]
            for r in reversed(received)
            if isinstance(r.data, dict) and (r.data.get("extra") or {}).get("reference")
        ),
        None,
    )
    return OutboundMessage(
        thread_id=conversation.external_id,
        text=message.text,
        role=message.role.value,
        message_id=message.id,
        conversation_id=conversation.id,
        author=message.agent.name if message.agent else None,
        buttons=buttons,
        sources=sources,
        context={
            "channel": row.channel,
            # The channel's own words around the text (render.py) are in the customer's.
            "language": conversation.language,
            "ticket_number": ticket.number if ticket else None,
            "subject": (first.get("extra") or {}).get("subject")
            or (ticket.subject if ticket else None),
            "received_ids": [r.external_id for r in received][-20:],
            "sent_ids": sent[-20:],
            "customer_address": (first.get("profile") or {}).get("email"),
            # The platform facts of the newest message received (LINE's reply token).
            "latest_extra": dict((received[-1].data.get("extra") or {}) if received else {}),
            # For platforms with a customer-service window (Messenger's message tags).
            "customer_last_at": last_customer.isoformat() if last_customer else None,
            # An agent's "send template" action (WhatsApp outside the 24-hour window).
            "template": payload.get("template"),
            "reference": reference,
        },
    )
