"""Customer satisfaction after resolution: a 1-5 rating, then an optional comment.

The hub asks, not Rasa: the rating belongs to the ticket the agent resolved, and the
conversation stays resolved while the customer answers. Any other message starts fresh.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from sqlalchemy.orm import Session

from handoff.events import Event, conversation_changed, message_created
from handoff.lookups import latest_bot_message
from handoff.messages import add_message
from handoff.models import Conversation, Message, Ticket, utcnow
from handoff.states import MessageRole
from handoff.texts import N_, Say, say

RATE_PAYLOAD = "/rate"
NO_COMMENT_PAYLOAD = "/no_comment"
# A score at or below this is flagged for a person to follow up.
LOW_SCORE = 2
Step = Literal["rating", "comment"]

ASK_RATING = N_("How did we do? Please rate the help you got, from 1 (poor) to 5 (great).")
ASK_COMMENT = N_(
    "Thank you! Is there anything you would like to add? Type it here, or choose No, thanks."
)
THANKS = N_("Thanks for your feedback! Write here any time you need help.")
NO_THANKS = N_("No, thanks")


def rate_payload(score: int) -> str:
    return f"{RATE_PAYLOAD}{json.dumps({'score': score})}"


def rating_prompt(ticket: Ticket) -> tuple[list[Say], dict[str, Any]]:
    buttons = [{"title": str(n), "payload": rate_payload(n)} for n in range(1, 6)]
    return [say(ASK_RATING)], {"kind": "csat_rating", "ticket_id": ticket.id, "buttons": buttons}


def pending_step(session: Session, conversation: Conversation) -> tuple[Step, int] | None:
    """What the latest bot message asked for, if it is a CSAT question: (step, ticket id)."""
    latest = latest_bot_message(session, conversation.id)
    if latest is None:
        return None
    kind = latest.payload.get("kind")
    if kind == "csat_rating":
        return "rating", int(latest.payload["ticket_id"])
    if kind == "csat_comment":
        return "comment", int(latest.payload["ticket_id"])
    return None


def score_of(button: str) -> int | None:
    if not button.startswith(RATE_PAYLOAD + "{"):
        return None
    try:
        score = int(json.loads(button[len(RATE_PAYLOAD) :])["score"])
    except (ValueError, KeyError, TypeError):
        return None
    return score if 1 <= score <= 5 else None


def is_reply(step: Step, button: str | None) -> bool:
    """Whether a customer message answers the pending CSAT question."""
    if step == "rating":
        return button is not None and score_of(button) is not None
    # After the rating, the next typed message is the comment (or the "No, thanks" button).
    return button is None or button == NO_COMMENT_PAYLOAD


def record_reply(
    session: Session, *, conversation: Conversation, step: Step, ticket_id: int, message: Message
) -> tuple[Ticket, list[Event]]:
    """Keep the customer's rating or comment on the ticket and ask the next question."""
    ticket = session.get(Ticket, ticket_id)
    assert ticket is not None
    button = message.payload.get("button")
    if step == "rating":
        ticket.csat_score = score_of(str(button))
        ticket.csat_at = utcnow()
        ticket.csat_flagged = (ticket.csat_score or 0) <= LOW_SCORE
        buttons = [{"title": NO_THANKS, "payload": NO_COMMENT_PAYLOAD}]
        payload = {"kind": "csat_comment", "ticket_id": ticket.id, "buttons": buttons}
        reply = add_message(
            session, conversation, MessageRole.BOT, [say(ASK_COMMENT)], payload=payload
        )
    else:
        if button != NO_COMMENT_PAYLOAD:
            ticket.csat_comment = message.text
        reply = add_message(
            session, conversation, MessageRole.BOT, [say(THANKS)], payload={"kind": "csat_done"}
        )
    return ticket, [
        message_created(conversation.id, reply.id),
        conversation_changed(conversation.id),
    ]
