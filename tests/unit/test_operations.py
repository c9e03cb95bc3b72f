from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff import agents
from handoff import operations as ops
from handoff.errors import InvalidInput, NotAllowed
from handoff.models import Message, Ticket
from handoff.rules import Rules
from handoff.states import (
    ConversationState,
    IllegalTransition,
    MessageRole,
    MessageStatus,
    TicketStatus,
)


def _agent(session: Session, email: str = "dana@example.com") -> int:
    return agents.create_agent(session, email=email, name="Dana", password="secret").id


def test_customer_message_is_stored_before_processing(session: Session) -> None:
    conversation, _ = ops.open_conversation(session)
    message, events = ops.receive_customer_message(session, conversation.id, "  Hello there  ")
    stored = session.get(Message, message.id)
    assert stored is not None and stored.text == "Hello there"
    assert stored.status is MessageStatus.RECEIVED
    assert ("message", message.id) in {(e.kind, e.message_id) for e in events}


@pytest.mark.parametrize("bad", ["", "   ", None, 42, "x" * (ops.MAX_MESSAGE_CHARS + 1)])
def test_unusable_text_is_refused_with_a_reason(session: Session, bad: object) -> None:
    conversation, _ = ops.open_conversation(session)
    with pytest.raises(InvalidInput):
        ops.receive_customer_message(session, conversation.id, bad)


def test_hand_off_ticket_carries_the_whole_transcript_and_reason(session: Session) -> None:
    conversation, _ = ops.open_conversation(session)
    q1, _ = ops.receive_customer_message(session, conversation.id, "How do I export my data?")
    ops.record_bot_replies(
        session,
        conversation.id,
        [
            ops.BotReply(
                "Use Settings > Export.",
                {
                    "decision": "answer",
                    "sources": [
                        {"article_id": "export-data", "title": "Export", "url": None, "score": 0.8}
                    ],
                    "buttons": [
                        {"title": "Yes", "payload": "/helpful"},
                        {"title": "No", "payload": "/not_helpful"},
                    ],
                },
            )
        ],
        answering_message_id=q1.id,
    )
    ops.receive_customer_message(session, conversation.id, "No", button="/not_helpful")
    q2, _ = ops.receive_customer_message(session, conversation.id, "I want a person")
    ticket, _ = ops.hand_off(
        session, conversation.id, reason="customer_request", customer_message_id=q2.id
    )

    assert ticket.reason == "customer_request"
    assert ticket.status is TicketStatus.NEW
    assert ticket.number == ops.FIRST_TICKET_NUMBER
    assert [m["text"] for m in ticket.transcript] == [
        "How do I export my data?",
        "Use Settings > Export.",
        "No",
        "I want a person",
    ]
    assert ticket.bot_attempts[0]["question"] == "How do I export my data?"
    assert ticket.bot_attempts[0]["feedback"] == "not_helpful"
    assert ticket.bot_attempts[0]["sources"][0]["article_id"] == "export-data"
    assert ticket.subject == "How do I export my data?"
    assert conversation.state is ConversationState.QUEUED
    assert session.get(Message, q2.id).status is MessageStatus.PROCESSED  # type: ignore[union-attr]
    # The customer is told where they stand.
    assert conversation.messages[-1].role is MessageRole.SYSTEM
    assert f"#{ticket.number}" in conversation.messages[-1].text


def test_failed_processing_keeps_the_message_and_records_why(session: Session) -> None:
    conversation, _ = ops.open_conversation(session)
    message, _ = ops.receive_customer_message(session, conversation.id, "Is anyone there?")
    ticket, _ = ops.hand_off(
        session,
        conversation.id,
        reason="bot_unavailable",
        customer_message_id=message.id,
        error="connection refused",
    )
    stored = session.get(Message, message.id)
    assert stored is not None and stored.status is MessageStatus.FAILED
    assert stored.payload["error"] == "connection refused"
    assert ticket.transcript[0]["text"] == "Is anyone there?"


def test_ticket_numbers_increase(session: Session) -> None:
    numbers = []
    for _ in range(3):
        conversation, _ = ops.open_conversation(session)
        ops.receive_customer_message(session, conversation.id, "help")
        numbers.append(ops.hand_off(session, conversation.id, reason="customer_request")[0].number)
    assert numbers == sorted(set(numbers)) and len(numbers) == 3


def test_agent_takes_over_replies_and_resolves(session: Session) -> None:
    agent_id = _agent(session)
    conversation, _ = ops.open_conversation(session)
    ops.receive_customer_message(session, conversation.id, "help me")
    ops.hand_off(session, conversation.id, reason="customer_request")

    with pytest.raises(NotAllowed):
        ops.post_agent_message(session, conversation.id, agent_id, "hi")  # not taken yet

    ops.take_over(session, conversation.id, agent_id)
    assert conversation.state is ConversationState.AGENT
    ticket = session.scalar(select(Ticket).where(Ticket.conversation_id == conversation.id))
    assert (
        ticket is not None and ticket.status is TicketStatus.OPEN and ticket.assignee_id == agent_id
    )

    reply, _ = ops.post_agent_message(session, conversation.id, agent_id, "Hi, I'm Dana.")
    assert reply.role is MessageRole.AGENT and reply.agent_id == agent_id

    # While with people, the customer's messages are routed by being stored.
    routed, _ = ops.receive_customer_message(session, conversation.id, "thanks Dana")
    assert routed.status is MessageStatus.PROCESSED

    other = _agent(session, "sam@example.com")
    with pytest.raises(NotAllowed):
        ops.resolve(session, conversation.id, other)
    ops.resolve(session, conversation.id, agent_id)
    assert conversation.state is ConversationState.RESOLVED
    assert ticket.status is TicketStatus.RESOLVED and ticket.resolved_at is not None

    with pytest.raises(IllegalTransition):
        ops.take_over(session, conversation.id, agent_id)

    # Writing again after the reopen window starts fresh with the bot.
    fresh, _ = ops.receive_customer_message(
        session, conversation.id, "one more question", rules=Rules(reopen_window=timedelta(0))
    )
    assert conversation.state is ConversationState.BOT
    assert fresh.status is MessageStatus.RECEIVED


def test_agent_login_sessions(session: Session) -> None:
    _agent(session)
    assert agents.authenticate(session, "DANA@example.com ", "wrong") is None
    agent = agents.authenticate(session, "dana@example.com", "secret")
    assert agent is not None
    token = agents.start_session(session, agent)
    assert agents.agent_for_token(session, token) == agent
    assert agents.agent_for_token(session, token + "x") is None
    with pytest.raises(InvalidInput):
        agents.create_agent(session, email="dana@example.com", name="Again", password="secret")


def test_a_resent_message_is_stored_once(session: Session) -> None:
    conversation, _ = ops.open_conversation(session)
    first, events = ops.receive_customer_message(session, conversation.id, "hello", client_id="c-1")
    again, again_events = ops.receive_customer_message(
        session, conversation.id, "hello", client_id="c-1"
    )
    assert again.id == first.id and events and again_events == []
    other, _ = ops.receive_customer_message(session, conversation.id, "hello", client_id="c-2")
    assert other.id != first.id


def test_only_offered_buttons_are_accepted(session: Session) -> None:
    conversation, _ = ops.open_conversation(session)
    payload = '/choose_article{"article_id": "reset-password"}'
    with pytest.raises(InvalidInput, match="not offered"):
        ops.receive_customer_message(session, conversation.id, "Reset", button=payload)
    ops.record_bot_replies(
        session,
        conversation.id,
        [ops.BotReply("Which one?", {"buttons": [{"title": "Reset", "payload": payload}]})],
    )
    with pytest.raises(InvalidInput, match="not offered"):
        ops.receive_customer_message(session, conversation.id, "x", button="/restart")
    chosen, _ = ops.receive_customer_message(session, conversation.id, "Reset", button=payload)
    assert chosen.payload == {"button": payload} and chosen.text == "Reset"


def test_bot_attempts_pair_answers_with_the_question_they_answer(session: Session) -> None:
    conversation, _ = ops.open_conversation(session)
    q1, _ = ops.receive_customer_message(session, conversation.id, "How do I export?")
    ops.receive_customer_message(session, conversation.id, "hello??")  # before the answer
    ops.record_bot_replies(
        session,
        conversation.id,
        [ops.BotReply("Use Settings > Export.", {"decision": "answer"})],
        answering_message_id=q1.id,
    )
    ticket, _ = ops.hand_off(session, conversation.id, reason="customer_request")
    assert ticket.bot_attempts[0]["question"] == "How do I export?"
