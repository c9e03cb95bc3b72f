"""api/live.py builds a committed event's frames only for who listens on this hub: a
conversation's state for its open widgets, its summary for agents' consoles."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from api.live import Broker, Listening
from handoff import intake
from handoff.events import conversation_changed


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
