"""Lifecycle state machines for conversations and tickets.

Each enum knows its legal moves; `transition` refuses anything else, so a bug in a route
cannot, say, resolve a conversation nobody took or hand a closed ticket back to the queue.
"""

from __future__ import annotations

from enum import StrEnum


class IllegalTransition(ValueError):
    """A state change the lifecycle does not allow."""

    def __init__(self, kind: str, current: str, target: str) -> None:
        super().__init__(f"{kind} cannot go from '{current}' to '{target}'")
        self.kind = kind
        self.current = current
        self.target = target


# A ticket's `resolution` when the agent handed the customer back to the bot: it does not
# reopen when the customer writes again.
HANDED_BACK = "handed_back"


class ConversationState(StrEnum):
    BOT = "bot"  # the bot answers
    QUEUED = "queued"  # handed off, a ticket is open, waiting for an agent
    AGENT = "agent"  # an agent took it over
    RESOLVED = "resolved"  # the agent resolved it; the next customer message goes to the bot

    def can_become(self, target: ConversationState) -> bool:
        return target in _CONVERSATION_MOVES[self]

    def transition(self, target: ConversationState) -> ConversationState:
        if not self.can_become(target):
            raise IllegalTransition("conversation", self.value, target.value)
        return target

    @property
    def with_people(self) -> bool:
        """While with people, the customer's messages go to agents, not to Rasa."""
        return self in (ConversationState.QUEUED, ConversationState.AGENT)


_CONVERSATION_MOVES: dict[ConversationState, frozenset[ConversationState]] = {
    ConversationState.BOT: frozenset({ConversationState.QUEUED}),
    ConversationState.QUEUED: frozenset({ConversationState.AGENT, ConversationState.RESOLVED}),
    ConversationState.AGENT: frozenset(
        {ConversationState.RESOLVED, ConversationState.BOT, ConversationState.QUEUED}
    ),
    # Back to the agent who had it: a reopened ticket.
    ConversationState.RESOLVED: frozenset(
        {ConversationState.BOT, ConversationState.QUEUED, ConversationState.AGENT}
    ),
}


class TicketStatus(StrEnum):
    NEW = "new"  # opened by a hand-off, nobody has it yet
    OPEN = "open"  # an agent is on it
    PENDING = "pending"  # waiting on the customer
    RESOLVED = "resolved"
    CLOSED = "closed"

    def can_become(self, target: TicketStatus) -> bool:
        return target in _TICKET_MOVES[self]

    def transition(self, target: TicketStatus) -> TicketStatus:
        if not self.can_become(target):
            raise IllegalTransition("ticket", self.value, target.value)
        return target

    @property
    def is_active(self) -> bool:
        return self in (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING)


_TICKET_MOVES: dict[TicketStatus, frozenset[TicketStatus]] = {
    TicketStatus.NEW: frozenset({TicketStatus.OPEN, TicketStatus.RESOLVED}),
    TicketStatus.OPEN: frozenset({TicketStatus.PENDING, TicketStatus.RESOLVED}),
    TicketStatus.PENDING: frozenset({TicketStatus.OPEN, TicketStatus.RESOLVED}),
    TicketStatus.RESOLVED: frozenset({TicketStatus.OPEN, TicketStatus.CLOSED}),
    TicketStatus.CLOSED: frozenset(),
}


class MessageRole(StrEnum):
    CUSTOMER = "customer"
    BOT = "bot"
    AGENT = "agent"
    SYSTEM = "system"


class MessageStatus(StrEnum):
    """Where a customer's message is in its handling; it is stored as RECEIVED first."""

    RECEIVED = "received"
    PROCESSED = "processed"  # answered by the bot, or routed to people
    FAILED = "failed"  # something downstream failed; the message is kept and handed to people


class Priority(StrEnum):
    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"

    @property
    def rank(self) -> int:
        """0 for urgent .. 3 for low: the queue's sort order."""
        return list(Priority).index(self)

    def raised(self) -> Priority:
        return list(Priority)[max(0, self.rank - 1)]


class Presence(StrEnum):
    ONLINE = "online"  # takes conversations
    AWAY = "away"  # logged in, finishing what they have; gets nothing new
    OFFLINE = "offline"


class AgentRole(StrEnum):
    """What an account may do; each role includes the ones before it."""

    AGENT = "agent"  # works conversations: their own, and the shared queue
    LEAD = "lead"  # also anyone's work, teams, SLA policies, reports, the knowledge base
    ADMIN = "admin"  # also agent accounts, channels, settings and the audit log

    @property
    def rank(self) -> int:
        return list(AgentRole).index(self)

    def includes(self, other: AgentRole) -> bool:
        """An admin is also a lead, and a lead also an agent."""
        return self.rank >= other.rank


class AssignmentMode(StrEnum):
    CLAIM = "claim"  # agents take conversations from the queue themselves
    ROUND_ROBIN = "round_robin"  # to the online member who got one longest ago
    LEAST_BUSY = "least_busy"  # to the online member with the fewest open conversations


class HandoffReason(StrEnum):
    CUSTOMER_REQUEST = "customer_request"
    BOT_UNAVAILABLE = "bot_unavailable"
    LOW_CONFIDENCE = "low_confidence"
    NOT_HELPFUL = "not_helpful"
    URGENT = "urgent"
    FRUSTRATION = "frustration"


class DeliveryStatus(StrEnum):
    """A reply leaving by a channel's API (the outbox)."""

    QUEUED = "queued"  # waiting for its turn (or for a retry)
    SENT = "sent"  # the platform accepted it
    DELIVERED = "delivered"  # the platform says it reached the customer's device
    READ = "read"
    FAILED = "failed"  # for good: blocked, unknown chat, window closed, too many tries

    def can_become(self, target: DeliveryStatus) -> bool:
        return target in _DELIVERY_MOVES[self]

    def transition(self, target: DeliveryStatus) -> DeliveryStatus:
        if not self.can_become(target):
            raise IllegalTransition("delivery", self.value, target.value)
        return target


_DELIVERY_MOVES: dict[DeliveryStatus, frozenset[DeliveryStatus]] = {
    DeliveryStatus.QUEUED: frozenset({DeliveryStatus.SENT, DeliveryStatus.FAILED}),
    # Platforms report statuses late and out of order: later news may still arrive.
    DeliveryStatus.SENT: frozenset(
        {DeliveryStatus.DELIVERED, DeliveryStatus.READ, DeliveryStatus.FAILED}
    ),
    DeliveryStatus.DELIVERED: frozenset({DeliveryStatus.READ}),
    DeliveryStatus.READ: frozenset(),
    DeliveryStatus.FAILED: frozenset(),
}


class InboundStatus(StrEnum):
    """An event a channel's webhook (or mailbox) brought in."""

    RECEIVED = "received"  # stored, acknowledged, not yet turned into a message
    PROCESSED = "processed"  # stored as the customer's message (or applied)
    IGNORED = "ignored"  # nothing for us (an unknown update type, an auto-reply)
    FAILED = "failed"  # could not be turned into a message; kept with the error
