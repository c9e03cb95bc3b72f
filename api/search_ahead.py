"""A customer's question searched while Rasa reads it.

A knowledge-base turn is sequential: the hub sends the message to Rasa, Rasa classifies it
and calls our action, and only then does the action encode the question and search (~10 ms
of CPU, most of it the encoder). The hub knows the question as soon as it has stored it,
so the search starts then, on a worker thread, beside the hub's own reads before it calls
Rasa and Rasa's NLU and policies, on the other core; the action takes the result when it
arrives, or waits for the rest of it. The hub starts it again when it sends the words to
Rasa, with the language it settled on: the same search (nothing new starts) unless the
language detection of the first messages changed the language meanwhile.

A result is taken once, by the same question in the same language, within `KEEP_SECONDS`;
anything else searches as before. So a message Rasa answers without the knowledge base
(a greeting, "yes") costs one search that nobody takes, and with several hubs an action
call that lands on another hub searches there. Searches that failed are searched again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

Result = TypeVar("Result")
# Rasa answers within its timeout; a result older than this is nobody's any more.
KEEP_SECONDS = 30.0
# Bounds what unclaimed results can hold (a burst of greetings, an action on another hub).
MOST_PENDING = 256


class SearchAhead(Generic[Result]):
    def __init__(
        self,
        search: Callable[[str, str | None], Result],
        *,
        workers: int = 2,
        keep_seconds: float = KEEP_SECONDS,
        most: int = MOST_PENDING,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._search = search
        self._keep = keep_seconds
        self._most = most
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: OrderedDict[tuple[str, str | None], tuple[float, Future[Result]]] = (
            OrderedDict()
        )
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="search-ahead")
        self.started = 0
        self.taken = 0

    def start(self, query: str, language: str | None) -> None:
        """Search `query` now; `take` with the same words and language gets the result."""
        key = (query.strip(), language)
        if not key[0]:
            return
        now = self._clock()
        with self._lock:
            self._forget_old(now)
            if key in self._pending:
                return
            try:
                future = self._pool.submit(self._search, *key)
            except RuntimeError:  # shut down: the action searches for itself
                return
            self._pending[key] = (now, future)
            self.started += 1
            while len(self._pending) > self._most:
                self._pending.popitem(last=False)

    def take(self, query: str, language: str | None) -> Result | None:
        """The result started for these words and language (waiting for it if it is still
        running), once; None when there is none, it is too old, or it failed."""
        with self._lock:
            entry = self._pending.pop((query.strip(), language), None)
        if entry is None or self._clock() - entry[0] > self._keep:
            return None
        try:
            result = entry[1].result()
        except Exception as error:  # the caller searches again and meets it itself
            log.debug("a search started ahead failed: %r", error)
            return None
        with self._lock:
            self.taken += 1
        return result

    def close(self) -> None:
        with self._lock:
            self._pending.clear()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _forget_old(self, now: float) -> None:
        while self._pending:
            started, _ = next(iter(self._pending.values()))
            if now - started <= self._keep:
                return
            self._pending.popitem(last=False)
