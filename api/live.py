"""Live updates: fans committed events out to open widgets and agent consoles.

Each process keeps its own subscribers in memory and delivers to them itself; the bus
(api/bus.py) tells the other hubs, whose Brokers build the frames for theirs.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from api import serializers
from api.bus import Bus, BusMessage, LocalBus
from api.frames import (
    AgentFrame,
    AgentMessageFrame,
    ConversationFrame,
    StateFrame,
    WidgetConversation,
    WidgetLiveFrame,
    WidgetMessageFrame,
)
from handoff.events import Event
from handoff.models import Agent, Contact, Conversation, Message, Note, TicketEvent
from handoff.sla import Calendar
from handoff.states import ConversationState

log = logging.getLogger(__name__)
Delivery = tuple[int, WidgetLiveFrame | None, AgentFrame | None]
"""(conversation id, frame for its widgets, frame for every console)."""


@dataclass(frozen=True)
class Listening:
    """Who this hub has to build frames for: agents' consoles at all, and the conversations
    with an open widget (None: every conversation)."""

    agents: bool
    widgets: frozenset[int] | None


def state_frame(widget: WidgetConversation) -> StateFrame:
    """The widget's `state` frame: its conversation without the id."""
    return {
        "type": "state",
        "state": widget["state"],
        "agent": widget["agent"],
        "ticket_number": widget["ticket_number"],
        "queue": widget["queue"],
    }


class Broker:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        calendar: Calendar | None = None,
        bus: Bus | None = None,
    ) -> None:
        self._sessions = sessions
        self.bus: Bus = bus or LocalBus()
        self._calendar = calendar or Calendar()
        self._widgets: dict[int, set[asyncio.Queue[WidgetLiveFrame]]] = defaultdict(set)
        self._agents: set[asyncio.Queue[AgentFrame]] = set()
        self._agent_sockets: dict[int, int] = {}

    def subscribe_widget(self, conversation_id: int) -> asyncio.Queue[WidgetLiveFrame]:
        queue: asyncio.Queue[WidgetLiveFrame] = asyncio.Queue()
        self._widgets[conversation_id].add(queue)
        return queue

    def unsubscribe_widget(
        self, conversation_id: int, queue: asyncio.Queue[WidgetLiveFrame]
    ) -> None:
        subscribers = self._widgets.get(conversation_id)
        if subscribers is not None:
            subscribers.discard(queue)
            if not subscribers:
                del self._widgets[conversation_id]

    def subscribe_agent(self, agent_id: int = 0) -> asyncio.Queue[AgentFrame]:
        queue: asyncio.Queue[AgentFrame] = asyncio.Queue()
        self._agents.add(queue)
        self._agent_sockets[agent_id] = self._agent_sockets.get(agent_id, 0) + 1
        return queue

    def unsubscribe_agent(self, queue: asyncio.Queue[AgentFrame], agent_id: int = 0) -> bool:
        """Returns True when that was the agent's last open console."""
        self._agents.discard(queue)
        left = self._agent_sockets.get(agent_id, 1) - 1
        if left > 0:
            self._agent_sockets[agent_id] = left
            return False
        self._agent_sockets.pop(agent_id, None)
        return True

    def send_to_widget(self, conversation_id: int, frame: WidgetLiveFrame) -> None:
        """A transient frame (e.g. typing) to the conversation's open widgets; not stored."""
        self._to_widgets(conversation_id, frame)
        self.bus.relay(BusMessage("widget", conversation_id=conversation_id, frame=dict(frame)))

    def send_to_agents(self, frame: AgentFrame) -> None:
        """A transient frame to every open console; not stored."""
        self._to_agents(frame)
        self.bus.relay(BusMessage("agents", frame=dict(frame)))

    def _to_widgets(self, conversation_id: int, frame: WidgetLiveFrame) -> None:
        for queue in list(self._widgets.get(conversation_id, ())):
            queue.put_nowait(frame)

    def _to_agents(self, frame: AgentFrame) -> None:
        for queue in list(self._agents):
            queue.put_nowait(frame)

    async def receive(self, message: BusMessage) -> None:
        """What another hub relayed: events become frames for this hub's subscribers."""
        if message.target == "events":
            await self._deliver(list(message.events))
        elif message.target == "widget" and message.frame is not None:
            self._to_widgets(message.conversation_id, message.frame)  # type: ignore[arg-type]
        elif message.target == "agents" and message.frame is not None:
            self._to_agents(message.frame)  # type: ignore[arg-type]

    def widget_conversations(self) -> list[int]:
        """Conversations with an open widget (to tell queued ones their new position)."""
        return list(self._widgets)

    @property
    def agents_online(self) -> int:
        """Open agent consoles: until agents have a presence of their own, being connected is
        being available."""
        return len(self._agents)

    def listening(self) -> Listening:
        """Who listens on this hub now. Read on the loop: worker threads must not iterate
        the subscribers."""
        return Listening(agents=bool(self._agents), widgets=frozenset(self._widgets))

    def frames_within(
        self, session: Session, events: Iterable[Event], listening: Listening
    ) -> list[Delivery] | None:
        """The frames for `events`, read in the transaction that made them (its own rows, no
        second session): `publish(events, built=...)` sends them once it has committed. In a
        savepoint, so a failure here leaves the transaction as it was; None then, and
        `publish` builds them from committed state as without this."""
        unique = list(dict.fromkeys(events))
        if not unique or not (listening.agents or listening.widgets):
            return []
        try:
            with session.begin_nested():
                return self._frames_in(session, unique, listening)
        except Exception:
            log.exception("could not build live frames for %s in their transaction", unique)
            return None

    async def publish(
        self,
        events: Iterable[Event],
        built: list[Delivery] | None = None,
        *,
        listening: Listening | None = None,
    ) -> None:
        """Send committed events to subscribers: the frames `built` in their transaction
        for who was `listening` then, else read from committed state now."""
        unique = list(dict.fromkeys(events))
        if not unique:
            return
        self.bus.relay(BusMessage("events", tuple(unique)))
        if built is not None and listening is not None and self._still_listening(listening, unique):
            self._send(built)
        else:
            await self._deliver(unique)

    def _still_listening(self, then: Listening, events: list[Event]) -> bool:
        """No one came since the frames were built who would have got one of them."""
        now = self.listening()
        if now.agents and not then.agents:
            return False
        came = (now.widgets or frozenset()) - (then.widgets or frozenset())
        if not came:
            return True
        return not any(e.kind == "queue" or e.conversation_id in came for e in events)

    async def _deliver(self, unique: list[Event]) -> None:
        if not unique or not (self._widgets or self._agents):
            return  # nobody here to tell: no need to read anything
        # Frames nobody here would receive are not built.
        listening = self.listening()
        try:
            deliveries = await asyncio.to_thread(self._frames, unique, listening)
        except Exception:  # a failed broadcast must never fail the operation that committed
            log.exception("could not build live frames for %s", unique)
            return
        self._send(deliveries)

    def _send(self, deliveries: list[Delivery]) -> None:
        for conversation_id, widget_frame, agent_frame in deliveries:
            if widget_frame is not None:
                self._to_widgets(conversation_id, widget_frame)
            if agent_frame is not None:
                self._to_agents(agent_frame)

    def _frames(self, events: list[Event], listening: Listening | None = None) -> list[Delivery]:
        with self._sessions() as session:
            return self._frames_in(
                session, events, listening or Listening(agents=True, widgets=None)
            )

    def _frames_in(
        self, session: Session, events: list[Event], listening: Listening
    ) -> list[Delivery]:
        out: list[Delivery] = []
        for event in events:
            if event.kind == "message" and event.message_id is not None:
                message = session.get(Message, event.message_id)
                if message is None:
                    continue
                data = serializers.message_dict(message)
                to_widget: WidgetMessageFrame = {"type": "message", "message": data}
                to_agents: AgentMessageFrame = {
                    "type": "message",
                    "conversation_id": event.conversation_id,
                    "message": data,
                }
                out.append((event.conversation_id, to_widget, to_agents))
            elif event.kind == "conversation":
                conversation = session.get(Conversation, event.conversation_id)
                if conversation is None:
                    continue
                state = None
                if listening.widgets is None or event.conversation_id in listening.widgets:
                    state = state_frame(serializers.widget_conversation(conversation, session))
                summary: ConversationFrame | None = None
                if listening.agents:  # the summary is a few reads: only for consoles
                    summary = {
                        "type": "conversation",
                        "conversation": serializers.conversation_summary(
                            session, conversation, self._calendar
                        ),
                    }
                out.append((event.conversation_id, state, summary))
            elif event.kind == "queue":
                out += self._queue_frames(session, listening)
            elif event.kind == "note" and event.note_id is not None:
                note = session.get(Note, event.note_id)
                if note is not None:
                    frame: AgentFrame = {"type": "note", "note": serializers.note_dict(note)}
                    out.append((event.conversation_id, None, frame))
            elif event.kind == "agent" and event.agent_id is not None:
                agent = session.get(Agent, event.agent_id)
                if agent is not None:
                    frame = {
                        "type": "presence",
                        "agent_id": agent.id,
                        "presence": agent.presence.value,
                    }
                    out.append((0, None, frame))
            elif event.kind == "contact" and event.contact_id is not None:
                contact = session.get(Contact, event.contact_id)
                if contact is not None:
                    frame = {"type": "contact", "contact": serializers.contact_dict(contact)}
                    out.append((0, None, frame))
            elif event.kind == "ticket" and event.ticket_event_id is not None:
                entry = session.get(TicketEvent, event.ticket_event_id)
                if entry is not None:
                    frame = {
                        "type": "ticket_event",
                        "conversation_id": event.conversation_id,
                        "event": serializers.ticket_event_dict(entry),
                    }
                    out.append((event.conversation_id, None, frame))
        return out

    def _queue_frames(self, session: Session, listening: Listening) -> list[Delivery]:
        """The queue moved: every waiting customer with an open widget hears their place."""
        out: list[Delivery] = []
        widgets = self.widget_conversations() if listening.widgets is None else listening.widgets
        for conversation_id in widgets:
            conversation = session.get(Conversation, conversation_id)
            if conversation is None or conversation.state is not ConversationState.QUEUED:
                continue
            widget = serializers.widget_conversation(conversation, session)
            out.append((conversation_id, state_frame(widget), None))
        return out
