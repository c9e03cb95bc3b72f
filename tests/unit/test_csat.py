from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff import agent_actions, agents, csat, intake, tickets
from handoff.errors import InvalidInput
from handoff.models import Conversation, Ticket
from handoff.rules import Rules
from handoff.states import ConversationState, MessageRole, MessageStatus, TicketStatus

NO_REOPEN = Rules(reopen_window=timedelta(0))


def resolved(session: Session) -> tuple[Conversation, Ticket]:
    agent = agents.create_agent(
        session, email="dana@example.com", name="Dana", password="long enough secret"
    )[0]
    conversation, _ = intake.open_conversation(session)
    intake.receive_customer_message(
        session, conversation_id=conversation.id, text="my export fails"
    )
    ticket, _ = tickets.hand_off(
        session, conversation_id=conversation.id, reason="customer_request"
    )
    agent_actions.take_over(session, conversation_id=conversation.id, agent_id=agent.id)
    agent_actions.resolve(session, conversation_id=conversation.id, agent_id=agent.id)
    return conversation, ticket


def test_resolution_asks_for_a_rating_then_a_comment(session: Session) -> None:
    conversation, ticket = resolved(session)
    prompt = conversation.messages[-1]
    assert prompt.role is MessageRole.BOT and prompt.text == csat.ASK_RATING
    assert [b["title"] for b in prompt.payload["buttons"]] == ["1", "2", "3", "4", "5"]

    rating, _ = intake.receive_customer_message(
        session, conversation_id=conversation.id, text="2", button=csat.rate_payload(2)
    )
    assert rating.status is MessageStatus.PROCESSED  # the hub handled it, not the bot
    assert conversation.state is ConversationState.RESOLVED
    assert (ticket.csat_score, ticket.csat_flagged) == (2, True)
    assert conversation.messages[-1].text == csat.ASK_COMMENT

    intake.receive_customer_message(
        session, conversation_id=conversation.id, text="The wait was long"
    )
    assert ticket.csat_comment == "The wait was long"
    assert conversation.messages[-1].text == csat.THANKS
    assert conversation.state is ConversationState.RESOLVED

    # Past the reopen window the next message is a new question: back to the bot, fresh.
    fresh, _ = intake.receive_customer_message(
        session, conversation_id=conversation.id, text="how do I add seats?", rules=NO_REOPEN
    )
    assert conversation.state is ConversationState.BOT and fresh.status is MessageStatus.RECEIVED


def test_a_new_question_instead_of_a_rating_goes_to_the_bot(session: Session) -> None:
    conversation, ticket = resolved(session)
    intake.receive_customer_message(
        session, conversation_id=conversation.id, text="one more question", rules=NO_REOPEN
    )
    assert conversation.state is ConversationState.BOT and ticket.csat_score is None


def test_a_message_within_the_reopen_window_reopens_the_ticket(session: Session) -> None:
    conversation, ticket = resolved(session)
    intake.receive_customer_message(session, conversation_id=conversation.id, text="it fails again")
    assert ticket.status is TicketStatus.OPEN and ticket.reopen_count == 1
    assert conversation.state.with_people and ticket.resolved_at is None
    assert [e.kind for e in ticket.events][-1] == "reopened"


def test_no_comment_and_high_scores(session: Session) -> None:
    conversation, ticket = resolved(session)
    intake.receive_customer_message(
        session, conversation_id=conversation.id, text="5", button=csat.rate_payload(5)
    )
    intake.receive_customer_message(
        session, conversation_id=conversation.id, text="No, thanks", button=csat.NO_COMMENT_PAYLOAD
    )
    assert (ticket.csat_score, ticket.csat_flagged, ticket.csat_comment) == (5, False, None)


def test_forged_scores_are_refused(session: Session) -> None:
    conversation, ticket = resolved(session)
    with pytest.raises(InvalidInput, match="not offered"):
        intake.receive_customer_message(
            session, conversation_id=conversation.id, text="9", button=csat.rate_payload(9)
        )
    assert session.scalar(select(Ticket.csat_score).where(Ticket.id == ticket.id)) is None
