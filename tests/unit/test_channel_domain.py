"""The inbound event log and the outbox, on a real database (rolled back per test)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handoff import agent_actions, agents, inbound, outbox, replies, tickets
from handoff.models import Delivery, InboundEvent, utcnow
from handoff.states import DeliveryStatus, InboundStatus, MessageRole, MessageStatus


def record(session: Session, external_id: str = "1") -> int | None:
    row, _ = inbound.record_event(
        session, channel="telegram", external_id=external_id, kind="message", data={}
    )
    return row.id if row else None


def accept(session: Session, event_id: int, text: str = "How do I export?", **kw: object):
    return inbound.accept_event(
        session, event_id=event_id, thread_id="chat-9", user_id="u-9", text=text, **kw
    )


def test_an_event_delivered_three_times_is_stored_once(session: Session) -> None:
    first = record(session, "280069275")
    assert first is not None
    assert record(session, "280069275") is None and record(session, "280069275") is None
    count = session.scalar(select(func.count()).select_from(InboundEvent))
    assert count == 1
    message, _ = accept(session, first, name="Martin Man", language="de")
    again, events = accept(session, first)
    assert message is not None and again is not None and again.id == message.id and events == []
    conversation = message.conversation
    assert (conversation.channel, conversation.external_id, conversation.language) == (
        "telegram",
        "chat-9",
        "de",
    )
    assert conversation.contact.name == "Martin Man"
    assert message.status is MessageStatus.RECEIVED  # for the bot to answer


def test_the_same_chat_is_one_conversation_and_numbers_choose_buttons(session: Session) -> None:
    first, _ = accept(session, record(session, "1"))
    assert first is not None
    replies.record_bot_replies(
        session,
        conversation_id=first.conversation_id,
        replies=[
            replies.BotReply(
                "Which one?",
                {
                    "buttons": [
                        {"title": "Reset", "payload": "/a"},
                        {"title": "Export", "payload": "/b"},
                    ]
                },
            )
        ],
        answering_message_id=first.id,
    )
    chosen, _ = accept(session, record(session, "2"), text="2")
    assert chosen is not None and chosen.conversation_id == first.conversation_id
    assert chosen.payload["button"] == "/b"
    pressed, _ = accept(session, record(session, "3"), text="Reset", kind="button", choice="#0")
    assert pressed is not None and pressed.payload["button"] == "/a"
    stale, _ = accept(session, record(session, "4"), text="Old", kind="button", choice="#9")
    assert stale is not None and "button" not in stale.payload  # kept as text


def test_edits_are_notes_and_unknown_updates_are_ignored(session: Session) -> None:
    edit, _ = accept(session, record(session, "5"), text="Hello!", kind="edit")
    assert edit is not None and edit.status is MessageStatus.PROCESSED
    assert edit.text == "(edited) Hello!" and edit.payload["edit"] is True
    skipped = record(session, "6")
    assert skipped is not None
    message, _ = inbound.accept_event(
        session, event_id=skipped, thread_id="", user_id="", text="", kind="ignored"
    )
    assert message is None
    assert session.get(InboundEvent, skipped).status is InboundStatus.IGNORED  # type: ignore[union-attr]


def test_replies_on_a_channel_conversation_are_queued_with_the_message(session: Session) -> None:
    message, _ = accept(session, record(session, "7"))
    assert message is not None
    stored, _ = replies.record_bot_replies(
        session,
        conversation_id=message.conversation_id,
        replies=[replies.BotReply("One"), replies.BotReply("Two")],
    )
    queued = session.scalars(select(Delivery).order_by(Delivery.id)).all()
    assert [d.message_id for d in queued] == [m.id for m in stored]
    assert all(d.status is DeliveryStatus.QUEUED for d in queued)
    assert (
        session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.message_id == message.id)
        )
        == 0
    )  # the customer's own message is not sent back


def test_outbox_in_order_per_conversation_with_retries_and_failures(session: Session) -> None:
    now = utcnow()
    a, _ = accept(session, record(session, "8"))
    assert a is not None
    stored, _ = replies.record_bot_replies(
        session,
        conversation_id=a.conversation_id,
        replies=[replies.BotReply("1"), replies.BotReply("2")],
    )
    other, _ = inbound.accept_event(
        session, event_id=record(session, "9") or 0, thread_id="chat-10", user_id="u-10", text="hi"
    )
    assert other is not None
    [third], _ = replies.record_bot_replies(
        session, conversation_id=other.conversation_id, replies=[replies.BotReply("3")]
    )
    due = outbox.due(session, now=now + timedelta(seconds=1))
    assert sorted(d.message_id for d in due) == sorted([stored[0].id, third.id])

    head = next(d for d in due if d.message_id == stored[0].id)
    outbox.mark_retry(session, delivery_id=head.id, reason="429", retry_after=30, now=now)
    later = {d.message_id for d in outbox.due(session, now=now + timedelta(seconds=5))}
    assert stored[1].id not in later and stored[0].id not in later  # nothing overtakes it
    assert third.id in later  # and it holds up no other conversation
    back = {d.message_id for d in outbox.due(session, now=now + timedelta(seconds=31))}
    assert stored[0].id in back
    outbox.mark_sent(session, delivery_id=head.id, external_id="591")
    assert stored[1].id in {
        d.message_id for d in outbox.due(session, now=now + timedelta(seconds=31))
    }

    blocked = next(d for d in due if d.message_id == third.id)
    outbox.mark_failed(session, delivery_id=blocked.id, reason="the customer blocked the bot")
    assert (
        blocked.status is DeliveryStatus.FAILED and blocked.error == "the customer blocked the bot"
    )
    for _ in range(outbox.MAX_ATTEMPTS):
        row = session.get(Delivery, stored[1].delivery.id)  # type: ignore[union-attr]
        assert row is not None
        outbox.mark_retry(session, delivery_id=row.id, reason="timeout", now=now)
    assert row.status is DeliveryStatus.FAILED and "gave up" in (row.error or "")


def test_backoff_grows_with_jitter_and_honours_retry_after() -> None:
    assert outbox.backoff(3, retry_after=12) == 12
    delays = [outbox.backoff(n) for n in range(1, 8)]
    assert all(outbox.BASE_DELAY / 2 <= d <= outbox.MAX_DELAY for d in delays)
    assert outbox.backoff(7) > outbox.backoff(1)


def test_agent_replies_and_hand_off_notices_leave_by_the_outbox(session: Session) -> None:
    message, _ = accept(session, record(session, "11"))
    assert message is not None
    agent, _ = agents.create_agent(
        session, email="d@x.io", name="Dana", password="long enough secret"
    )
    tickets.hand_off(session, conversation_id=message.conversation_id, reason="customer_request")
    agent_actions.take_over(session, conversation_id=message.conversation_id, agent_id=agent.id)
    reply, _ = agent_actions.post_agent_message(
        session, conversation_id=message.conversation_id, agent_id=agent.id, text="Hi!"
    )
    roles = [
        d.message.role
        for d in session.scalars(
            select(Delivery)
            .where(Delivery.conversation_id == message.conversation_id)
            .order_by(Delivery.id)
        )
    ]
    assert roles == [MessageRole.SYSTEM, MessageRole.SYSTEM, MessageRole.AGENT]
    assert reply.delivery is not None


@pytest.mark.parametrize("status", [DeliveryStatus.DELIVERED, DeliveryStatus.READ])
def test_platform_reports_move_a_sent_message_forward(
    session: Session, status: DeliveryStatus
) -> None:
    message, _ = accept(session, record(session, "12"))
    assert message is not None
    [bot], _ = replies.record_bot_replies(
        session, conversation_id=message.conversation_id, replies=[replies.BotReply("x")]
    )
    assert bot.delivery is not None
    outbox.mark_sent(session, delivery_id=bot.delivery.id, external_id="wamid.1")
    row, _ = outbox.mark_status(session, channel="telegram", external_id="wamid.1", status=status)
    assert row is not None and row.status is status
    stale, events = outbox.mark_status(
        session, channel="telegram", external_id="wamid.1", status=DeliveryStatus.SENT
    )
    assert stale is not None and stale.status is status and events == []


def test_a_bounce_marks_the_returned_mail_not_delivered(session: Session) -> None:
    message, _ = accept(session, record(session, "13"))
    assert message is not None
    [bot], _ = replies.record_bot_replies(
        session, conversation_id=message.conversation_id, replies=[replies.BotReply("x")]
    )
    assert bot.delivery is not None
    outbox.mark_sent(session, delivery_id=bot.delivery.id, external_id="<ours-1@example.test>")
    bounce = record(session, "14")
    assert bounce is not None
    inbound.accept_event(
        session,
        event_id=bounce,
        thread_id="",
        user_id="",
        text="",
        kind="ignored",
        extra={"bounced_ids": ["<ours-1@example.test>"]},
    )
    assert bot.delivery.status is DeliveryStatus.FAILED
    assert "bounced" in (bot.delivery.error or "")
