"""A customer's question searched while Rasa reads it (api/search_ahead.py): the action takes
the result once, for the same words and language; anything else searches as before."""

from __future__ import annotations

import threading
from pathlib import Path

from api.hub import KnowledgeHolder
from api.search_ahead import SearchAhead
from retrieval.search import KnowledgeBase
from tests.fakes import HashingEncoder
from tests.fakes.hub_client import hello, is_msg, make_client, until
from tests.fakes.rasa import FakeRasa


class Searches:
    def __init__(self) -> None:
        self.asked: list[tuple[str, str | None]] = []
        self.release = threading.Event()
        self.release.set()
        self.fail = False

    def __call__(self, query: str, language: str | None) -> str:
        self.release.wait(5)
        self.asked.append((query, language))
        if self.fail:
            raise RuntimeError("the index went away")
        return f"{query}/{language}"


def test_a_result_is_taken_once_by_the_same_words_and_language() -> None:
    searches = Searches()
    ahead = SearchAhead(searches)
    try:
        ahead.start("  How do I reset my password? ", "fa")
        assert ahead.take("How do I reset my password?", "en") is None  # another language
        assert ahead.take("How do I reset my password?", "fa") == "How do I reset my password?/fa"
        assert ahead.take("How do I reset my password?", "fa") is None  # taken already
        assert searches.asked == [("How do I reset my password?", "fa")]
        ahead.start("   ", "en")  # nothing to search
        assert ahead.started == 1 and ahead.taken == 1
    finally:
        ahead.close()


def test_the_action_waits_for_a_search_still_running() -> None:
    searches = Searches()
    searches.release.clear()
    ahead = SearchAhead(searches)
    try:
        ahead.start("invoice", None)
        threading.Timer(0.05, searches.release.set).start()
        assert ahead.take("invoice", None) == "invoice/None"
    finally:
        ahead.close()


def test_old_failed_or_unclaimed_results_are_not_used() -> None:
    now = [0.0]
    searches = Searches()
    ahead = SearchAhead(searches, keep_seconds=30, most=2, clock=lambda: now[0])
    try:
        ahead.start("old", None)
        now[0] = 31.0
        assert ahead.take("old", None) is None  # older than Rasa's answer can be
        searches.fail = True
        ahead.start("broken", None)
        assert ahead.take("broken", None) is None  # the caller searches and meets the error
        searches.fail = False
        for word in ("a", "b", "c"):
            ahead.start(word, None)
        assert ahead.take("a", None) is None  # the oldest unclaimed went first
        assert ahead.take("c", None) == "c/None"
    finally:
        ahead.close()
    ahead.start("after", None)  # shut down: nothing starts, the action searches itself
    assert ahead.take("after", None) is None


def test_the_knowledge_base_is_searched_once_for_a_question_started_ahead(
    index_dir: Path,
) -> None:
    kb = KnowledgeBase.open(index_dir, HashingEncoder())
    searched: list[str] = []
    search = kb.search

    def counted(query: str, k: int = 5, *, language: str | None = None) -> object:
        searched.append(query)
        return search(query, k, language=language)

    kb.search = counted  # type: ignore[method-assign,assignment]
    holder = KnowledgeHolder(kb)
    holder.ahead = SearchAhead(holder._search_now)
    try:
        holder.search_ahead("How do I reset my password?", "en")
        first = holder.search("How do I reset my password?", "en")
        again = holder.search("How do I reset my password?", "en")
    finally:
        holder.close()
    assert searched == ["How do I reset my password?"] * 2  # ahead, then the second ask
    assert first.decision == again.decision
    assert [h.article_id for h in first.hits] == [h.article_id for h in again.hits]


def test_the_hub_starts_the_search_when_it_sends_a_question_to_rasa(
    tmp_path: Path, index_dir: Path, fake_rasa: FakeRasa
) -> None:
    with make_client(tmp_path, index_dir, fake_rasa) as client:
        knowledge = client.app.state.hub.knowledge  # type: ignore[attr-defined]
        started: list[tuple[str, str | None]] = []
        knowledge.ahead = SearchAhead(lambda q, lang: started.append((q, lang)))
        with client.websocket_connect("/ws/widget") as ws:
            hello(ws)
            ws.send_json({"type": "message", "text": "How do I reset my password?"})
            until(ws, is_msg("bot"))
            ws.send_json({"type": "message", "text": "/restart please"})
            until(ws, is_msg("bot"))
        knowledge.close()
    sent = [(text, meta.get("language")) for text, meta in zip(
        fake_rasa.received, fake_rasa.metadata, strict=True
    )]  # fmt: skip
    # The same words and language the action will search with (the typed slash is dropped).
    assert started == sent == [("How do I reset my password?", "en"), ("restart please", "en")]


def test_the_search_starts_once_the_message_is_stored_before_rasa_reads_it(
    tmp_path: Path, index_dir: Path, fake_rasa: FakeRasa
) -> None:
    class Recorded(SearchAhead[None]):
        def start(self, query: str, language: str | None) -> None:
            calls.append((query, language, len(fake_rasa.received)))
            super().start(query, language)

    calls: list[tuple[str, str | None, int]] = []
    searched: list[str] = []
    with make_client(tmp_path, index_dir, fake_rasa) as client:
        knowledge = client.app.state.hub.knowledge  # type: ignore[attr-defined]
        knowledge.ahead = Recorded(lambda q, _lang: searched.append(q))
        with client.websocket_connect("/ws/widget") as ws:
            hello(ws)
            ws.send_json({"type": "message", "text": "Can I export my data?"})
            until(ws, is_msg("bot"))
        knowledge.close()
    question = ("Can I export my data?", "en")
    # Started when stored (Rasa had been sent nothing yet), and again, the same search, when
    # the hub sends it to Rasa; searched once.
    assert calls == [(*question, 0), (*question, 0)]
    assert searched == ["Can I export my data?"]
