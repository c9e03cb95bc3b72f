"""The system of record: contacts, conversations, messages, tickets and agents."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy import Enum as SAEnum
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from handoff.states import (
    AgentRole,
    AssignmentMode,
    ConversationState,
    DeliveryStatus,
    InboundStatus,
    MessageRole,
    MessageStatus,
    Presence,
    Priority,
    TicketStatus,
)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC, always hands back an aware datetime (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def _enum(enum_cls: type[StrEnum]) -> SAEnum:
    # Stored as plain strings (no native enum type) so SQLite and PostgreSQL agree and new
    # values need no ALTER TYPE.
    return SAEnum(
        enum_cls,
        native_enum=False,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    pass


class Contact(Base):
    """One record per person, whichever channels they write from."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    phone: Mapped[str | None] = mapped_column(String(64), default=None)
    # Set when this record was merged into another: it is kept (and points there) so old
    # links and identities still resolve.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    conversations: Mapped[list[Conversation]] = relationship(back_populates="contact")
    identities: Mapped[list[ContactIdentity]] = relationship(
        back_populates="contact", order_by="ContactIdentity.id"
    )


class ContactIdentity(Base):
    """Who the contact is on one channel: a verified site user id, a Telegram chat, ..."""

    __tablename__ = "contact_identities"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    contact: Mapped[Contact] = relationship(back_populates="identities")


team_members = Table(
    "team_members",
    Base.metadata,
    Column("team_id", ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True),
    Column("agent_id", ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True),
)


class Agent(Base):
    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    role: Mapped[AgentRole] = mapped_column(_enum(AgentRole), default=AgentRole.AGENT)
    presence: Mapped[Presence] = mapped_column(_enum(Presence), default=Presence.OFFLINE)
    presence_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # How many conversations the agent handles at once; automatic assignment stops there.
    capacity: Mapped[int] = mapped_column(Integer, default=3)
    # Round robin hands the next conversation to whoever got one longest ago.
    last_assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    teams: Mapped[list[Team]] = relationship(secondary=team_members, back_populates="members")


class Team(Base):
    """A group of agents with skills: the topics, languages and channels it takes.

    An empty skill list means "any"; the hand-off picks the most specific matching team."""

    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    assignment_mode: Mapped[AssignmentMode] = mapped_column(
        _enum(AssignmentMode), default=AssignmentMode.CLAIM
    )
    # Breached tickets may be reassigned to the lead (SLA policy `reassign_lead`).
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    members: Mapped[list[Agent]] = relationship(secondary=team_members, back_populates="teams")
    lead: Mapped[Agent | None] = relationship(foreign_keys=[lead_id])


class AgentSession(Base):
    """A login: the token itself is never stored, only its SHA-256."""

    __tablename__ = "agent_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    agent: Mapped[Agent] = relationship()


class AgentConnection(Base):
    """One open agents' console socket, on one hub. The hub heartbeats its records; a record
    past `expires_at` is a console whose hub died (nobody closed it), and the agent is offline
    once none of theirs is live (handoff/agents.py)."""

    __tablename__ = "agent_connections"

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    hub_id: Mapped[str] = mapped_column(String(64), index=True)
    connection_id: Mapped[str] = mapped_column(String(64), unique=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Written by the hub that heartbeats (its interval times 3), so readers need no setting.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Conversation(Base):
    __tablename__ = "conversations"
    # A chat on a platform (a Telegram chat, an email thread) is one conversation.
    __table_args__ = (
        UniqueConstraint("channel", "external_id", name="uq_conversations_channel_external_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    channel: Mapped[str] = mapped_column(String(32), default="widget")
    language: Mapped[str] = mapped_column(String(16), default="en")
    # Where `language` came from (handoff.intake.LanguageSource): detection from the
    # customer's words may replace a default or a hint, never an explicit choice.
    language_source: Mapped[str] = mapped_column(
        String(16), default="default", server_default="default"
    )
    # The widget's bearer secret for resuming this conversation (kept in localStorage).
    public_token: Mapped[str] = mapped_column(String(64), unique=True)
    # The platform's id of the chat or thread, for conversations that live on a channel
    # reached by an API; their bot, agent and system messages go out through the outbox.
    external_id: Mapped[str | None] = mapped_column(String(255), default=None)
    state: Mapped[ConversationState] = mapped_column(
        _enum(ConversationState), default=ConversationState.BOT, index=True
    )
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    contact: Mapped[Contact] = relationship(back_populates="conversations")
    agent: Mapped[Agent | None] = relationship()
    messages: Mapped[list[Message]] = relationship(
        back_populates="conversation", order_by="Message.id"
    )
    tickets: Mapped[list[Ticket]] = relationship(
        back_populates="conversation", order_by="Ticket.id"
    )

    @property
    def rasa_sender_id(self) -> str:
        return f"conversation-{self.id}"


class Message(Base):
    __tablename__ = "messages"
    # A widget re-sends what it has no ack for; the same client_id must not store twice.
    # The index: every hub looks for messages left received (handoff/pending.py).
    __table_args__ = (
        UniqueConstraint("conversation_id", "client_id"),
        Index("ix_messages_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    role: Mapped[MessageRole] = mapped_column(_enum(MessageRole))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[MessageStatus] = mapped_column(
        _enum(MessageStatus), default=MessageStatus.PROCESSED
    )
    # Bot answers: {"sources": [...], "decision": ...}; failures: {"error": ...}.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), default=None)
    client_id: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    conversation: Mapped[Conversation] = relationship(back_populates="messages")
    # Joined: a message is shown with its author's name, often after its session closed.
    agent: Mapped[Agent | None] = relationship(lazy="joined")
    # How it left by a channel's API, for conversations on one (None for live channels).
    delivery: Mapped[Delivery | None] = relationship(
        back_populates="message", lazy="joined", uselist=False
    )


class Ticket(Base):
    __tablename__ = "tickets"
    # The queue view: active tickets by team, most urgent and oldest first.
    __table_args__ = (Index("ix_tickets_queue", "status", "team_id", "priority_rank", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    reason: Mapped[str] = mapped_column(String(64))
    status: Mapped[TicketStatus] = mapped_column(
        _enum(TicketStatus), default=TicketStatus.NEW, index=True
    )
    priority: Mapped[Priority] = mapped_column(_enum(Priority), default=Priority.NORMAL)
    # 0 = urgent .. 3 = low, kept beside `priority` so the queue sorts on an index.
    priority_rank: Mapped[int] = mapped_column(Integer, default=2)
    category: Mapped[str | None] = mapped_column(String(100), default=None)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    channel: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(16), default="en")
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), default=None, index=True)
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id"), default=None, index=True
    )
    # A snapshot of the conversation at hand-off: the ticket must stand on its own even if
    # the conversation goes on (or is purged later).
    transcript: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # What the bot tried before handing off: the articles, their scores, the decision.
    bot_attempts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # How it ended: "resolved" by an agent, or "handed_back" to the bot.
    resolution: Mapped[str | None] = mapped_column(String(32), default=None)
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # SLA clocks (handoff/sla.py): due times in business hours. While the ticket is pending
    # on the customer the resolution clock stops: its due time is cleared and the business
    # time that was left is kept, to restart from when the customer answers.
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    first_response_due: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    resolution_due: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    resolution_left_seconds: Mapped[int | None] = mapped_column(Integer, default=None)
    pending_since: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    first_response_breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    resolution_breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    transfer_count: Mapped[int] = mapped_column(Integer, default=0)
    # Customer satisfaction, asked when the agent resolves: 1-5, an optional comment, and
    # a flag on low scores for a person to follow up.
    csat_score: Mapped[int | None] = mapped_column(Integer, default=None)
    csat_comment: Mapped[str | None] = mapped_column(Text, default=None)
    csat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    csat_flagged: Mapped[bool] = mapped_column(default=False)

    conversation: Mapped[Conversation] = relationship(back_populates="tickets")
    contact: Mapped[Contact] = relationship()
    assignee: Mapped[Agent | None] = relationship()
    team: Mapped[Team | None] = relationship()
    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id"
    )


class TicketEvent(Base):
    """The ticket's history: every step of its handling, SLA breaches included."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(48))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="events")
    agent: Mapped[Agent | None] = relationship()


class Note(Base):
    """An internal note by an agent, on a conversation (and its ticket) or on a contact.

    Notes live apart from messages so nothing can ever send one to the customer."""

    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    text: Mapped[str] = mapped_column(Text)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[Agent] = relationship(lazy="joined")


class SlaPolicy(Base):
    """Targets for one priority, in business minutes, and what a breach sets off."""

    __tablename__ = "sla_policies"

    priority: Mapped[Priority] = mapped_column(_enum(Priority), primary_key=True)
    first_response_minutes: Mapped[int] = mapped_column(Integer)
    resolution_minutes: Mapped[int] = mapped_column(Integer)
    # "none", "raise_priority" (one step, to urgent at most) or "reassign_lead".
    on_breach: Mapped[str] = mapped_column(String(32), default="none")


class InboundEvent(Base):
    """Everything a channel brought in, written before anything else happens to it.

    Unique per channel and the platform's event id: a platform's retry of the same event
    is stored once, so it is answered once."""

    __tablename__ = "inbound_events"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(32), default="message")
    status: Mapped[InboundStatus] = mapped_column(
        _enum(InboundStatus), default=InboundStatus.RECEIVED, index=True
    )
    # The normalised event (what the adapter parsed), enough to process it again.
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id"), default=None, index=True
    )
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), default=None)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Delivery(Base):
    """The outbox: one row per message to send through a channel's API, queued in the
    transaction that stores the message, delivered in order per conversation."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), unique=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    status: Mapped[DeliveryStatus] = mapped_column(
        _enum(DeliveryStatus), default=DeliveryStatus.QUEUED
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The platform's id of what it accepted (a Telegram message id, an email Message-ID).
    external_id: Mapped[str | None] = mapped_column(String(255), default=None, index=True)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    message: Mapped[Message] = relationship(back_populates="delivery")
    conversation: Mapped[Conversation] = relationship()


class AuditEntry(Base):
    """Who did what, when and from where: logins, takeovers, transfers, merges, exports,
    deletions, account and setting changes. Written in the transaction of the change it
    records; nothing updates or deletes a row (the API has no way to)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_action_at", "action", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # Null for what no signed-in agent did: a failed login, the CLI.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), default=None, index=True)
    action: Mapped[str] = mapped_column(String(48))
    target: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip: Mapped[str] = mapped_column(String(64), default="")

    actor: Mapped[Agent | None] = relationship()


class HelpArticleDay(Base):
    """A help-center article's day: page views and "Was this article helpful?" answers
    (counters, so a busy help center adds one row per article, language and day)."""

    __tablename__ = "help_article_days"
    __table_args__ = (UniqueConstraint("article_id", "lang", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[str] = mapped_column(String(200), index=True)
    lang: Mapped[str] = mapped_column(String(16))
    day: Mapped[date] = mapped_column(Date, index=True)
    views: Mapped[int] = mapped_column(Integer, default=0)
    helpful: Mapped[int] = mapped_column(Integer, default=0)
    not_helpful: Mapped[int] = mapped_column(Integer, default=0)


class KbRevision(Base):
    """One change of a knowledge-base article made in the console (or restored there): the
    file's text before and after, who and when. The files stay the source of truth; this is
    their history, so any version can be restored."""

    __tablename__ = "kb_revisions"
    __table_args__ = (Index("ix_kb_revisions_article", "article_id", "lang", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[str] = mapped_column(String(200))
    lang: Mapped[str] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(String(500))
    action: Mapped[str] = mapped_column(String(16))  # create, edit, restore
    text_before: Mapped[str | None] = mapped_column(Text, default=None)  # None: a new file
    text_after: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), default=None)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[Agent | None] = relationship()
