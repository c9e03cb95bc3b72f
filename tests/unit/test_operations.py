from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff import agent_actions, agents, intake, messages, replies, tickets
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
    return agents.create_agent(session, email=email, name="Dana", password="long enough secret")[
        0
    ].id


def test_customer_message_is_stored_before_processing(session: Session) -> None:
    conversation, _ = intake.open_conversation(session)
    message, events = intake.receive_customer_message(
        session, conversation_id=conversation.id, text="  Hello there  "
    )
    stored = session.get(Message, message.id)
    assert stored is not None and stored.text == "Hello there"
    assert stored.status is MessageStatus.RECEIVED
    assert ("message", message.id) in {(e.kind, e.message_id) for e in events}


@pytest.mark.parametrize("bad", ["", "   ", None, 42, "x" * (messages.MAX_MESSAGE_CHARS + 1)])
def test_unusable_text_is_refused_with_a_reason(session: Session, bad: object) -> None:
    conversation, _ = intake.open_conversation(session)
    with pytest.raises(InvalidInput):
        intake.receive_customer_message(session, conversation_id=conversation.id, text=bad)


def test_hand_off_ticket_carries_the_whole_transcript_and_reason(session: Session) -> None:
    conversation, _ = intake.open_conversation(session)
    q1, _ = intake.receive_customer_message(
        session, conversation_id=conversation.id, text="How do I export my data?"
    )
    replies.record_bot_replies(
        session,
        conversation_id=conversation.id,
        replies=[
            replies.BotReply(
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
    intake.receive_customer_message(
        session, conversation_id=conversation.id, text="No", button="/not_helpful"
    )
    q2, _ = intake.receive_customer_message(
        session, conversation_id=conversation.id, text="I want a person"
    )
    ticket, _ = tickets.hand_off(
        session,
        conversation_id=conversation.id,
        reason="customer_request",
        customer_message_id=q2.id,
    )

    assert ticket.reason == "customer_request"
    assert ticket.status is TicketStatus.NEW
    assert ticket.number == tickets.FIRST_TICKET_NUMBER
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
    conversation, _ = intake.open_conversation(session)
    message, _ = intake.receive_customer_message(
        session, conversation_id=conversation.id, text="Is anyone there?"
    )
    ticket, _ = tickets.hand_off(
        session,
        conversation_id=conversation.id,
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
        conversation, _ = intake.open_conversation(session)
        intake.receive_customer_message(session, conversation_id=conversation.id, text="help")
        numbers.append(
            tickets.hand_off(session, conversation_id=conversation.id, reason="customer_request")[
                0
            ].number
        )
    assert numbers == sorted(set(numbers)) and len(numbers) == 3


def test_agent_takes_over_replies_and_resolves(session: Session) -> None:
    agent_id = _agent(session)
    conversation, _ = intake.open_conversation(session)
    intake.receive_customer_message(session, conversation_id=conversation.id, text="help me")
    tickets.hand_off(session, conversation_id=conversation.id, reason="customer_request")

    with pytest.raises(NotAllowed):
        agent_actions.post_agent_message(
            session, conversation_id=conversation.id, agent_id=agent_id, text="hi"
        )  # not taken yet

    agent_actions.take_over(session, conversation_id=conversation.id, agent_id=agent_id)
    assert conversation.state is ConversationState.AGENT
    ticket = session.scalar(select(Ticket).where(Ticket.conversation_id == conversation.id))
    assert (
        ticket is not None and ticket.status is TicketStatus.OPEN and ticket.assignee_id == agent_id
    )

    reply, _ = agent_actions.post_agent_message(
        session, conversation_id=conversation.id, agent_id=agent_id, text="Hi, I'm Dana."
    )
    assert reply.role is MessageRole.AGENT and reply.agent_id == agent_id

    # While with people, the customer's messages are routed by being stored.
    routed, _ = intake.receive_customer_message(
        session, conversation_id=conversation.id, text="thanks Dana"
    )
    assert routed.status is MessageStatus.PROCESSED

    other = _agent(session, "sam@example.com")
    with pytest.raises(NotAllowed):
        agent_actions.resolve(session, conversation_id=conversation.id, agent_id=other)
    agent_actions.resolve(session, conversation_id=conversation.id, agent_id=agent_id)
    assert conversation.state is ConversationState.RESOLVED
    assert ticket.status is TicketStatus.RESOLVED and ticket.resolved_at is not None

    with pytest.raises(IllegalTransition):
        agent_actions.take_over(session, conversation_id=conversation.id, agent_id=agent_id)

    # Writing again after the reopen window starts fresh with the bot.
    fresh, _ = intake.receive_customer_message(
        session,
        conversation_id=conversation.id,
        text="one more question",
        rules=Rules(reopen_window=timedelta(0)),
    )
    assert conversation.state is ConversationState.BOT
    assert fresh.status is MessageStatus.RECEIVED


def test_agent_login_sessions(session: Session) -> None:
    _agent(session)
    assert agents.authenticate(session, "DANA@example.com ", "wrong") is None
    agent = agents.authenticate(session, "dana@example.com", "long enough secret")
    assert agent is not None
    token = agents.start_session(session, agent=agent)[0]
    assert agents.agent_for_token(session, token) == agent
    assert agents.agent_for_token(session, token + "x") is None
    with pytest.raises(InvalidInput):
        agents.create_agent(
            session, email="dana@example.com", name="Again", password="long enough secret"
        )


def test_a_resent_message_is_stored_once(session: Session) -> None:
    conversation, _ = intake.open_conversation(session)
    first, events = intake.receive_customer_message(
        session, conversation_id=conversation.id, text="hello", client_id="c-1"
    )
    again, again_events = intake.receive_customer_message(
        session, conversation_id=conversation.id, text="hello", client_id="c-1"
    )
    assert again.id == first.id and events and again_events == []
    other, _ = intake.receive_customer_message(
        session, conversation_id=conversation.id, text="hello", client_id="c-2"
    )
    assert other.id != first.id


def test_only_offered_buttons_are_accepted(session: Session) -> None:
    conversation, _ = intake.open_conversation(session)
    payload = '/choose_article{"article_id": "reset-password"}'
    with pytest.raises(InvalidInput, match="not offered"):
        intake.receive_customer_message(
            session, conversation_id=conversation.id, text="Reset", button=payload
        )
    replies.record_bot_replies(
        session,
        conversation_id=conversation.id,
        replies=[
            replies.BotReply("Which one?", {"buttons": [{"title": "Reset", "payload": payload}]})
        ],
    )
    with pytest.raises(InvalidInput, match="not offered"):
        intake.receive_customer_message(
            session, conversation_id=conversation.id, text="x", button="/restart"
        )
    chosen, _ = intake.receive_customer_message(
        session, conversation_id=conversation.id, text="Reset", button=payload
    )
    assert chosen.payload == {"button": payload} and chosen.text == "Reset"


def test_bot_attempts_pair_answers_with_the_question_they_answer(session: Session) -> None:
    conversation, _ = intake.open_conversation(session)
    q1, _ = intake.receive_customer_message(
        session, conversation_id=conversation.id, text="How do I export?"
    )
    intake.receive_customer_message(
        session, conversation_id=conversation.id, text="hello??"
    )  # before the answer
    replies.record_bot_replies(
        session,
        conversation_id=conversation.id,
        replies=[replies.BotReply("Use Settings > Export.", {"decision": "answer"})],
        answering_message_id=q1.id,
    )
    ticket, _ = tickets.hand_off(
        session, conversation_id=conversation.id, reason="customer_request"
    )
    assert ticket.bot_attempts[0]["question"] == "How do I export?"


def test_the_contact_form_state_reads_back_past_the_customers_latest_messages(
    session: Session,
) -> None:
    from api.routes.widget import contact_form
    from handoff.lookups import get_conversation

    conversation, _ = intake.open_conversation(session, channel="widget")
    intake.receive_customer_message(session, conversation_id=conversation.id, text="hello")
    replies.record_bot_replies(
        session,
        conversation_id=conversation.id,
        replies=[replies.BotReply("Nobody is online; your email?", {"form": "contact"})],
    )
    # More customer messages than the first few rows read: the request is found further back.
    for n in range(7):
        intake.receive_customer_message(session, conversation_id=conversation.id, text=f"x {n}")
    assert contact_form(get_conversation(session, conversation.id)) == "contact"
    replies.record_bot_replies(
        session,
        conversation_id=conversation.id,
        replies=[replies.BotReply("Here is the answer", {"decision": "answer"})],
    )
    assert contact_form(get_conversation(session, conversation.id)) is None
