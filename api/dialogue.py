"""What happens to a customer's message: stored first, then to the bot or to people.

The order matters: the message is committed before Rasa sees it, so a crash, a timeout or
a bug anywhere after that point can only change where the message goes, never lose it.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from api.coordination import Coordinator, LocalCoordinator
from api.live import Broker, Delivery
from api.rasa_client import RasaClient, RasaUnavailable
from bot.actions.knowledge import metadata_language
from handoff import agents as agent_accounts
from handoff import intake, languages, pending, tickets
from handoff.db import transaction
from handoff.events import Event
from handoff.hours import BusinessHours
from handoff.lookups import get_conversation
from handoff.models import Conversation, Message
from handoff.replies import BotReply, record_bot_replies
from handoff.rules import DEFAULT_RULES, Rules
from handoff.states import HandoffReason, MessageStatus, Priority
from handoff.texts import N_, Say, literal, say

log = logging.getLogger(__name__)
T = TypeVar("T")
CUSTOM_KEY = "frontline"


def parse_rasa_replies(
    replies: list[dict[str, Any]],
) -> tuple[list[BotReply], dict[str, Any] | None]:
    """Rasa's REST output to our bot messages, plus a hand-off request if one was made.

    Rasa sends an utterance's text and its `custom` payload as two items; our payload
    belongs to the text just before it.
    """
    messages: list[BotReply] = []
    handoff: dict[str, Any] | None = None
    for item in replies:
        custom = item.get("custom")
        ours = custom.get(CUSTOM_KEY) if isinstance(custom, dict) else None
        text = item.get("text")
        if isinstance(text, str) and text.strip():
            payload: dict[str, Any] = {}
            if item.get("buttons"):
                payload["buttons"] = item["buttons"]
            messages.append(BotReply(text.strip(), payload))
        if isinstance(ours, dict):
            if ours.get("kind") == "handoff":
                handoff = ours
            elif messages:
                last = messages[-1]
                extra = {k: v for k, v in ours.items() if k != "kind"}
                messages[-1] = BotReply(last.text, {**last.payload, **extra})
    return messages, handoff


def kb_language(message: Message, language: str) -> str | None:
    """The language the bot's knowledge-base search uses for `message` in a conversation in
    `language`: the metadata's (below) as bot/actions/knowledge.py reads it."""
    return metadata_language({"language": language, **message.payload.get("metadata", {})})


def rasa_text(message: Message) -> str:
    """What Rasa gets for a customer message.

    Rasa reads a text starting with "/" as an intent with entities ("/restart",
    '/choose_article{"article_id": "x"}'), so only a button payload the hub checked against
    the bot's own offer may start with it; typed slashes are dropped.
    """
    button = message.payload.get("button")
    if isinstance(button, str):
        return button
    return re.sub(r"^[\s/]+", "", message.text) or "?"


@dataclass(frozen=True)
class Waiting:
    """The oldest message a conversation has waiting, and what its turn needs to know, read
    at once: whether people have the conversation, whether its language may still be
    detected, and what Rasa is told besides the text."""

    message: Message
    with_people: bool
    detectable: bool
    email: str | None
    language: str
    agents_available: bool


class ConversationFlow:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        broker: Broker,
        rasa: RasaClient,
        hours: BusinessHours | None = None,
        *,
        rules: Rules = DEFAULT_RULES,
        article_tags: Callable[[], Mapping[str, Sequence[str]]] | None = None,
        suggest: Callable[[str], str | None] | None = None,
        search_ahead: Callable[[str, str | None], None] | None = None,
        detect_language: Callable[[str], str | None] | None = None,
        coordinator: Coordinator | None = None,
    ) -> None:
        self._sessions = sessions
        self._broker = broker
        self._rasa = rasa
        self._hours = hours
        self._rules = rules
        self._article_tags = article_tags or dict
        self._suggest = suggest or (lambda _question: None)
        self._search_ahead = search_ahead or (lambda _question, _language: None)
        self._detect_language = detect_language or (lambda _text: None)
        # One message at a time per conversation, across hubs, so replies keep their order
        # and a hand-off cannot race the bot's answer to an earlier message.
        self._coordinator = coordinator or LocalCoordinator()

    @property
    def sessions(self) -> sessionmaker[Session]:
        return self._sessions

    @property
    def rules(self) -> Rules:
        return self._rules

    async def write(self, operation: Callable[[Session], tuple[T, list[Event]]]) -> T:
        """Run a write operation in its own transaction, then publish its events."""

        listening = self._broker.listening()

        def run() -> tuple[T, list[Event], list[Delivery] | None]:
            with transaction(self._sessions) as session:
                result, events = operation(session)
                # The live frames from the rows just written, in the same session and thread
                # (a second session and hop per write before); sent after the commit.
                return result, events, self._broker.frames_within(session, events, listening)

        result, events, built = await asyncio.to_thread(run)
        await self._broker.publish(events, built, listening=listening)
        return result

    async def run(self, operation: Callable[..., tuple[T, list[Event]]], /, **kwargs: Any) -> T:
        """`write` for a named operation of handoff/ and its keyword arguments."""
        return await self.write(lambda session: operation(session, **kwargs))

    @staticmethod
    def _key(conversation_id: int) -> str:
        return f"conversation:{conversation_id}"

    async def open_conversation(self, language: str = "en") -> Conversation:
        return await self.run(intake.open_conversation, channel="widget", language=language)

    async def receive(
        self,
        conversation_id: int,
        text: object,
        client_id: str | None = None,
        button: object = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Message:
        """Store the customer's message (raises InvalidInput first if it is unusable)."""
        fields = {"client_id": client_id, "button": button, "metadata": metadata}
        message, _ = await self._receive(conversation_id, text, fields, check_agents=False)
        return message

    async def receive_and_check(
        self,
        conversation_id: int,
        text: object,
        client_id: str | None = None,
        button: object = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> tuple[Message, bool]:
        """`receive`, and whether someone can take a conversation now, read in the same
        transaction (a live client's acknowledgement carries it; a second session and hop
        to a worker thread before the bot could start)."""
        fields = {"client_id": client_id, "button": button, "metadata": metadata}
        return await self._receive(conversation_id, text, fields, check_agents=True)

    async def _receive(
        self, conversation_id: int, text: object, fields: dict[str, Any], *, check_agents: bool
    ) -> tuple[Message, bool]:
        def operation(session: Session) -> tuple[tuple[Message, bool, str], list[Event]]:
            message, events = intake.receive_customer_message(
                session, conversation_id=conversation_id, text=text, rules=self._rules, **fields
            )
            available = check_agents and self.agents_available(session)
            return (message, available, get_conversation(session, conversation_id).language), events

        message, available, language = await self.write(operation)
        if message.status is MessageStatus.RECEIVED:
            # The bot will read it: its search starts now, beside the reads before Rasa and
            # Rasa's NLU. `_ask_bot` starts it again with the language it settles on, which
            # is the same search unless the first messages' detection changed the language.
            self._start_search(message, language)
        return message, available

    def _start_search(self, message: Message, language: str) -> None:
        text = rasa_text(message)
        if not text.startswith("/"):  # words, not a button's intent: the KB may be asked
            self._search_ahead(text, kb_language(message, language))

    async def process(self, message: Message) -> None:
        """Let the bot answer a stored message, or hand the conversation to people.

        Under the conversation's lock the messages still waiting are taken oldest first, so
        whichever hub stored `message`, an earlier one stored by another hub goes first."""
        if message.status is not MessageStatus.RECEIVED:
            return  # with people already: storing it was the routing
        async with self._coordinator.lock(self._key(message.conversation_id)):
            await self._drain(message.conversation_id, self._answer)

    async def recover(self, conversation_id: int, *, to_people: str | None = None) -> bool:
        """Handle the messages a conversation has left waiting (their hub died), unless a
        hub holds its lock (it is at work on them): False then. `to_people`: the hand-off
        reason for a channel without a bot, else the bot answers."""
        async with self._coordinator.try_lock(self._key(conversation_id)) as held:
            if not held:
                return False
            if to_people is None:
                await self._drain(conversation_id, self._answer)
            else:
                reason = to_people
                await self._drain(conversation_id, lambda m: self._notify_people(m, reason))
            return True

    async def _drain(
        self, conversation_id: int, handle: Callable[[Waiting], Awaitable[bool | None]]
    ) -> None:
        """With the lock held: each waiting message, oldest first, until none is left. A
        conversation that went to people meanwhile takes the rest as they are. A handler
        that returns False saw, in its last write, that no other message was waiting (one
        that comes later takes the lock after this): no read to find that out again."""
        tried: set[int] = set()
        while True:
            waiting = await asyncio.to_thread(self._next_waiting, conversation_id)
            if waiting is None:
                return
            if waiting.with_people:
                await self.run(pending.route_waiting_to_people, conversation_id=conversation_id)
                return
            if waiting.message.id in tried:  # handled but still waiting: leave it to recovery
                log.error("message %s is still waiting after it was handled", waiting.message.id)
                return
            tried.add(waiting.message.id)
            if await handle(waiting) is False:
                return

    def _next_waiting(self, conversation_id: int) -> Waiting | None:
        """One read per turn (each read is a session and a hop to a worker thread)."""
        with self._sessions() as session:
            message = pending.next_received(session, conversation_id=conversation_id)
            if message is None:
                return None
            conversation = get_conversation(session, conversation_id)
            if conversation.state.with_people:
                return Waiting(
                    message,
                    with_people=True,
                    detectable=False,
                    email=None,
                    language=conversation.language,
                    agents_available=False,
                )
            return Waiting(
                message,
                with_people=False,
                detectable=languages.language_detectable(session, conversation_id=conversation_id),
                email=conversation.contact.email,
                language=conversation.language,
                agents_available=self.agents_available(session),
            )

    async def _answer(self, waiting: Waiting) -> bool | None:
        message = waiting.message
        language = await self._detect(waiting)
        try:
            return await self._ask_bot(waiting, language)
        except Exception as error:
            log.exception("bot processing failed for message %s", message.id)
            await self._hand_off(message, HandoffReason.BOT_UNAVAILABLE, error=repr(error))
            return None

    def agents_available(self, session: Session | None = None) -> bool:
        """Someone can take a conversation now: an agent is online (console open, presence
        online), within business hours."""
        now = datetime.now(UTC)
        in_hours = self._hours is None or self._hours.is_open(now)
        if not in_hours or not self._rules.calendar.is_open(now):
            return False
        if session is not None:
            return agent_accounts.online_count(session) > 0
        with self._sessions() as own:
            return agent_accounts.online_count(own) > 0

    async def _detect(self, waiting: Waiting) -> str:
        """The customer's first messages may set the conversation's language (before the bot
        answers and before routing reads it), unless it was chosen explicitly. The
        conversation's language afterwards."""
        if not waiting.detectable:
            return waiting.language
        message = waiting.message
        language = await asyncio.to_thread(self._detect_language, message.text)
        if language is None:
            return waiting.language
        conversation = await self.run(
            languages.adopt_detected_language,
            conversation_id=message.conversation_id,
            language=language,
        )
        return conversation.language

    async def _ask_bot(self, waiting: Waiting, language: str) -> bool | None:
        """The bot's answer to the waiting message. False: the answer is stored and no other
        message was waiting then (see `_drain`)."""
        message, email, available = waiting.message, waiting.email, waiting.agents_available
        text = rasa_text(message)
        metadata = {
            # The conversation's language, unless the client's metadata names a more
            # precise one ("fr-CA"): the bot answers from the knowledge base in it when the
            # article is translated (bot/actions/knowledge.py).
            "language": language,
            # The client's metadata next: the hub's own keys below always win.
            **message.payload.get("metadata", {}),
            "conversation_id": message.conversation_id,
            "message_id": message.id,
            "agents_available": available,
            "contact_email": email,
            # The bot answers in it (bot/conversation_language.py fills the slot the
            # responses follow); the site's own "language" key passes through untouched.
            "conversation_language": language,
        }
        self._start_search(message, language)
        try:
            raw = await self._rasa.send(f"conversation-{message.conversation_id}", text, metadata)
        except RasaUnavailable as error:
            log.warning(
                "Rasa unavailable, handing conversation %s to people: %s",
                message.conversation_id,
                error,
            )
            await self._hand_off(message, HandoffReason.BOT_UNAVAILABLE, error=str(error))
            return None
        replies, handoff = parse_rasa_replies(raw)
        if not replies and handoff is None:
            # Rasa logs a failed custom action and answers with nothing; the customer must
            # not be left waiting on silence.
            await self._hand_off(message, HandoffReason.BOT_UNAVAILABLE, error="Rasa sent no reply")
            return None

        def store_replies(session: Session) -> tuple[bool, list[Event]]:
            _, events = record_bot_replies(
                session,
                conversation_id=message.conversation_id,
                replies=replies,
                answering_message_id=message.id,
            )
            waiting = pending.next_received(session, conversation_id=message.conversation_id)
            return waiting is not None, events

        others_waiting = await self.write(store_replies)
        if handoff is None:
            return others_waiting
        reason = str(handoff.get("reason") or HandoffReason.CUSTOMER_REQUEST)
        priority = Priority(handoff.get("priority") or "normal")
        email = handoff.get("email")
        await self._hand_off(
            message,
            reason,
            priority=priority,
            email=email if isinstance(email, str) else None,
            offline=bool(handoff.get("offline")),
        )
        return None

    async def to_people(self, message: Message, *, reason: str) -> None:
        """Straight to the team's queue, not the bot (mail): the acknowledgement carries the
        ticket number and, when the knowledge base answers the question confidently, that
        answer."""
        if message.status is not MessageStatus.RECEIVED:
            return
        async with self._coordinator.lock(self._key(message.conversation_id)):
            await self._drain(message.conversation_id, lambda m: self._notify_people(m, reason))

    async def _notify_people(self, waiting: Waiting, reason: str) -> None:
        message = waiting.message
        await self._detect(waiting)
        suggestion = await asyncio.to_thread(self._suggest, message.text)
        notice = [
            say(
                N_(
                    "Thank you for writing. We have opened ticket {ticket} and our team will"
                    " reply in this thread."
                )
            )
        ]
        if suggestion:
            notice += [
                Say(N_("While you wait, this may answer your question:"), paragraph=True),
                literal(suggestion),
            ]
        await self._hand_off(message, reason, notice=notice)

    async def _hand_off(
        self,
        message: Message,
        reason: str,
        *,
        priority: Priority = Priority.NORMAL,
        error: str | None = None,
        email: str | None = None,
        offline: bool = False,
        notice: Sequence[Say] | None = None,
    ) -> None:
        def operation(session: Session) -> tuple[None, list[Event]]:
            conversation = get_conversation(session, message.conversation_id)
            if conversation.state.with_people:
                return None, []  # somebody already has it
            _ticket, events = tickets.hand_off(
                session,
                conversation_id=message.conversation_id,
                reason=reason,
                priority=priority,
                customer_message_id=message.id,
                error=error,
                contact_email=email,
                offline=offline,
                business_hours=self._hours.text if self._hours else None,
                article_tags=self._article_tags(),
                notice=notice,
                rules=self._rules,
            )
            return None, events

        await self.write(operation)
