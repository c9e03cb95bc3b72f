"""api/live.py builds a committed event's frames only for who listens on this hub: a
conversation's state for its open widgets, its summary for agents' consoles."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.orm import Session, sessionmaker

from api import serializers
from api.live import Broker, Delivery, Listening
from handoff import intake
from handoff.events import Event, conversation_changed
from handoff.models import Message


def test_frames_are_built_only_for_who_listens(session: Session) -> None:
    conversation, _ = intake.open_conversation(session, channel="widget")
    session.flush()
    # The broker's own sessions, on the test's connection (its writes are rolled back).
    broker = Broker(
        sessionmaker(bind=session.connection(), join_transaction_mode="create_savepoint")
    )
    events = [conversation_changed(conversation.id)]

    [(_, state, summary)] = broker._frames(events, Listening(agents=False, widgets=frozenset()))
    assert state is None and summary is None

    everyone = Listening(agents=True, widgets=frozenset({conversation.id}))
    [(conversation_id, state, summary)] = broker._frames(events, everyone)
    assert conversation_id == conversation.id
    assert state is not None and state["type"] == "state"
    assert summary is not None and summary["type"] == "conversation"

    # Without a snapshot (None): every frame, as before.
    [(_, state, summary)] = broker._frames(events)
    assert state is not None and summary is not None


def test_frames_built_in_their_transaction_match_those_read_after_it(session: Session) -> None:
    conversation, _ = intake.open_conversation(session, channel="widget")
    _, events = intake.receive_customer_message(
        session, conversation_id=conversation.id, text="Where is my invoice?", client_id="c1"
    )
    broker = Broker(
        sessionmaker(bind=session.connection(), join_transaction_mode="create_savepoint")
    )
    everyone = Listening(agents=True, widgets=frozenset({conversation.id}))
    within = broker.frames_within(session, events, everyone)
    assert within is not None and within == broker._frames(list(dict.fromkeys(events)), everyone)
    assert any(w is not None and w["type"] == "message" for _, w, _ in within)
    # Nobody listening here: nothing is read.
    assert broker.frames_within(session, events, Listening(agents=False, widgets=frozenset())) == []


def test_a_frame_that_fails_in_the_transaction_leaves_the_write_whole(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    conversation, _ = intake.open_conversation(session, channel="widget")
    message, events = intake.receive_customer_message(
        session, conversation_id=conversation.id, text="Where is my invoice?", client_id="c2"
    )
    broker = Broker(sessionmaker(bind=session.connection()))

    def broken(*_args: object) -> None:
        raise RuntimeError("a serializer bug")

    monkeypatch.setattr(serializers, "message_dict", broken)
    listening = Listening(agents=True, widgets=frozenset({conversation.id}))
    assert broker.frames_within(session, events, listening) is None  # publish reads again
    session.flush()
    assert session.get(Message, message.id) is not None  # the message is still there


def test_a_listener_who_came_after_the_frames_were_built_gets_them_read_again() -> None:
    broker = Broker(sessionmaker())
    then = broker.listening()
    queue = broker.subscribe_widget(7)
    built: list[Delivery] = [(7, {"type": "typing", "role": "bot", "active": True}, None)]
    rebuilt: list[list[Event]] = []

    async def deliver(unique: list[Event]) -> None:
        rebuilt.append(unique)

    broker._deliver = deliver  # type: ignore[method-assign]
    asyncio.run(broker.publish([conversation_changed(7)], built, listening=then))
    assert rebuilt == [[conversation_changed(7)]] and queue.empty()
    # Who listens now is who listened then: the frames built are sent as they are.
    asyncio.run(broker.publish([conversation_changed(7)], built, listening=broker.listening()))
    assert rebuilt == [[conversation_changed(7)]] and queue.get_nowait() == built[0][1]
