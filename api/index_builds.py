"""The hub's index builds after an edit of the knowledge base: one at a time, in the background.

An edit writes its article's file, then asks for a build and waits a little for it: a small
knowledge base builds in seconds, and the editor can then say the bot answers with the change
now. A tuned encoder (`auto-tuned`: six fine-tunes) or thousands of articles take minutes,
longer than a person should stare at a spinner and longer than a proxy waits for a response
(deploy/haproxy.cfg: 65 s), so after `edit_wait_seconds` the edit answers "building" and the
build goes on; the console asks (GET /api/kb/build, `status`) until it ends. Edits made
while a build runs are folded into one more build after it, which reads every file as it is
by then. The served index keeps answering throughout and is swapped when a build publishes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from api.settings import Settings
from retrieval.encoder import Encoder
from retrieval.search import build_index

log = logging.getLogger(__name__)

# What became of the build that took an edit in: a new index was published, the one served
# was already up to date, the build failed (the served index stays), or it is still running.
Outcome = Literal["published", "unchanged", "failed", "building"]


# Builds in a row while the files keep changing under them, at most.
ROUNDS = 3


def publish_index(settings: Settings, encoder: Encoder) -> bool:
    """Build and publish the index of `settings.kb_dir` as `frontline kb build` would, with
    `encoder` (the hub's recipe: an index for another encoder would not be served); whether a
    new one was published (not when the served one is up to date).

    A build reads the files when it starts. If they changed before it published (an edit
    saved on another hub sharing the folder), or another hub's older build was published
    after it, the index is built again, until it is up to date with the files."""
    published = False
    for _ in range(ROUNDS):
        _index, built = build_index(
            settings.kb_dir,
            settings.index_path,
            encoder,
            target_precision=settings.target_precision,
            serve_languages=settings.serve_languages,
        )
        if not built:
            break
        published = True
    return published


@dataclass(frozen=True)
class BuildStatus:
    state: Literal["idle", "building", "failed"]
    # Edits made during the running build, waiting for the build after it.
    pending: bool
    started_at: datetime | None
    finished_at: datetime | None
    # How long the last finished build took.
    seconds: float | None
    # Why the last build failed (None when it did not).
    error: str | None


class IndexBuilds:
    """Builds run by `build` (True: it published a new index) in a thread of their own; each
    `request` is taken in by the first build that starts after it."""

    def __init__(self, build: Callable[[], bool]) -> None:
        self._build = build
        self._changed = threading.Condition()
        self._requested = 0  # requests so far; each is numbered
        self._taking = 0  # the highest request the running (or last) build took in
        self._done = 0  # the highest request a finished build took in
        self._running = False
        self._outcome: Outcome = "unchanged"
        self._error: str | None = None
        self._started_at: datetime | None = None
        self._finished_at: datetime | None = None
        self._seconds: float | None = None
        self._building = False  # a build is inside `build` now

    def request(self) -> int:
        """Ask for a build that reads the knowledge base as it is now; the request's number."""
        with self._changed:
            self._requested += 1
            if not self._running:
                self._running = True
                threading.Thread(target=self._run, name="index-build", daemon=True).start()
            return self._requested

    def wait(self, request: int, timeout: float) -> tuple[Outcome, str | None]:
        """What became of `request` within `timeout` seconds ("building" if it is not done),
        and the error when its build failed."""
        with self._changed:
            if not self._changed.wait_for(lambda: self._done >= request, timeout):
                return "building", None
            return self._outcome, self._error

    def status(self) -> BuildStatus:
        with self._changed:
            # "building" until every request is taken in, between two builds too.
            busy = self._done < self._requested
            return BuildStatus(
                state="building" if busy else "failed" if self._error else "idle",
                pending=self._building and self._requested > self._taking,
                started_at=self._started_at,
                finished_at=self._finished_at,
                seconds=self._seconds,
                error=self._error,
            )

    def _run(self) -> None:
        while True:
            with self._changed:
                if self._done >= self._requested:
                    self._running = False
                    return
                self._taking = self._requested
                self._building = True
                self._started_at = datetime.now(UTC)
            began = time.monotonic()
            error: str | None = None
            published = False
            try:
                published = self._build()
            except Exception as failure:  # the thread must outlive any build; the error is shown
                log.exception("the index build after an edit failed; the served index stays")
                error = str(failure) or type(failure).__name__
            with self._changed:
                self._building = False
                self._done = self._taking
                self._error = error
                self._outcome = "failed" if error else "published" if published else "unchanged"
                self._finished_at = datetime.now(UTC)
                self._seconds = round(time.monotonic() - began, 1)
                self._changed.notify_all()
