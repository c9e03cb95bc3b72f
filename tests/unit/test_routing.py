"""Teams, presence, capacity, assignment modes, queue position, transfers, SLA clocks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff import (
    agent_actions,
    agents,
    clocks,
    contacts,
    intake,
    replies,
    routing,
    sweep,
    tickets,
)
from handoff.errors import IllegalTransition, InvalidInput, NotAllowed
from handoff.models import Agent, SlaPolicy, Team, Ticket
from handoff.rules import Rules
from handoff.sla import Calendar
from handoff.states import (
    AssignmentMode,
    ConversationState,
    Presence,
    Priority,
    TicketStatus,
)

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday


def agent(session: Session, name: str, *, online: bool = True, capacity: int = 2) -> Agent:
    row = agents.create_agent(
        session, email=f"{name.lower()}@example.com", name=name, password="long enough secret"
    )[0]
    row.capacity = capacity
    if online:
        agents.set_presence(session, agent_id=row.id, presence=Presence.ONLINE)
    return row


def team(
    session: Session,
    name: str,
    members: list[Agent],
    mode: AssignmentMode = AssignmentMode.CLAIM,
    topics: list[str] | None = None,
) -> Team:
    row = Team(name=name, assignment_mode=mode, topics=topics or [], members=members)
    session.add(row)
    session.flush()
    return row


def waiting_ticket(
    session: Session,
    priority: Priority = Priority.NORMAL,
    *,
    tags: dict[str, list[str]] | None = None,
    now: datetime = T0,
    rules: Rules = Rules(),
) -> Ticket:
    conversation, _ = intake.open_conversation(session)
    intake.receive_customer_message(
        session, conversation_id=conversation.id, text="my sync is broken", now=now
    )
    ticket, _ = tickets.hand_off(
        session,
        conversation_id=conversation.id,
        reason="customer_request",
        priority=priority,
        article_tags=tags,
        rules=rules,
        now=now,
    )
    return ticket


@pytest.fixture(autouse=True)
def no_default_team(session: Session) -> None:
    """Start each test with no teams (the migration seeds a catch-all one)."""
    for row in session.scalars(select(Team)):
        session.delete(row)
    session.flush()


def test_tickets_carry_category_tags_team_and_sla_due_times(session: Session) -> None:
    billing = team(session, "Billing", [], topics=["billing"])
    general = team(session, "General", [])
    bot_tried = {"billing-invoices": ["billing", "invoices"]}
    conversation, _ = intake.open_conversation(session)
    intake.receive_customer_message(
        session, conversation_id=conversation.id, text="where is my invoice?"
    )
    replies.record_bot_replies(
        session,
        conversation_id=conversation.id,
        replies=[
            replies.BotReply(
                "Not sure.",
                {
                    "decision": "escalate",
                    "hits": [{"article_id": "billing-invoices", "score": 0.3}],
                },
            )
        ],
    )
    ticket, _ = tickets.hand_off(
        session,
        conversation_id=conversation.id,
        reason="low_confidence",
        article_tags=bot_tried,
        now=T0,
    )
    assert (ticket.category, ticket.tags, ticket.team) == (
        "billing",
        ["billing", "invoices"],
        billing,
    )
    assert ticket.subject == "where is my invoice?" and ticket.priority_rank == 2
    # Normal: first response within 60 business minutes, resolution within 24 hours (default
    # calendar: around the clock).
    assert ticket.first_response_due == T0 + timedelta(hours=1)
    assert ticket.resolution_due == T0 + timedelta(hours=24)
    assert [e.kind for e in ticket.events] == ["created"]
    other = waiting_ticket(session)
    assert other.team == general and other.category is None


def test_queue_is_most_urgent_then_oldest_with_positions(session: Session) -> None:
    team(session, "Support", [])
    normal = waiting_ticket(session, Priority.NORMAL)
    low = waiting_ticket(session, Priority.LOW)
    urgent = waiting_ticket(session, Priority.URGENT)
    normal2 = waiting_ticket(session, Priority.NORMAL)
    assert routing.waiting(session) == [urgent, normal, normal2, low]
    assert [routing.position(session, t) for t in (urgent, normal, normal2, low)] == [1, 2, 3, 4]


def test_estimated_wait_from_free_capacity_and_handling_time(session: Session) -> None:
    dana = agent(session, "Dana", capacity=1)
    support = team(session, "Support", [dana])
    first, second, third = (waiting_ticket(session) for _ in range(3))
    # Dana has room for one: the first is served now; the others wait whole rounds of the
    # default handling time (8 minutes) until a slot frees.
    assert routing.estimated_wait(session, first, 1) == timedelta(0)
    assert routing.estimated_wait(session, second, 2) == routing.DEFAULT_HANDLING
    assert routing.estimated_wait(session, third, 3) == routing.DEFAULT_HANDLING * 2
    agents.set_presence(session, agent_id=dana.id, presence=Presence.AWAY)
    assert routing.estimated_wait(session, first, 1) is None  # nobody online: unknown
    assert support.members == [dana]


def test_claim_mode_leaves_tickets_for_agents_to_take(session: Session) -> None:
    dana = agent(session, "Dana")
    team(session, "Support", [dana])
    ticket = waiting_ticket(session)
    assert ticket.assignee is None and ticket.conversation.state is ConversationState.QUEUED
    agent_actions.take_over(session, conversation_id=ticket.conversation_id, agent_id=dana.id)
    assert ticket.assignee == dana and ticket.status is TicketStatus.OPEN
    sam = agent(session, "Sam")
    with pytest.raises(NotAllowed, match="Dana has taken"):
        agent_actions.take_over(session, conversation_id=ticket.conversation_id, agent_id=sam.id)


def test_round_robin_among_online_members_with_room(session: Session) -> None:
    dana, sam = agent(session, "Dana"), agent(session, "Sam")
    away = agent(session, "Kim")
    agents.set_presence(session, agent_id=away.id, presence=Presence.AWAY)
    team(session, "Support", [dana, sam, away], AssignmentMode.ROUND_ROBIN)
    assigned = [waiting_ticket(session, now=T0 + timedelta(minutes=i)).assignee for i in range(4)]
    assert assigned == [dana, sam, dana, sam]
    # Both are at capacity (2): the fifth waits in the queue.
    fifth = waiting_ticket(session, now=T0 + timedelta(minutes=5))
    assert fifth.assignee is None and routing.position(session, fifth) == 1
    # Resolving one frees a slot: the waiting ticket goes to that agent at once.
    agent_actions.resolve(session, conversation_id=_conv(session, dana), agent_id=dana.id)
    assert fifth.assignee == dana


def _conv(session: Session, who: Agent) -> int:
    ticket = session.scalars(
        select(Ticket).where(Ticket.assignee_id == who.id, Ticket.status == TicketStatus.OPEN)
    ).first()
    assert ticket is not None
    return ticket.conversation_id


def test_least_busy_and_offline_agents(session: Session) -> None:
    dana, sam = agent(session, "Dana", capacity=5), agent(session, "Sam", capacity=5)
    team(session, "Support", [dana, sam], AssignmentMode.LEAST_BUSY)
    waiting_ticket(session)
    waiting_ticket(session)
    agents.set_presence(session, agent_id=sam.id, presence=Presence.OFFLINE)
    third = waiting_ticket(session)
    assert third.assignee == dana
    assert routing.loads(session, [dana.id, sam.id]) == {dana.id: 2, sam.id: 1}


def test_transfer_to_agent_and_to_team(session: Session) -> None:
    dana, sam = agent(session, "Dana"), agent(session, "Sam")
    team(session, "Support", [dana, sam])
    billing = team(session, "Billing", [])
    ticket = waiting_ticket(session)
    agent_actions.take_over(session, conversation_id=ticket.conversation_id, agent_id=dana.id)
    agent_actions.transfer(
        session,
        conversation_id=ticket.conversation_id,
        by_agent_id=dana.id,
        now=T0,
        to_agent_id=sam.id,
    )
    assert ticket.assignee == sam and ticket.conversation.agent == sam
    assert ticket.conversation.messages[-1].text == "Sam has taken over from Dana."
    agent_actions.transfer(
        session,
        conversation_id=ticket.conversation_id,
        by_agent_id=sam.id,
        now=T0,
        to_team_id=billing.id,
    )
    assert ticket.team == billing and ticket.assignee is None
    assert ticket.conversation.state is ConversationState.QUEUED
    assert ticket.transfer_count == 2
    with pytest.raises(InvalidInput):
        agent_actions.transfer(
            session, conversation_id=ticket.conversation_id, by_agent_id=sam.id, now=T0
        )


def test_notes_never_reach_the_transcript(session: Session) -> None:
    dana = agent(session, "Dana")
    ticket = waiting_ticket(session)
    _note, events = agent_actions.add_note(
        session,
        agent_id=dana.id,
        text="VIP, refund approved",
        conversation_id=ticket.conversation_id,
    )
    assert [e.kind for e in events] == ["note"]
    assert all("VIP" not in m.text for m in ticket.conversation.messages)
    record = contacts.history(session, ticket.contact_id)
    assert record["notes"][0]["text"] == "VIP, refund approved"


def test_pending_pauses_the_resolution_clock(session: Session) -> None:
    dana = agent(session, "Dana")
    rules = Rules()
    ticket = waiting_ticket(session, rules=rules)  # resolution due T0 + 24h
    agent_actions.take_over(
        session, conversation_id=ticket.conversation_id, agent_id=dana.id, now=T0
    )
    agent_actions.set_pending(
        session,
        conversation_id=ticket.conversation_id,
        agent_id=dana.id,
        rules=rules,
        now=T0 + timedelta(hours=2),
    )
    assert ticket.resolution_due is None and ticket.resolution_left_seconds == 22 * 3600
    status = clocks.status(ticket, rules.calendar, T0 + timedelta(hours=30))
    assert status["resolution"]["paused"] and status["resolution"]["seconds_left"] == 22 * 3600
    # The customer answers 10 hours later: due again 22 hours from then.
    intake.receive_customer_message(
        session,
        conversation_id=ticket.conversation_id,
        text="here is the log",
        rules=rules,
        now=T0 + timedelta(hours=12),
    )
    assert ticket.status is TicketStatus.OPEN
    assert ticket.resolution_due == T0 + timedelta(hours=34)


def test_breaches_raise_events_and_escalate(session: Session) -> None:
    lead = agent(session, "Lee")
    support = team(session, "Support", [])
    support.lead = lead
    ticket = waiting_ticket(session, Priority.NORMAL)  # policy: raise priority on breach
    urgent = waiting_ticket(session, Priority.URGENT)  # policy: reassign to the team lead
    assert sweep.check_breaches(session, now=T0 + timedelta(minutes=10))[1] == []
    events = sweep.check_breaches(session, now=T0 + timedelta(minutes=61))[1]
    assert ticket.first_response_breached_at is not None and ticket.priority is Priority.HIGH
    assert urgent.assignee == lead
    assert "ticket" in {e.kind for e in events}
    kinds = [e.kind for e in ticket.events]
    assert kinds.count("sla_breached") == 1 and "priority_changed" in kinds
    # Raised once only.
    assert sweep.check_breaches(session, now=T0 + timedelta(minutes=62))[1] == []


def test_business_hours_due_times(session: Session) -> None:
    rules = Rules(calendar=Calendar.parse("mon-fri 09:00-17:00", "UTC"))
    friday = datetime(2026, 11, 27, 16, 30, tzinfo=UTC)
    ticket = waiting_ticket(session, rules=rules, now=friday)
    assert ticket.first_response_due == datetime(2026, 11, 30, 9, 30, tzinfo=UTC)


def test_sla_policy_is_configurable(session: Session) -> None:
    policy = session.get(SlaPolicy, Priority.LOW)
    assert policy is not None
    policy.first_response_minutes = 5
    ticket = waiting_ticket(session, Priority.LOW)
    assert ticket.first_response_due == T0 + timedelta(minutes=5)


def test_first_response_is_stamped_by_the_first_agent_reply(session: Session) -> None:
    dana = agent(session, "Dana")
    ticket = waiting_ticket(session)
    agent_actions.take_over(session, conversation_id=ticket.conversation_id, agent_id=dana.id)
    message, _ = agent_actions.post_agent_message(
        session, conversation_id=ticket.conversation_id, agent_id=dana.id, text="Hi!"
    )
    agent_actions.post_agent_message(
        session, conversation_id=ticket.conversation_id, agent_id=dana.id, text="Looking now"
    )
    assert ticket.first_response_at == message.created_at


def test_hand_back_returns_the_conversation_to_the_bot(session: Session) -> None:
    dana = agent(session, "Dana")
    ticket = waiting_ticket(session)
    agent_actions.take_over(session, conversation_id=ticket.conversation_id, agent_id=dana.id)
    agent_actions.hand_back(session, conversation_id=ticket.conversation_id, agent_id=dana.id)
    assert ticket.conversation.state is ConversationState.BOT
    assert ticket.status is TicketStatus.RESOLVED and ticket.resolution == "handed_back"
    intake.receive_customer_message(
        session, conversation_id=ticket.conversation_id, text="and one more"
    )
    assert ticket.conversation.state is ConversationState.BOT and ticket.reopen_count == 0


def test_reopen_then_auto_close(session: Session) -> None:
    dana = agent(session, "Dana")
    rules = Rules(reopen_window=timedelta(hours=24), close_after=timedelta(hours=24))
    ticket = waiting_ticket(session, rules=rules)
    agent_actions.take_over(session, conversation_id=ticket.conversation_id, agent_id=dana.id)
    agent_actions.resolve(session, conversation_id=ticket.conversation_id, agent_id=dana.id, now=T0)
    intake.receive_customer_message(
        session,
        conversation_id=ticket.conversation_id,
        text="still broken",
        rules=rules,
        now=T0 + timedelta(hours=1),
    )
    assert ticket.status is TicketStatus.OPEN and ticket.reopen_count == 1
    assert ticket.conversation.agent == dana  # back with the agent who had it
    agent_actions.resolve(
        session,
        conversation_id=ticket.conversation_id,
        agent_id=dana.id,
        now=T0 + timedelta(hours=2),
    )
    assert sweep.close_resolved(session, now=T0 + timedelta(hours=25), rules=rules)[1] == []
    sweep.close_resolved(session, now=T0 + timedelta(hours=26, seconds=1), rules=rules)
    assert ticket.status is TicketStatus.CLOSED and ticket.closed_at is not None
    with pytest.raises(IllegalTransition):
        ticket.status.transition(TicketStatus.OPEN)
    # After the window a message starts fresh with the bot.
    intake.receive_customer_message(
        session,
        conversation_id=ticket.conversation_id,
        text="new question",
        rules=rules,
        now=T0 + timedelta(days=2),
    )
    assert ticket.conversation.state is ConversationState.BOT


def test_contacts_merge_identities_and_history(session: Session) -> None:
    web = contacts.identify(
        session, channel="web", external_id="u-42", name="Ann", email="ann@x.io"
    )[0]
    telegram = contacts.identify(session, channel="telegram", external_id="99", name="ann_tg")[0]
    assert contacts.identify(session, channel="web", external_id="u-42")[0] == web
    conversation, _ = intake.open_conversation(session, contact=telegram)
    intake.receive_customer_message(session, conversation_id=conversation.id, text="hello")
    merged = contacts.merge(session, keep_id=web.id, other_id=telegram.id)[0]
    assert merged.id == web.id
    record = contacts.history(session, telegram.id)  # the old id leads to the merged record
    assert record["id"] == web.id
    assert {i["channel"] for i in record["identities"]} == {"web", "telegram"}
    assert [c["id"] for c in record["conversations"]] == [conversation.id]
    # The merged identity resolves to the surviving contact.
    assert contacts.identify(session, channel="telegram", external_id="99")[0].id == web.id
    with pytest.raises(InvalidInput):
        contacts.merge(session, keep_id=web.id, other_id=web.id)
