"""Help for agents beside a conversation: for the customer's latest message, the knowledge
base's best sections and what colleagues answered to similar questions in conversations
their customers rated 4 or 5."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from api import schemas, serializers
from api.hub import Hub
from api.routes.deps import AgentRef, current_agent, get_hub
from api.routes.params import PathId
from handoff import lookups, past_replies

router = APIRouter(prefix="/api", tags=["agents"])

ARTICLES = 3
REPLIES = 3


@router.get("/conversations/{conversation_id}/assist", response_model=schemas.AssistOut)
def assist(
    conversation_id: PathId, hub: Hub = Depends(get_hub), _agent: AgentRef = Depends(current_agent)
) -> dict[str, Any]:
    """A sync route: the encoder runs in FastAPI's thread pool, off the event loop."""
    with hub.sessions() as session:
        lookups.get_conversation(session, conversation_id)  # 404 for an unknown one
        latest = lookups.latest_customer_message(session, conversation_id)
        if latest is None:
            return {
                "message_id": None, "query": None, "decision": None, "articles": [], "replies": []
            }  # fmt: skip
        message_id, query = latest.id, latest.text
        replies = past_replies.rated_replies(session, exclude_conversation=conversation_id)
    result = hub.knowledge.search(query)
    # The same reply given in several conversations is one suggestion.
    unique = list({r.text.strip(): r for r in replies}.values())
    matches = hub.knowledge.similar(query, unique, [r.question for r in unique], k=REPLIES)
    return {
        "message_id": message_id,
        "query": query,
        "decision": result.decision,
        "articles": [serializers.kb_hit(h) for h in hub.knowledge.worth_offering(result, ARTICLES)],
        "replies": [
            {
                "text": m.item.text,
                "question": m.item.question,
                "score": round(m.score, 4),
                "conversation_id": m.item.conversation_id,
                "ticket_number": m.item.ticket_number,
                "rating": m.item.rating,
            }
            for m in matches
        ],
    }
