"""Tickets, their SLA clocks and history, and the queue (`api/routes/tickets.py`)."""

from __future__ import annotations

from typing import Any

from api.schemas.base import AgentBrief, ContactBrief, Schema, TeamBrief
from handoff.states import Priority, TicketStatus


class SlaClock(Schema):
    """One SLA target (`handoff.clocks.status`): `seconds_left` counts business seconds,
    negative when overdue, null once done or without a due time."""

    due: str | None
    done_at: str | None
    seconds_left: int | None
    breached: bool


class ResolutionClock(SlaClock):
    """The resolution clock also pauses while the ticket waits on the customer."""

    paused: bool


class SlaStatus(Schema):
    first_response: SlaClock
    resolution: ResolutionClock


class TicketBrief(Schema):
    """A ticket as lists show it (`serializers.ticket_brief`)."""

    id: int
    number: int
    status: TicketStatus
    priority: Priority
    reason: str
    subject: str
    category: str | None
    tags: list[str]
    team: TeamBrief | None
    assignee: AgentBrief | None
    created_at: str
    sla: SlaStatus


class TicketEventOut(Schema):
    """One line of a ticket's history; `data` depends on `kind` (free-form)."""

    id: int
    ticket_id: int
    kind: str
    data: dict[str, Any]
    agent: AgentBrief | None
    created_at: str


class Csat(Schema):
    score: int | None
    comment: str | None
    at: str | None
    flagged: bool


class TicketOut(TicketBrief):
    """The whole ticket (`serializers.ticket_dict`). `transcript` (the messages up to the
    hand-off) and `bot_attempts` (what the bot tried) are stored snapshots, free-form."""

    language: str
    first_response_at: str | None
    closed_at: str | None
    resolution: str | None
    reopen_count: int
    transfer_count: int
    history: list[TicketEventOut]
    conversation_id: int
    contact: ContactBrief
    channel: str
    transcript: list[dict[str, Any]]
    bot_attempts: list[dict[str, Any]]
    updated_at: str
    resolved_at: str | None
    csat: Csat


class TicketList(Schema):
    tickets: list[TicketOut]


class QueueContact(Schema):
    id: int
    name: str


class QueueItem(TicketBrief):
    """A waiting ticket; `position` only when the queue is one team's (`?team_id=`)."""

    conversation_id: int
    channel: str
    language: str
    contact: QueueContact
    waiting_seconds: int
    position: int | None


class QueueOut(Schema):
    queue: list[QueueItem]
