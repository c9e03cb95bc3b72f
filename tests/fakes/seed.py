"""Data written straight through `handoff`'s operations, for tests that need history."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from handoff import agent_actions, agents, intake, tickets
from handoff.models import Conversation, Ticket


def rated_conversation(
    session: Session, exchanges: list[tuple[str, str]], score: int | None
) -> tuple[Conversation, Ticket]:
    """A conversation handed off, answered by an agent of its own, resolved, and rated
    `score` (None: not rated). `exchanges`: (customer's message, agent's reply) pairs."""
    conversation, _ = intake.open_conversation(session)
    agent = agents.create_agent(
        session,
        email=f"agent-{uuid.uuid4().hex[:10]}@example.com",
        name="Colleague",
        password="long enough secret",
    )[0]
    intake.receive_customer_message(session, conversation_id=conversation.id, text="hello")
    ticket, _ = tickets.hand_off(
        session, conversation_id=conversation.id, reason="customer_request"
    )
    agent_actions.take_over(session, conversation_id=conversation.id, agent_id=agent.id)
    for question, answer in exchanges:
        intake.receive_customer_message(session, conversation_id=conversation.id, text=question)
        agent_actions.post_agent_message(
            session, conversation_id=conversation.id, agent_id=agent.id, text=answer
        )
    agent_actions.resolve(session, conversation_id=conversation.id, agent_id=agent.id)
    assert ticket is not None
    ticket.csat_score = score
    session.flush()
    return conversation, ticket


def gap_ticket(
    session: Session,
    attempts: list[dict[str, object]],
    *,
    agent_answer: str | None = None,
    channel: str = "widget",
    language: str = "en",
) -> Ticket:
    """A handed-off conversation whose ticket records `attempts` (the bot's tries, as
    `handoff.tickets` stores them: question, decision, sources, feedback), answered by an
    agent with `agent_answer`."""
    conversation, _ = intake.open_conversation(session, channel=channel, language=language)
    intake.receive_customer_message(session, conversation_id=conversation.id, text="hello")
    ticket, _ = tickets.hand_off(session, conversation_id=conversation.id, reason="low_confidence")
    assert ticket is not None
    ticket.bot_attempts = attempts
    if agent_answer is not None:
        agent = agents.create_agent(
            session,
            email=f"agent-{uuid.uuid4().hex[:10]}@example.com",
            name="Colleague",
            password="long enough secret",
        )[0]
        agent_actions.take_over(session, conversation_id=conversation.id, agent_id=agent.id)
        agent_actions.post_agent_message(
            session, conversation_id=conversation.id, agent_id=agent.id, text=agent_answer
        )
    session.flush()
    return ticket
