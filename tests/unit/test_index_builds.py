"""Index builds after an edit run one at a time in the background: an edit whose build takes
longer than `edit_wait_seconds` is saved and answered "building", edits made meanwhile are
folded into one more build, a failed build is reported and the served index stays."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from api.index_builds import IndexBuilds, publish_index
from api.settings import Settings
from retrieval.search import KnowledgeBase
from tests.fakes import HashingEncoder
from tests.fakes.hub_client import editable_hub, login, make_agent
from tests.fakes.rasa import FakeRasa

GIFT = {
    "title": "Gift cards",
    "body": "We do not sell gift cards yet.",
    "questions": ["Do you sell gift cards?"],
    "tags": [],
    "url": None,
}


class GatedBuild:
    """A build that waits for `release` (then does `then`), counting its runs."""

    def __init__(self, then: Callable[[], bool] = lambda: True) -> None:
        self.release = threading.Event()
        self.started = threading.Event()
        self.runs = 0
        self.then = then

    def __call__(self) -> bool:
        self.runs += 1
        self.started.set()
        assert self.release.wait(10), "the test never released the build"
        return self.then()


def until(condition: Callable[[], bool], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_requests_made_during_a_build_are_folded_into_one_more() -> None:
    build = GatedBuild()
    builds = IndexBuilds(build)
    first = builds.request()
    assert build.started.wait(5)
    assert builds.wait(first, 0.05) == ("building", None)
    assert builds.status().state == "building" and not builds.status().pending
    second, third = builds.request(), builds.request()
    assert builds.status().pending
    build.release.set()
    assert builds.wait(first, 5) == ("published", None)
    assert builds.wait(third, 5) == ("published", None)
    assert builds.wait(second, 0) == ("published", None)
    until(lambda: builds.status().state == "idle")
    # The first build, then one for both requests made while it ran.
    assert build.runs == 2
    status = builds.status()
    assert status.error is None and status.seconds is not None and not status.pending


def test_a_failed_build_is_reported_and_the_next_request_builds_again() -> None:
    outcomes: list[Callable[[], bool]] = []

    def build() -> bool:
        return outcomes.pop(0)()

    def fail() -> bool:
        raise OSError("No space left on device")

    outcomes += [fail, lambda: False]
    builds = IndexBuilds(build)
    assert builds.wait(builds.request(), 5) == ("failed", "No space left on device")
    until(lambda: builds.status().state != "building")
    assert builds.status().state == "failed"
    assert builds.status().error == "No space left on device"
    # Nothing new to publish (the served index is up to date): not a failure any more.
    assert builds.wait(builds.request(), 5) == ("unchanged", None)
    until(lambda: builds.status().state == "idle")
    assert builds.status().error is None


def test_a_build_is_made_again_when_the_files_changed_while_it_ran(tmp_path: Path) -> None:
    """An edit saved on another hub sharing the folder, after this build read the files."""
    source = tmp_path / "kb"
    source.mkdir()
    for topic in ("export", "invoice", "password"):
        (source / f"{topic}.md").write_text(
            f"---\ntitle: The {topic}\nquestions: [how do I fix my {topic}]\n---\nAbout {topic}.\n"
        )

    class EditedMidBuild(HashingEncoder):
        edited = False

        def encode(self, texts: Sequence[str]) -> np.ndarray:
            if not self.edited:  # the first build has read the files by now
                self.edited = True
                (source / "refund.md").write_text(
                    "---\ntitle: The refund\nquestions: [can I get my money back]\n---\nRefunds.\n"
                )
            return super().encode(texts)

    settings = Settings(kb_dir=source, index_dir=tmp_path / "index", var_dir=tmp_path)
    encoder = EditedMidBuild()
    assert publish_index(settings, encoder)
    assert encoder.edited
    served = KnowledgeBase.open(tmp_path / "index", HashingEncoder())
    assert "refund" in {a.id for a in served.index.articles}


def test_an_edit_whose_build_is_slow_is_saved_and_published_in_the_background(
    tmp_path: Path, database_url: str, fake_rasa: FakeRasa
) -> None:
    client, kb_dir, index_dir = editable_hub(
        tmp_path, fake_rasa, database_url=database_url, edit_wait_seconds=0.2
    )
    with client:
        admin = login(client)
        lead = make_agent(client, admin, "Lee", "lead")["headers"]
        agent = make_agent(client, admin, "Ari", "agent")["headers"]
        hub = client.app.state.hub  # type: ignore[attr-defined]
        build = GatedBuild(hub.publish_index)
        hub.index_builds = IndexBuilds(build)
        assert client.get("/api/kb/build", headers=agent).status_code == 403
        idle = client.get("/api/kb/build", headers=lead).json()
        assert idle["state"] == "idle" and idle["served_built_at"]

        saved = client.put("/api/kb/articles/gift-cards", json=GIFT, headers=lead)
        assert saved.status_code == 200, saved.text
        assert saved.json()["changed"] and saved.json()["revision_id"]
        assert saved.json()["index_status"] == "building"
        assert saved.json()["index_rebuilt"] is False
        # Saved and in the history at once; the served index is still the old one.
        assert "gift cards" in (kb_dir / "gift-cards.md").read_text(encoding="utf-8")
        history = client.get("/api/kb/articles/gift-cards/history", headers=lead).json()
        assert [r["action"] for r in history["revisions"]] == ["create"]
        assert client.get("/api/kb/build", headers=lead).json()["state"] == "building"
        served = KnowledgeBase.open(index_dir, HashingEncoder())
        assert "gift-cards" not in {a.id for a in served.index.articles}

        # Gaps' one click during the build: folded into the build after it.
        body = {"article_id": "gift-cards", "questions": ["Can I buy a voucher?"]}
        added = client.post("/api/kb/gaps/phrasings", json=body, headers=lead).json()
        assert added["added"] == ["Can I buy a voucher?"]
        assert added["index_status"] == "building"
        assert client.get("/api/kb/build", headers=lead).json()["pending"]

        build.release.set()
        until(lambda: client.get("/api/kb/build", headers=lead).json()["state"] != "building")
        done = client.get("/api/kb/build", headers=lead).json()
        assert done["error"] is None and done["served_built_at"] != idle["served_built_at"]
        assert build.runs == 2
        served = KnowledgeBase.open(index_dir, HashingEncoder())
        questions = {e.text for e in served.index.entries if e.article_id == "gift-cards"}
        assert {"Do you sell gift cards?", "Can I buy a voucher?"} <= questions


def test_an_edit_whose_build_fails_is_kept_and_the_failure_shown(
    tmp_path: Path, database_url: str, fake_rasa: FakeRasa
) -> None:
    client, kb_dir, index_dir = editable_hub(tmp_path, fake_rasa, database_url=database_url)
    with client:
        admin = login(client)
        lead = make_agent(client, admin, "Lee", "lead")["headers"]
        hub = client.app.state.hub  # type: ignore[attr-defined]

        def broken() -> bool:
            raise OSError("No space left on device")

        hub.index_builds = IndexBuilds(broken)
        saved = client.put("/api/kb/articles/gift-cards", json=GIFT, headers=lead)
        assert saved.status_code == 200, saved.text
        assert saved.json()["index_status"] == "failed"
        assert saved.json()["index_error"] == "No space left on device"
        assert (kb_dir / "gift-cards.md").exists()
        status = client.get("/api/kb/build", headers=lead).json()
        assert status["state"] == "failed" and status["error"] == "No space left on device"
        # The served index answers as before.
        served = KnowledgeBase.open(index_dir, HashingEncoder())
        assert "gift-cards" not in {a.id for a in served.index.articles}
        assert client.get("/api/kb/search", params={"q": "reset password"}, headers=lead).json()
