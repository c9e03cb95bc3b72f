"""The hub's parts, wired once per app: database, live broker, Rasa, knowledge base, actions."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import secrets
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from rasa_sdk.executor import ActionExecutor
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.channels.base import Channel
from api.channels.intake import ChannelIntake, Poller
from api.channels.outbox import OutboxWorker
from api.channels.registry import build_channels
from api.coordination import Coordinator, LocalCoordinator
from api.dialogue import ConversationFlow
from api.i18n import LanguageDetector
from api.index_builds import IndexBuilds, publish_index
from api.live import Broker
from api.rasa_client import RasaClient, erase_trackers
from api.ratelimit import Networks, RateLimits, networks, rate_limits
from api.search_ahead import SearchAhead
from api.settings import Settings
from api.stopping import cancel_and_wait
from api.throttle import LoginGuard, MemoryThrottle
from bot.actions import build_actions
from handoff import pending
from handoff.models import utcnow
from handoff.sweep import sweep
from retrieval.encoder import Encoder, open_encoder
from retrieval.index import Hit
from retrieval.replies import Item, Match, QuestionMemory
from retrieval.search import KnowledgeBase, SearchResult, model_for_index

log = logging.getLogger(__name__)
# The sweep's lease: its holder keeps it while it sweeps; three missed intervals and another
# hub takes it.
SWEEP_JOB = "sweep"
# Conversations a hub recovers side by side (each waits for Rasa).
RECOVERY_AT_ONCE = 8


@dataclass
class KnowledgeHolder:
    """The loaded knowledge base, or why there is none (the hub runs without one)."""

    kb: KnowledgeBase | None = None
    error: str | None = None
    _memory: QuestionMemory[Any] | None = None
    # The help center's address ("https://hub/help"): articles without a `url` of their own
    # link to their page there. None: such articles have no link.
    help_links: str | None = None

    # Searches started when a message for the bot is stored (api/search_ahead.py); None: off.
    ahead: SearchAhead[SearchResult] | None = None

    def search(self, query: str, language: str | None = None) -> SearchResult:
        if self.kb is None:
            return SearchResult(query, "escalate", 0.0, [])
        result = self.ahead.take(query, language) if self.ahead is not None else None
        if result is None:
            result = self._search_now(query, language)
        return result if self.help_links is None else _linked(result, self.help_links)

    def search_ahead(self, query: str, language: str | None) -> None:
        """Start searching `query` for the action that will ask for it (`search`)."""
        if self.kb is not None and self.ahead is not None:
            self.ahead.start(query, language)

    def close(self) -> None:
        if self.ahead is not None:
            self.ahead.close()

    def _search_now(self, query: str, language: str | None) -> SearchResult:
        assert self.kb is not None
        self.reload_if_published()
        return self.kb.search(query, language=language)

    def reload_if_published(self, every: float = 2.0) -> None:
        """Serve a newer published index (one look at most every `every` seconds)."""
        if self.kb is None:
            return
        try:
            if self.kb.reload_if_published(every):
                log.info(
                    "now serving the index built at %s", self.kb.index.manifest.get("built_at")
                )
        except (OSError, ValueError, RuntimeError) as error:
            # RuntimeError: torch's, when a tuned index's model does not load.
            log.error("kept the served index; the new one did not load: %s", error)

    def suggestion(self, question: str) -> str | None:
        """The knowledge base's answer when it is confident, with its source, else None."""
        result = self.search(question)
        if result.decision != "answer" or not result.hits:
            return None
        hit = result.hits[0]
        source = f"\n\n{hit.title}" + (f": {hit.url}" if hit.url else "")
        return hit.snippet + source

    def worth_offering(self, result: SearchResult, k: int = 3) -> list[Hit]:
        """The best hits the knowledge base itself would offer as choices: probable enough
        (its candidate threshold) and close enough (its floor for offering choices). An
        article scored 0.00, or merely the least unlikely of unrelated ones, helps nobody."""
        if self.kb is None:
            return []
        t = self.kb.thresholds
        return [
            h for h in result.hits[:k] if h.score >= t.candidate and h.similarity >= t.clarify_floor
        ]

    def similar(
        self, query: str, items: Sequence[Item], questions: Sequence[str], k: int = 3
    ) -> list[Match[Item]]:
        """The items whose question is nearest `query`, at or above the knowledge base's own
        calibrated similarity floor for offering choices (so "similar" means for past replies
        what it means for articles, whatever the encoder)."""
        if self.kb is None:
            return []
        if self._memory is None or self._memory.encoder is not self.kb.encoder:
            self._memory = QuestionMemory(self.kb.encoder)
        floor = self.kb.thresholds.clarify_floor
        return self._memory.most_similar(query, items, questions, k=k, floor=floor)

    def article(self, article_id: str, language: str | None = None) -> Hit | None:
        return None if self.kb is None else self.kb.index.article_hit(article_id, language)

    def article_tags(self) -> dict[str, tuple[str, ...]]:
        """Each article's tags: a ticket's category and tags come from them."""
        if self.kb is None:
            return {}
        return {a.id: a.tags for a in self.kb.index.articles}

    def status(self) -> dict[str, Any]:
        if self.kb is None:
            return {"ok": False, "detail": self.error or "not loaded"}
        manifest = self.kb.index.manifest
        return {
            "ok": True,
            "articles": manifest.get("articles"),
            "chunks": manifest.get("entries"),
            "model": manifest.get("model"),
            "built_at": manifest.get("built_at"),
        }


def _linked(result: SearchResult, help_links: str) -> SearchResult:
    """Hits of articles without a `url` point at their help-center page (and section)."""

    def link(hit: Hit) -> Hit:
        if hit.url is not None:
            return hit
        page = f"{help_links}/articles/{quote(hit.article_id, safe='')}?lang={quote(hit.lang)}"
        return dataclasses.replace(hit, url=page)

    return dataclasses.replace(
        result, hits=[link(h) for h in result.hits], choices=[link(h) for h in result.choices]
    )


def load_knowledge(settings: Settings, encoder: Encoder | None = None) -> KnowledgeHolder:
    try:
        kb = KnowledgeBase.open(
            settings.index_path,
            encoder or open_encoder(model_for_index(settings.embedding_model, settings.index_path)),
            overrides=settings.thresholds,
        )
        kb.search("warm up")  # loads the model now rather than on the first customer
        holder = KnowledgeHolder(kb)
        if settings.search_ahead:
            holder.ahead = SearchAhead(holder._search_now)
        return holder
    except Exception as error:
        log.error("knowledge base not loaded: %s", error)
        return KnowledgeHolder(error=str(error))


@dataclass
class Hub:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    broker: Broker
    rasa: RasaClient
    knowledge: KnowledgeHolder
    channel_configs: dict[str, Any] = field(default_factory=dict)
    # Locks and the sweep's lease: Redis with several hubs, this process alone without.
    coordinator: Coordinator = field(default_factory=LocalCoordinator)
    # This process among the hubs: its agents' console records carry it (api/presence.py).
    # Fresh on every start, so what a crashed run held just expires.
    hub_id: str = field(default_factory=lambda: secrets.token_hex(8))
    flow: ConversationFlow = field(init=False)
    channels: dict[str, Channel] = field(init=False)
    intake: ChannelIntake = field(init=False)
    outbox: OutboxWorker = field(init=False)
    executor: ActionExecutor = field(init=False)
    limits: RateLimits = field(init=False)
    proxies: Networks = field(init=False)
    login_guard: LoginGuard = field(init=False)
    # Index builds after an edit in the console (api/index_builds.py).
    index_builds: IndexBuilds = field(init=False)

    _tasks: set[asyncio.Task[None]] = field(init=False, default_factory=set)
    _forever: set[asyncio.Task[None]] = field(init=False, default_factory=set)

    def __post_init__(self) -> None:
        self.flow = ConversationFlow(
            self.sessions,
            self.broker,
            self.rasa,
            self.settings.hours,
            rules=self.settings.rules,
            article_tags=self.knowledge.article_tags,
            suggest=self.knowledge.suggestion,
            search_ahead=self.knowledge.search_ahead,
            detect_language=LanguageDetector().detect,
            coordinator=self.coordinator,
        )
        self.channels = build_channels(self.channel_configs)
        self.intake = ChannelIntake(self.flow, self.channels, self)
        self.outbox = OutboxWorker(
            self.flow,
            self.channels,
            interval=self.settings.outbox_interval,
            claim_seconds=self.settings.outbox_claim_seconds,
        )
        self.executor = ActionExecutor()
        settings = self.settings
        self.limits = rate_limits(
            settings.new_conversations_per_minute,
            settings.new_conversations_burst,
            settings.messages_per_second,
            settings.messages_burst,
        )
        self.proxies = networks(settings.trusted_proxies.split(","))
        self.login_guard = LoginGuard(
            MemoryThrottle(),
            per_account=self.settings.login_failures_per_account,
            per_ip=self.settings.login_failures_per_ip,
            window=self.settings.login_window_seconds,
        )
        for action in build_actions(self.knowledge):
            self.executor.register_action(action)
        self.index_builds = IndexBuilds(self.publish_index)

    def publish_index(self) -> bool:
        """Build and publish the index with the encoder this hub serves, and serve it."""
        kb = self.knowledge.kb
        if kb is None:
            raise RuntimeError("the knowledge base is not loaded")
        built = publish_index(self.settings, kb.builder)
        self.knowledge.reload_if_published(every=0)  # this hub serves it from now on
        return built

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run work in the background, keeping a reference so it is not collected mid-way."""
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def sweep_forever(self) -> None:
        """SLA breaches, auto-close and automatic assignment, every `sweep_interval` s, on
        one hub of the fleet: the holder of the sweep's lease (with one hub, this one)."""
        while True:
            await asyncio.sleep(self.settings.sweep_interval)
            await self.sweep_once()

    def _sweep_lease(self) -> float:
        return max(3 * self.settings.sweep_interval, 1.0)

    async def sweep_once(self) -> bool:
        """One interval's sweep if this hub leads; whether it did."""
        try:
            if not await self.coordinator.lead(SWEEP_JOB, self._sweep_lease()):
                return False
            # Presence expiry runs on every hub after its heartbeat (api/presence.py).
            purged = await self.flow.run(sweep, now=utcnow(), rules=self.settings.rules)
            if purged:
                await erase_trackers(self.rasa, purged)
            return True
        except Exception:  # the sweep must outlive a bad row, a locked database, Redis away
            log.exception("ticket sweep failed")
            return False

    async def recover_forever(self) -> None:
        """Customer messages left waiting by a hub that died, on every hub, every few s."""
        interval = min(5.0, self.settings.recovery_seconds / 4)
        while True:
            await asyncio.sleep(interval)
            try:
                await self.recover_waiting()
            except Exception:
                log.exception("recovery of waiting messages failed")

    async def recover_waiting(self) -> int:
        """Conversations with a message stored over `recovery_seconds` ago and still
        waiting whose lock is free: their messages are answered (or handed off) here, oldest
        first. The lock and the status check make each one handled once."""
        before = utcnow() - timedelta(seconds=self.settings.recovery_seconds)

        def load() -> list[tuple[int, str]]:
            with self.sessions() as session:
                return pending.stale(session, before=before)

        gate = asyncio.Semaphore(RECOVERY_AT_ONCE)

        async def recover(conversation_id: int, channel_name: str) -> bool:
            channel = self.channels.get(channel_name)
            # A channel without a bot (mail) goes to people as its intake sends it.
            bot = channel is None or channel.capabilities.bot
            async with gate:
                done = await self.flow.recover(
                    conversation_id, to_people=None if bot else f"{channel_name}_received"
                )
            if done:
                log.info("recovered the waiting messages of conversation %s", conversation_id)
            return done

        # Channel events stored but never turned into messages first: they become waiting
        # messages (or handled ones) of their own.
        await self.intake.recover(older_than=self.settings.recovery_seconds)
        waiting = await asyncio.to_thread(load)
        return sum(await asyncio.gather(*(recover(c, name) for c, name in waiting)))

    async def start_channels(self) -> None:
        """The outbox, the mailbox pollers, and the events a previous run left unprocessed."""
        self.spawn_forever(self.outbox.run_forever())
        for channel in self.channels.values():
            if hasattr(channel, "fetch") and hasattr(channel, "poll_seconds"):
                poller: Poller = channel  # type: ignore[assignment]
                self.spawn_forever(self.intake.poll_forever(poller))
        await self.intake.recover()

    async def close_channels(self) -> None:
        for channel in self.channels.values():
            await channel.aclose()

    def spawn_forever(self, work: Coroutine[Any, Any, None]) -> None:
        """A periodic job: cancelled, not awaited, at shutdown."""
        task = asyncio.create_task(work)
        self._forever.add(task)

    async def drain(self) -> None:
        """Wait for background work (on shutdown, so no customer message is left half-done)."""
        await cancel_and_wait(self._forever)
        self._forever.clear()
        try:  # the sweep has stopped: another hub leads at once
            await self.coordinator.resign(SWEEP_JOB)
        except Exception:
            log.exception("could not give the sweep's lease up; it expires on its own")
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
