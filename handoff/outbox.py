"""The outbox: replies that leave by a channel's API, delivered in order per conversation,
retried with backoff, and marked failed for good with the reason.

Rows are queued by handoff.messages.add_message in the transaction that stores the
message; a worker in the hub takes the due ones (`due`), sends them, and records the
outcome here. Rows, not memory: a restarted hub finds what is left and sends it.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from handoff.errors import NotFound
from handoff.events import Event, message_created
from handoff.models import Delivery, utcnow
from handoff.states import DeliveryStatus

# After this many failed tries a message is failed for good (about a day of backoff).
MAX_ATTEMPTS = 12
BASE_DELAY = 2.0
MAX_DELAY = 3600.0


def backoff(
    attempts: int, *, retry_after: float | None = None, rng: random.Random | None = None
) -> float:
    """Seconds until the next try: what the platform asked for, else exponential with full
    jitter (so a burst of failures does not retry in lockstep)."""
    if retry_after is not None and retry_after >= 0:
        return min(retry_after, MAX_DELAY)
    ceiling = min(MAX_DELAY, BASE_DELAY * 2 ** max(0, attempts - 1))
    return (rng or random).uniform(ceiling / 2, ceiling)


def due(session: Session, *, now: datetime, limit: int = 50) -> Sequence[Delivery]:
    """The next message of each conversation whose turn has come.

    Only the oldest queued row of a conversation may go: a later reply must not overtake
    one that waits for a retry, and one conversation's failures hold up no other."""
    heads = (
        select(Delivery.conversation_id, Delivery.id)
        .where(Delivery.status == DeliveryStatus.QUEUED)
        .order_by(Delivery.id)
    )
    first: dict[int, int] = {}
    for conversation_id, delivery_id in session.execute(heads):
        first.setdefault(conversation_id, delivery_id)
    if not first:
        return []
    rows = session.scalars(
        select(Delivery)
        .where(Delivery.id.in_(list(first.values())))
        .where(Delivery.next_attempt_at <= now)
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
    ).all()
    return rows


def claim_due(
    session: Session, *, now: datetime, lease: timedelta, limit: int = 50
) -> Sequence[Delivery]:
    """`due`, claimed for this worker: the rows' next try moves `lease` ahead in this
    transaction, so no other worker (another hub) takes them while this one sends them
    outside it; the outcome (mark_sent / mark_retry / mark_failed) settles the row, and a
    worker that died mid-send leaves it due again once the lease has passed.

    PostgreSQL: the rows are locked FOR UPDATE SKIP LOCKED, so two workers claiming at once
    take different rows without waiting. SQLite (one writer at a time): the conditional
    UPDATE below is the claim; a row another worker claimed first is left out."""
    heads = [row.id for row in due(session, now=now, limit=limit)]
    if not heads:
        return []
    locked = session.scalars(
        select(Delivery.id)
        .where(Delivery.id.in_(heads))
        .with_for_update(skip_locked=True)  # SQLite renders no FOR UPDATE; its writer lock
    ).all()
    claimed: list[int] = []
    for delivery_id in locked:
        result = session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id)
            .where(Delivery.status == DeliveryStatus.QUEUED)
            .where(Delivery.next_attempt_at <= now)
            .values(next_attempt_at=now + lease)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            claimed.append(delivery_id)
    if not claimed:
        return []
    return session.scalars(
        select(Delivery)
        .where(Delivery.id.in_(claimed))
        .order_by(Delivery.id)
        .execution_options(populate_existing=True)
    ).all()


def release(
    session: Session, *, delivery_ids: Sequence[int], now: datetime
) -> tuple[int, list[Event]]:
    """Claims given back unsent (the hub stops): the rows are due again at once."""
    result = session.execute(
        update(Delivery)
        .where(Delivery.id.in_(list(delivery_ids)))
        .where(Delivery.status == DeliveryStatus.QUEUED)
        .values(next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount), []  # type: ignore[attr-defined]


def _delivery(session: Session, delivery_id: int) -> Delivery:
    row = session.get(Delivery, delivery_id)
    if row is None:
        raise NotFound(f"delivery {delivery_id} not found")
    return row


def _changed(row: Delivery) -> list[Event]:
    # The console shows a message's delivery: republishing the message updates it.
    return [message_created(row.conversation_id, row.message_id)]


def mark_sent(
    session: Session, *, delivery_id: int, external_id: str | None, now: datetime | None = None
) -> tuple[Delivery, list[Event]]:
    row = _delivery(session, delivery_id)
    if row.status is not DeliveryStatus.QUEUED:
        return row, []
    row.status = row.status.transition(DeliveryStatus.SENT)
    row.external_id = external_id
    row.attempts += 1
    row.error = None
    row.updated_at = now or utcnow()
    return row, _changed(row)


def mark_retry(
    session: Session,
    *,
    delivery_id: int,
    reason: str,
    retry_after: float | None = None,
    now: datetime | None = None,
) -> tuple[Delivery, list[Event]]:
    """A try failed for now: try again later, or give up after MAX_ATTEMPTS."""
    now = now or utcnow()
    row = _delivery(session, delivery_id)
    if row.status is not DeliveryStatus.QUEUED:
        return row, []
    row.attempts += 1
    row.error = reason[:2000]
    row.updated_at = now
    if row.attempts >= MAX_ATTEMPTS:
        row.status = row.status.transition(DeliveryStatus.FAILED)
        row.error = f"gave up after {row.attempts} tries: {reason}"[:2000]
        return row, _changed(row)
    row.next_attempt_at = now + timedelta(seconds=backoff(row.attempts, retry_after=retry_after))
    return row, []


def mark_failed(
    session: Session, *, delivery_id: int, reason: str, now: datetime | None = None
) -> tuple[Delivery, list[Event]]:
    """Failed for good (blocked, unknown chat, window closed): shown in the console."""
    row = _delivery(session, delivery_id)
    if row.status is not DeliveryStatus.QUEUED:
        return row, []
    row.attempts += 1
    row.status = row.status.transition(DeliveryStatus.FAILED)
    row.error = reason[:2000]
    row.updated_at = now or utcnow()
    return row, _changed(row)


def mark_status(
    session: Session,
    *,
    channel: str,
    external_id: str,
    status: DeliveryStatus,
    reason: str | None = None,
) -> tuple[Delivery | None, list[Event]]:
    """A platform's later report on a sent message (delivered, read, failed)."""
    row = session.scalar(
        select(Delivery).where(Delivery.channel == channel, Delivery.external_id == external_id)
    )
    if row is None or not row.status.can_become(status):
        return row, []
    row.status = status
    if reason:
        row.error = reason[:2000]
    row.updated_at = utcnow()
    return row, _changed(row)
