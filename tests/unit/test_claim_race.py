"""Two agents claim the same conversation at the same moment: exactly one wins.

Runs on SQLite, and on PostgreSQL when FRONTLINE_TEST_DATABASE_URL is set (CI sets it), each
on a database of its own (`database_url` in tests/conftest.py): the claims need real commits."""

from __future__ import annotations

import threading

from sqlalchemy import select

from handoff import agent_actions, agents, intake, tickets
from handoff.db import make_engine, make_sessionmaker, transaction
from handoff.errors import IllegalTransition, NotAllowed
from handoff.models import Ticket, TicketEvent

ROUNDS = 10


def test_exactly_one_of_two_simultaneous_claims_wins(database_url: str) -> None:
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    with transaction(sessions) as session:
        dana = agents.create_agent(
            session, email="dana@x.io", name="Dana", password="long enough secret"
        )[0].id
        sam = agents.create_agent(
            session, email="sam@x.io", name="Sam", password="long enough secret"
        )[0].id
    try:
        for _ in range(ROUNDS):
            with transaction(sessions) as session:
                conversation, _ = intake.open_conversation(session)
                intake.receive_customer_message(
                    session, conversation_id=conversation.id, text="help"
                )
                tickets.hand_off(
                    session, conversation_id=conversation.id, reason="customer_request"
                )
                cid = conversation.id
            start = threading.Barrier(2)
            outcomes: dict[int, str] = {}

            def claim(
                agent_id: int,
                cid: int = cid,
                start: threading.Barrier = start,
                outcomes: dict[int, str] = outcomes,
            ) -> None:
                start.wait()
                try:
                    with transaction(sessions) as session:
                        agent_actions.take_over(session, conversation_id=cid, agent_id=agent_id)
                    outcomes[agent_id] = "won"
                except (NotAllowed, IllegalTransition) as error:
                    outcomes[agent_id] = f"lost: {error}"

            threads = [threading.Thread(target=claim, args=(a,)) for a in (dana, sam)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            assert sorted(o.split(":")[0] for o in outcomes.values()) == ["lost", "won"], outcomes
            winner = next(a for a, o in outcomes.items() if o == "won")
            with sessions() as session:
                ticket = session.scalars(select(Ticket).where(Ticket.conversation_id == cid)).one()
                assert ticket.assignee_id == winner
                assigned = session.scalars(
                    select(TicketEvent).where(
                        TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "assigned"
                    )
                ).all()
                assert len(assigned) == 1  # the loser left no trace
                joined = [m.text for m in ticket.conversation.messages if "joined" in m.text]
                assert len(joined) == 1
    finally:
        engine.dispose()
