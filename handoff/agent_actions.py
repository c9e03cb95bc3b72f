"""What agents do to a conversation and its ticket: take it, reply, wait on the customer,
resolve, hand back to the bot, note, edit the ticket, transfer."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from handoff import clocks, csat, history, routing
from handoff.errors import Forbidden, InvalidInput, NotAllowed, NotFound
from handoff.events import Event, conversation_changed, message_created, note_added, queue_moved
from handoff.lookups import active_ticket, get_agent, get_conversation, get_team, get_ticket
from handoff.messages import add_message, clean_text
from handoff.models import Agent, Conversation, Message, Note, Ticket, utcnow
from handoff.rules import DEFAULT_RULES, Rules
from handoff.states import (
    HANDED_BACK,
    AgentRole,
    ConversationState,
    MessageRole,
    Priority,
    TicketStatus,
)
from handoff.texts import N_, say

MAX_TAGS = 20


def _may_act_for(actor: Agent, holder_id: int | None, what: str) -> None:
    """Agents act on their own work (and on what nobody has yet); leads on anyone's.

    The role is the actor's row as committed now, not what their session said at login."""
    if holder_id is None or holder_id == actor.id or actor.role.includes(AgentRole.LEAD):
        return
    raise Forbidden(f"another agent has this {what}; only they or a support lead can change it")


def _owned_ticket(conversation: Conversation, agent: Agent) -> Ticket:
    if conversation.state is not ConversationState.AGENT or conversation.agent_id != agent.id:
        raise NotAllowed("take the conversation over first")
    ticket = active_ticket(conversation)
    if ticket is None:
        raise NotAllowed("the conversation has no open ticket")
    return ticket


def take_over(
    session: Session, *, conversation_id: int, agent_id: int, now: datetime | None = None
) -> tuple[Ticket, list[Event]]:
    """An agent takes a queued conversation (exactly one of several racing agents wins)."""
    return routing.claim(
        session, conversation_id=conversation_id, agent_id=agent_id, now=now or utcnow()
    )


def post_agent_message(
    session: Session,
    *,
    conversation_id: int,
    agent_id: int,
    text: object,
    payload: dict[str, Any] | None = None,
) -> tuple[Message, list[Event]]:
    """An agent's reply; `payload` carries what the channel needs beyond the text (e.g.
    {"template": name}: send the channel's pre-approved template instead)."""
    body = clean_text(text)
    conversation = get_conversation(session, conversation_id)
    agent = get_agent(session, agent_id)
    if conversation.state is not ConversationState.AGENT or conversation.agent_id != agent.id:
        raise NotAllowed("take the conversation over before replying")
    message = add_message(
        session, conversation, MessageRole.AGENT, body, agent=agent, payload=payload
    )
    ticket = active_ticket(conversation)
    if ticket is not None and ticket.first_response_at is None:
        ticket.first_response_at = message.created_at
        history.record(session, ticket, "first_response", message.created_at, agent=agent)
    return message, [
        message_created(conversation.id, message.id),
        conversation_changed(conversation.id),
    ]


def resolve(
    session: Session, *, conversation_id: int, agent_id: int, now: datetime | None = None
) -> tuple[Ticket | None, list[Event]]:
    """The conversation is resolved; the customer is asked to rate the help they got."""
    now = now or utcnow()
    conversation = get_conversation(session, conversation_id)
    agent = get_agent(session, agent_id)
    if conversation.state is ConversationState.AGENT and conversation.agent_id != agent.id:
        raise NotAllowed("another agent has this conversation")
    conversation.state = conversation.state.transition(ConversationState.RESOLVED)
    ticket = active_ticket(conversation)
    if ticket is not None:
        ticket.status = ticket.status.transition(TicketStatus.RESOLVED)
        ticket.assignee = ticket.assignee or agent
        ticket.resolved_at = ticket.updated_at = now
        ticket.resolution = "resolved"
        ticket.pending_since = None
        history.record(session, ticket, "resolved", now, agent=agent)
    message = add_message(
        session,
        conversation,
        MessageRole.SYSTEM,
        [
            say(
                N_("{agent} marked this conversation as resolved. Write again any time."),
                agent=agent.name,
            )
        ],
    )
    events = [message_created(conversation.id, message.id)]
    if ticket is not None:
        text, payload = csat.rating_prompt(ticket)
        prompt = add_message(session, conversation, MessageRole.BOT, text, payload=payload)
        events.append(message_created(conversation.id, prompt.id))
    session.flush()
    return ticket, [
        *events,
        conversation_changed(conversation.id),
        queue_moved(),
        *routing.auto_assign(session, now=now)[1],
    ]


def set_pending(
    session: Session,
    *,
    conversation_id: int,
    agent_id: int,
    rules: Rules = DEFAULT_RULES,
    now: datetime | None = None,
) -> tuple[Ticket, list[Event]]:
    """Waiting on the customer: the resolution clock stops until they write."""
    now = now or utcnow()
    agent = get_agent(session, agent_id)
    conversation = get_conversation(session, conversation_id)
    ticket = _owned_ticket(conversation, agent)
    ticket.status = ticket.status.transition(TicketStatus.PENDING)
    clocks.pause(ticket, rules.calendar, now)
    ticket.updated_at = now
    history.record(session, ticket, "pending", now, agent=agent)
    return ticket, [conversation_changed(conversation.id)]


def hand_back(
    session: Session, *, conversation_id: int, agent_id: int, now: datetime | None = None
) -> tuple[Ticket, list[Event]]:
    """The person's part is done; the bot answers the customer's next messages."""
    now = now or utcnow()
    agent = get_agent(session, agent_id)
    conversation = get_conversation(session, conversation_id)
    ticket = _owned_ticket(conversation, agent)
    ticket.status = ticket.status.transition(TicketStatus.RESOLVED)
    ticket.resolution = HANDED_BACK
    ticket.resolved_at = ticket.updated_at = now
    history.record(session, ticket, "handed_back", now, agent=agent)
    conversation.state = conversation.state.transition(ConversationState.BOT)
    conversation.agent = None
    message = add_message(
        session,
        conversation,
        MessageRole.SYSTEM,
        [
            say(
                N_(
                    "{agent} handed you back to our assistant. Ask away, or ask for a person any"
                    " time."
                ),
                agent=agent.name,
            )
        ],
    )
    session.flush()
    return ticket, [
        message_created(conversation.id, message.id),
        conversation_changed(conversation.id),
        queue_moved(),
        *routing.auto_assign(session, now=now)[1],
    ]


def add_note(
    session: Session,
    *,
    agent_id: int,
    text: object,
    conversation_id: int | None = None,
    contact_id: int | None = None,
) -> tuple[Note, list[Event]]:
    """An internal note: agents see it, the customer never does."""
    body = clean_text(text)
    agent = get_agent(session, agent_id)
    if conversation_id is not None:
        conversation = get_conversation(session, conversation_id)
        note = Note(
            author=agent,
            text=body,
            conversation_id=conversation.id,
            contact_id=conversation.contact_id,
        )
    elif contact_id is not None:
        note = Note(author=agent, text=body, contact_id=contact_id)
    else:
        raise InvalidInput("a note belongs to a conversation or a contact")
    session.add(note)
    session.flush()
    events = [note_added(conversation_id, note.id)] if conversation_id is not None else []
    return note, events


def update_ticket(
    session: Session,
    *,
    ticket_id: int,
    agent_id: int,
    priority: Priority | None = None,
    category: str | None = None,
    tags: Sequence[str] | None = None,
    now: datetime | None = None,
) -> tuple[Ticket, list[Event]]:
    now = now or utcnow()
    agent = get_agent(session, agent_id)
    ticket = get_ticket(session, ticket_id)
    _may_act_for(agent, ticket.assignee_id, "ticket")
    changes: dict[str, object] = {}
    if priority is not None and priority is not ticket.priority:
        changes["priority"] = [ticket.priority.value, priority.value]
        ticket.priority = priority
        ticket.priority_rank = priority.rank
    if category is not None and category != ticket.category:
        changes["category"] = [ticket.category, category or None]
        ticket.category = category.strip()[:100] or None
    if tags is not None:
        cleaned = list(dict.fromkeys(t.strip().lower()[:50] for t in tags if t.strip()))
        if len(cleaned) > MAX_TAGS:
            raise InvalidInput(f"at most {MAX_TAGS} tags")
        if cleaned != ticket.tags:
            changes["tags"] = [ticket.tags, cleaned]
            ticket.tags = cleaned
    if not changes:
        return ticket, []
    ticket.updated_at = now
    history.record(session, ticket, "updated", now, agent=agent, changes=changes)
    return ticket, [conversation_changed(ticket.conversation_id), queue_moved()]


def transfer(
    session: Session,
    *,
    conversation_id: int,
    by_agent_id: int,
    to_agent_id: int | None = None,
    to_team_id: int | None = None,
    now: datetime | None = None,
) -> tuple[Ticket, list[Event]]:
    """Pass a conversation to another agent, or to another team's queue."""
    now = now or utcnow()
    if (to_agent_id is None) == (to_team_id is None):
        raise InvalidInput("transfer to an agent or to a team (one of them)")
    conversation = get_conversation(session, conversation_id)
    by = session.get(Agent, by_agent_id)
    if by is None:
        raise NotFound(f"agent {by_agent_id} not found")
    ticket = active_ticket(conversation)
    if ticket is None or not conversation.state.with_people:
        raise NotAllowed("only a conversation with people (queued or taken) can be transferred")
    _may_act_for(by, ticket.assignee_id or conversation.agent_id, "conversation")
    ticket.transfer_count += 1
    if to_agent_id is not None:
        target = get_agent(session, to_agent_id)
        if target.id == ticket.assignee_id:
            raise InvalidInput(f"{target.name} has this conversation already")
        return routing.assign_to(session, ticket, target, now, reason="transfer", by=by)
    assert to_team_id is not None
    team = get_team(session, to_team_id)
    ticket.team = team
    ticket.assignee = None
    ticket.updated_at = now
    if conversation.state is ConversationState.AGENT:
        conversation.state = conversation.state.transition(ConversationState.QUEUED)
    conversation.agent = None
    history.record(session, ticket, "transferred", now, agent=by, to_team=team.id)
    message = add_message(
        session,
        conversation,
        MessageRole.SYSTEM,
        [
            say(
                N_(
                    "{agent} passed your conversation to our {team} team; someone will be with"
                    " you shortly."
                ),
                agent=by.name,
                team=team.name,
            )
        ],
    )
    session.flush()
    return ticket, [
        message_created(conversation.id, message.id),
        conversation_changed(conversation.id),
        queue_moved(),
        *routing.auto_assign(session, now=now)[1],
    ]
