"""The queue and who gets what: teams by skill, presence and capacity, claim or automatic
assignment, queue position and estimated wait.

The queue is every active ticket nobody has (status new or open, no assignee), most
urgent first, then oldest first, per team.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from handoff import history
from handoff import presence as connections
from handoff.errors import NotAllowed, NotFound
from handoff.events import Event, conversation_changed, message_created, queue_moved
from handoff.lookups import active_ticket, get_agent
from handoff.messages import add_message
from handoff.models import Agent, Conversation, Team, Ticket, utcnow
from handoff.states import (
    AssignmentMode,
    ConversationState,
    IllegalTransition,
    MessageRole,
    Presence,
    TicketStatus,
)
from handoff.texts import N_, say

# Until a team has resolved a few conversations, assume this much handling time each.
DEFAULT_HANDLING = timedelta(minutes=8)
HANDLING_SAMPLE = 20


def _primary(language: str) -> str:
    """ "zh-CN", "zh_hans" and "zh" are all Chinese to a team that lists "zh" or "zh-CN"."""
    return language.replace("_", "-").split("-")[0].strip().lower()


def choose_team(
    session: Session, *, category: str | None, language: str, channel: str
) -> Team | None:
    """The most specific team whose skills cover the ticket (an empty skill: any)."""

    def covers(team: Team) -> bool:
        return (
            (not team.topics or (category is not None and category in team.topics))
            and (not team.languages or _primary(language) in {_primary(x) for x in team.languages})
            and (not team.channels or channel in team.channels)
        )

    def specificity(team: Team) -> tuple[int, int]:
        return (sum(bool(s) for s in (team.topics, team.languages, team.channels)), -team.id)

    matching = [t for t in session.scalars(select(Team)) if covers(t)]
    return max(matching, key=specificity) if matching else None


def loads(session: Session, agent_ids: list[int]) -> dict[int, int]:
    """Conversations each agent has right now."""
    rows = session.execute(
        select(Conversation.agent_id, func.count())
        .where(Conversation.state == ConversationState.AGENT)
        .where(Conversation.agent_id.in_(agent_ids))
        .group_by(Conversation.agent_id)
    ).all()
    counts = {agent_id: 0 for agent_id in agent_ids}
    counts.update({int(a): int(n) for a, n in rows if a is not None})
    return counts


def online_members(session: Session, team: Team) -> list[Agent]:
    """Active members who are online, except those whose consoles all expired (their hub
    died: handoff/presence.py)."""
    online = [a for a in team.members if a.is_active and a.presence is Presence.ONLINE]
    gone = connections.stranded(session, utcnow()) if online else set()
    return [a for a in online if a.id not in gone]


def available(session: Session, team: Team) -> list[tuple[Agent, int]]:
    """Online members with room for another conversation, with their current load."""
    online = online_members(session, team)
    load = loads(session, [a.id for a in online])
    return [(a, load[a.id]) for a in online if load[a.id] < a.capacity]


def pick_agent(session: Session, team: Team) -> Agent | None:
    candidates = available(session, team)
    if not candidates:
        return None
    never = datetime.min.replace(tzinfo=None)

    def last(agent: Agent) -> datetime:
        return agent.last_assigned_at.replace(tzinfo=None) if agent.last_assigned_at else never

    if team.assignment_mode is AssignmentMode.LEAST_BUSY:
        return min(candidates, key=lambda c: (c[1], last(c[0]), c[0].id))[0]
    return min(candidates, key=lambda c: (last(c[0]), c[0].id))[0]


def assign_to(
    session: Session,
    ticket: Ticket,
    agent: Agent,
    now: datetime,
    *,
    reason: str = "assigned",
    by: Agent | None = None,
) -> tuple[Ticket, list[Event]]:
    """Give the ticket and its conversation to `agent` (from the queue or from another)."""
    conversation = ticket.conversation
    previous = ticket.assignee
    if conversation.state is not ConversationState.AGENT:
        conversation.state = conversation.state.transition(ConversationState.AGENT)
    conversation.agent = agent
    if ticket.status is TicketStatus.NEW:
        ticket.status = ticket.status.transition(TicketStatus.OPEN)
    ticket.assignee = agent
    ticket.assigned_at = ticket.assigned_at or now
    ticket.updated_at = now
    agent.last_assigned_at = now
    history.record(
        session,
        ticket,
        "assigned",
        now,
        agent=by,
        to_agent=agent.id,
        from_agent=previous.id if previous else None,
        reason=reason,
    )
    text = (
        say(N_("{agent} joined the conversation."), agent=agent.name)
        if previous is None
        else say(
            N_("{agent} has taken over from {previous}."), agent=agent.name, previous=previous.name
        )
    )
    message = add_message(session, conversation, MessageRole.SYSTEM, [text])
    return ticket, [
        message_created(conversation.id, message.id),
        conversation_changed(conversation.id),
        queue_moved(),
    ]


def claim(
    session: Session, *, conversation_id: int, agent_id: int, now: datetime
) -> tuple[Ticket, list[Event]]:
    """An agent takes a queued conversation. Two agents at the same moment: one wins.

    The state change is one conditional UPDATE, so whichever commits first wins on any
    database (PostgreSQL's row lock makes the other wait, then match no row)."""
    agent = get_agent(session, agent_id)
    taken = session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id)
        .where(Conversation.state == ConversationState.QUEUED)
        .values(state=ConversationState.AGENT, agent_id=agent.id)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        conversation = session.get(Conversation, conversation_id, populate_existing=True)
        if conversation is None:
            raise NotFound(f"conversation {conversation_id} not found")
        if conversation.state is ConversationState.AGENT and conversation.agent is not None:
            raise NotAllowed(f"{conversation.agent.name} has taken this conversation already")
        raise IllegalTransition("conversation", conversation.state.value, "agent")
    conversation = session.get(Conversation, conversation_id, populate_existing=True)
    assert conversation is not None
    ticket = active_ticket(conversation)
    if ticket is None:  # queued without a ticket cannot happen through hand_off; be safe
        raise NotAllowed("the conversation has no open ticket")
    return assign_to(session, ticket, agent, now, reason="claimed", by=agent)


def queue_query(team_id: int | None = None) -> Select[Ticket]:
    query = (
        select(Ticket)
        .where(Ticket.status.in_([TicketStatus.NEW, TicketStatus.OPEN]))
        .where(Ticket.assignee_id.is_(None))
        .order_by(Ticket.priority_rank, Ticket.id)
    )
    return query if team_id is None else query.where(Ticket.team_id == team_id)


def waiting(session: Session, team_id: int | None = None, limit: int = 200) -> list[Ticket]:
    return list(session.scalars(queue_query(team_id).limit(limit)))


def position(session: Session, ticket: Ticket) -> int:
    """1 for the next to be served in its team's queue."""
    ahead = session.scalar(
        select(func.count())
        .select_from(Ticket)
        .where(Ticket.status.in_([TicketStatus.NEW, TicketStatus.OPEN]))
        .where(Ticket.assignee_id.is_(None))
        .where(
            Ticket.team_id.is_(None) if ticket.team_id is None else Ticket.team_id == ticket.team_id
        )
        .where(
            (Ticket.priority_rank < ticket.priority_rank)
            | ((Ticket.priority_rank == ticket.priority_rank) & (Ticket.id < ticket.id))
        )
    )
    return int(ahead or 0) + 1


def handling_time(session: Session, team_id: int | None) -> timedelta:
    """Mean time an agent spends on a conversation, from the team's latest resolutions."""
    rows = session.execute(
        select(Ticket.assigned_at, Ticket.resolved_at)
        .where(Ticket.team_id == team_id)
        .where(Ticket.assigned_at.is_not(None), Ticket.resolved_at.is_not(None))
        .order_by(Ticket.resolved_at.desc())
        .limit(HANDLING_SAMPLE)
    ).all()
    spans = [(r - a).total_seconds() for a, r in rows if a is not None and r is not None and r > a]
    return timedelta(seconds=sum(spans) / len(spans)) if spans else DEFAULT_HANDLING


def estimated_wait(session: Session, ticket: Ticket, place: int) -> timedelta | None:
    """How long until someone takes it: nothing if a member has room now; otherwise one
    handling time for each round of conversations ahead that the online members must finish.
    None when nobody in the team is online (the customer is told the team will write back)."""
    team = ticket.team
    if team is None:
        return None
    online = online_members(session, team)
    if not online:
        return None
    load = loads(session, [a.id for a in online])
    free = sum(max(0, a.capacity - load[a.id]) for a in online)
    if place <= free:
        return timedelta(0)
    slots = max(1, sum(a.capacity for a in online))
    rounds = math.ceil((place - free) / slots)
    return handling_time(session, team.id) * rounds


def auto_assign(session: Session, *, now: datetime) -> tuple[list[Ticket], list[Event]]:
    """Hand waiting tickets to available agents in the teams that assign automatically."""
    assigned: list[Ticket] = []
    events: list[Event] = []
    teams = session.scalars(
        select(Team).where(Team.assignment_mode != AssignmentMode.CLAIM).order_by(Team.id)
    ).all()
    for team in teams:
        for ticket in waiting(session, team.id, limit=500):
            if ticket.conversation.state is not ConversationState.QUEUED:
                continue
            agent = pick_agent(session, team)
            if agent is None:
                break
            events += assign_to(session, ticket, agent, now, reason=team.assignment_mode.value)[1]
            assigned.append(ticket)
            session.flush()
    return assigned, events
