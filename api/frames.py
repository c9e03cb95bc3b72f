"""Every frame of the hub's sockets, as TypedDicts so mypy checks the code that builds them.

Three channels (docs/protocol.md):
- the widget's WebSocket `/ws/widget` (`api/routes/widget.py`; live frames from `api/live.py`);
- the agents' WebSocket `/ws/agents` (`api/routes/agents.py`; live frames from `api/live.py`);
- Rasa's socket.io channel for rasa-webchat (`api/routes/socketio_channel.py`).

Records a frame shares with the REST API (a message, a conversation summary, a note, a
ticket event, a contact) are built by `api/serializers.py` as plain dicts; their shape is
the matching model in `api.schemas` (`MessageOut`, `ConversationSummary`, `NoteOut`,
`TicketEventOut`, `ContactOut`), which the REST answers are validated against. Frames read
from a client are what the protocol allows; the hub still checks every value it uses, since
nothing on the wire is trusted to match.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

# ---- Records inside frames -------------------------------------------------------------

MessageData = dict[str, Any]
"""A message, shaped as `api.schemas.MessageOut` (`serializers.message_dict`)."""

ConversationData = dict[str, Any]
"""A conversation, shaped as `api.schemas.ConversationSummary`."""

NoteData = dict[str, Any]
"""An internal note, shaped as `api.schemas.NoteOut`."""

TicketEventData = dict[str, Any]
"""A line of a ticket's history, shaped as `api.schemas.TicketEventOut`."""

ContactData = dict[str, Any]
"""A contact's own fields, shaped as `api.schemas.ContactOut`."""


class AgentBriefData(TypedDict):
    id: int
    name: str


class QueuePlace(TypedDict):
    """Where a waiting conversation stands: 1 is next; the wait is null when nobody in its
    team is online."""

    position: int
    estimated_wait_seconds: int | None


class WidgetConversation(TypedDict):
    """The conversation as the widget knows it (`serializers.widget_conversation`). No id
    in a welcome before the customer's first message: nothing is stored until then."""

    id: int | None
    state: str
    agent: AgentBriefData | None
    ticket_number: int | None
    queue: QueuePlace | None


class WelcomeConversation(WidgetConversation):
    language: str
    agents_available: bool
    form: str | None


class WelcomeContact(TypedDict):
    name: str
    email: str | None
    verified: bool


# ---- Widget socket: client -> hub ------------------------------------------------------


class IdentityClaim(TypedDict, total=False):
    """A site's signed user (`user_hash`: hex HMAC-SHA256 of `user_id`)."""

    user_id: str
    user_hash: str
    name: str
    email: str


class HelloFrame(TypedDict):
    type: Literal["hello"]
    token: str | None
    language: NotRequired[str]
    # The site set the widget's `lang`: detection from the customer's words will not change it.
    language_explicit: NotRequired[bool]
    identity: NotRequired[IdentityClaim | None]


class CustomerMessageFrame(TypedDict):
    type: Literal["message"]
    text: str
    client_id: NotRequired[str]
    payload: NotRequired[str]


class CustomerTypingFrame(TypedDict):
    type: Literal["typing"]


class PingFrame(TypedDict):
    type: Literal["ping"]


WidgetInbound = HelloFrame | CustomerMessageFrame | CustomerTypingFrame | PingFrame

# ---- Widget socket: hub -> client ------------------------------------------------------


class WelcomeFrame(TypedDict):
    type: Literal["welcome"]
    token: str
    conversation: WelcomeConversation
    contact: WelcomeContact
    messages: list[MessageData]


class AckFrame(TypedDict):
    type: Literal["ack"]
    client_id: object  # echoed as the client sent it
    message: MessageData
    agents_available: bool


class WidgetMessageFrame(TypedDict):
    type: Literal["message"]
    message: MessageData


class StateFrame(TypedDict):
    """The conversation moved, or the queue did (a WidgetConversation without its id)."""

    type: Literal["state"]
    state: str
    agent: AgentBriefData | None
    ticket_number: int | None
    queue: QueuePlace | None


class BotTypingFrame(TypedDict):
    type: Literal["typing"]
    role: Literal["bot"]
    active: bool


class AgentTypingFrame(TypedDict):
    type: Literal["typing"]
    role: Literal["agent"]
    name: str


class FormFrame(TypedDict):
    type: Literal["form"]
    form: str | None


class PongFrame(TypedDict):
    type: Literal["pong"]


class ErrorFrame(TypedDict):
    """A refused frame; the socket stays open. `client_id` when it was a message, `code`
    ("token" or "identity") when it was a hello, "rate" (with `retry_after` seconds) when a
    rate limit refused it: a message refused so was not stored, and may be sent again."""

    type: Literal["error"]
    error: str
    client_id: NotRequired[object]
    code: NotRequired[str]
    retry_after: NotRequired[int]


WidgetFrame = (
    WelcomeFrame
    | AckFrame
    | WidgetMessageFrame
    | StateFrame
    | BotTypingFrame
    | AgentTypingFrame
    | FormFrame
    | PongFrame
    | ErrorFrame
)
"""Anything the hub sends a widget."""

WidgetLiveFrame = WidgetMessageFrame | StateFrame | BotTypingFrame | AgentTypingFrame | FormFrame
"""What the broker delivers to a conversation's open widgets (and the socket.io channel)."""

# ---- Agents' socket --------------------------------------------------------------------


class ConsoleTypingFrame(TypedDict):
    """Console -> hub: the agent is typing in that conversation."""

    type: Literal["typing"]
    conversation_id: int


class ConversationFrame(TypedDict):
    type: Literal["conversation"]
    conversation: ConversationData


class AgentMessageFrame(TypedDict):
    type: Literal["message"]
    conversation_id: int
    message: MessageData


class NoteFrame(TypedDict):
    type: Literal["note"]
    note: NoteData


class TicketEventFrame(TypedDict):
    type: Literal["ticket_event"]
    conversation_id: int
    event: TicketEventData


class PresenceFrame(TypedDict):
    type: Literal["presence"]
    agent_id: int
    presence: str


class ContactFrame(TypedDict):
    type: Literal["contact"]
    contact: ContactData


class CustomerTypingRelay(TypedDict):
    type: Literal["typing"]
    conversation_id: int
    role: Literal["customer"]


AgentFrame = (
    ConversationFrame
    | AgentMessageFrame
    | NoteFrame
    | TicketEventFrame
    | PresenceFrame
    | ContactFrame
    | CustomerTypingRelay
)
"""Anything the hub sends an agent console."""

# ---- Rasa's socket.io channel (rasa-webchat) -------------------------------------------


class SessionRequest(TypedDict):
    """`session_request`: null for a new visitor, or the id of an earlier session_confirm."""

    session_id: str | None


class UserUttered(TypedDict):
    """`user_uttered`: the text, or the payload of a chosen quick reply."""

    message: str
    session_id: NotRequired[str]
    customData: NotRequired[dict[str, Any] | str]
    metadata: NotRequired[dict[str, Any] | str]


SessionConfirm = str
"""`session_confirm`: the bare session id, as Rasa sends it."""


class QuickReply(TypedDict):
    content_type: Literal["text"]
    title: str
    payload: str


class BotUttered(TypedDict):
    """`bot_uttered`: rasa-webchat shows `{text}` and `{text, quick_replies}` only."""

    text: str
    quick_replies: NotRequired[list[QuickReply]]
