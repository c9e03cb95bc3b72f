"""Tickets and the queue (agents' API)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from api import schemas, serializers
from api.hub import Hub
from api.routes.deps import AgentRef, audited, current_agent, get_hub
from api.routes.params import PathId, QueryId, limit_query
from handoff import agent_actions, lookups, routing
from handoff.models import utcnow
from handoff.states import Priority, TicketStatus

router = APIRouter(prefix="/api", tags=["tickets"])
Status = Literal["new", "open", "pending", "resolved", "closed"]


class TicketUpdate(BaseModel):
    priority: Literal["urgent", "high", "normal", "low"] | None = None
    category: str | None = Field(default=None, max_length=100)
    tags: list[str] | None = Field(default=None, max_length=20)


@router.get("/tickets", response_model=schemas.TicketList)
def list_tickets(
    status: list[Status] = Query(default=[]),
    team_id: QueryId = None,
    assignee_id: QueryId = None,
    limit: int = limit_query(200),
    hub: Hub = Depends(get_hub),
    _agent: AgentRef = Depends(current_agent),
) -> dict[str, Any]:
    calendar = hub.settings.rules.calendar
    with hub.sessions() as session:
        rows = lookups.tickets(
            session,
            statuses=[TicketStatus(s) for s in status],
            team_id=team_id,
            assignee_id=assignee_id,
            limit=limit,
        )
        return {"tickets": [serializers.ticket_dict(t, calendar) for t in rows]}


@router.get("/queue", response_model=schemas.QueueOut)
def queue(
    team_id: QueryId = None,
    limit: int = limit_query(100),
    hub: Hub = Depends(get_hub),
    _agent: AgentRef = Depends(current_agent),
) -> dict[str, Any]:
    """Waiting tickets, most urgent then oldest first, with SLA countdowns and waits."""
    calendar = hub.settings.rules.calendar
    now = utcnow()
    with hub.sessions() as session:
        rows = routing.waiting(session, team_id, limit)
        items = []
        for place, ticket in enumerate(rows, start=1):
            brief = serializers.ticket_brief(ticket, calendar, now) or {}
            items.append(
                {
                    **brief,
                    "conversation_id": ticket.conversation_id,
                    "channel": ticket.channel,
                    "language": ticket.language,  # the console names it for the agent
                    "contact": {"id": ticket.contact.id, "name": ticket.contact.name},
                    "waiting_seconds": round((now - ticket.created_at).total_seconds()),
                    "position": place if team_id is not None else None,
                }
            )
        return {"queue": items}


@router.get("/tickets/{ticket_id}", response_model=schemas.TicketOut)
def get_ticket(
    ticket_id: PathId, hub: Hub = Depends(get_hub), _agent: AgentRef = Depends(current_agent)
) -> dict[str, Any]:
    with hub.sessions() as session:
        ticket = lookups.get_ticket(session, ticket_id)
        return serializers.ticket_dict(ticket, hub.settings.rules.calendar)


@router.patch("/tickets/{ticket_id}", response_model=schemas.TicketOut)
async def update_ticket(
    ticket_id: PathId,
    body: TicketUpdate,
    hub: Hub = Depends(get_hub),
    agent: AgentRef = Depends(current_agent),
) -> dict[str, Any]:
    """Agents change their own tickets and unassigned ones; leads anyone's (else 403)."""
    await hub.flow.write(
        audited(
            agent_actions.update_ticket,
            agent=agent,
            action="ticket_update",
            target=f"ticket {ticket_id}",
            detail=body.model_dump(exclude_none=True),
            ticket_id=ticket_id,
            agent_id=agent.id,
            priority=Priority(body.priority) if body.priority else None,
            category=body.category,
            tags=body.tags,
        )
    )
    with hub.sessions() as session:
        ticket = lookups.get_ticket(session, ticket_id)
        return serializers.ticket_dict(ticket, hub.settings.rules.calendar)
