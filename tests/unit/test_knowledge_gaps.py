"""Knowledge gaps: the unsettled questions (handoff.gaps), grouped into topics
(retrieval.topics) with a suggestion each (retrieval.gap_report), the article edit
(retrieval.kb_edit), the leads' API and its one-click fix."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.orm import Session

from handoff import gaps
from handoff.models import utcnow
from retrieval.articles import parse_article
from retrieval.gap_report import draft_article, gap_topics, slug
from retrieval.kb_edit import add_questions
from retrieval.search import KnowledgeBase
from retrieval.topics import calibrate_floor, group_vectors, purity
from tests.fakes import HashingEncoder
from tests.fakes.hub_client import builds_settled, editable_hub, login, make_agent
from tests.fakes.paths import ROOT
from tests.fakes.rasa import FakeRasa
from tests.fakes.seed import gap_ticket

PASSWORD = "I forgot my password and the reset email never came"
GIFT = "do you sell gift cards for your subscription"
GIFT_ANSWER = "We do not sell gift cards yet, but you can pay for a colleague's seat."


def attempt(question: str, decision: str, article: str | None = None, **extra: object) -> dict:
    sources = [{"article_id": article}] if article else []
    return {"question": question, "decision": decision, "sources": sources, **extra}


def test_gap_questions_are_the_ones_the_bot_could_not_settle(session: Session) -> None:
    start = utcnow() - timedelta(minutes=1)
    gap_ticket(
        session,
        [
            attempt("how do I reset my password", "answer", "reset-password"),  # settled
            attempt(PASSWORD, "answer", "reset-password", feedback="not_helpful"),
            attempt("login problem", "clarify", "account-locked"),
            attempt(GIFT, "escalate"),
        ],
        agent_answer=GIFT_ANSWER,
        channel="telegram",
        language="de",
    )
    found = gaps.gap_questions(session, since=start)
    assert [(g.question, g.kind, g.article_id) for g in found] == [
        (PASSWORD, gaps.NOT_HELPFUL, "reset-password"),
        ("login problem", gaps.CLARIFIED, "account-locked"),
        (GIFT, gaps.NO_ANSWER, None),
    ]
    assert {(g.channel, g.language) for g in found} == {("telegram", "de")}
    assert found[0].agent_answers == (GIFT_ANSWER,)
    assert gaps.gap_questions(session, since=utcnow() + timedelta(minutes=1)) == []
    assert gaps.gap_questions(session, since=start, until=start) == []


def _blobs(rng: np.random.Generator, centres: int, each: int, spread: float) -> np.ndarray:
    base = rng.normal(size=(centres, 32))
    points = np.repeat(base, each, axis=0) + spread * rng.normal(size=(centres * each, 32))
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)


def test_groups_follow_the_floor_that_regroups_the_kbs_own_questions() -> None:
    rng = np.random.default_rng(7)
    own = _blobs(rng, 6, 8, 0.35)  # a KB's questions, eight per article
    owners = [f"a{i // 8}" for i in range(len(own))]
    floor = calibrate_floor(own, owners, default=0.99)
    assert 0.05 <= floor < 0.99
    asked = _blobs(rng, 4, 10, 0.35)  # customers' questions on four other topics
    truth = [str(i // 10) for i in range(len(asked))]
    groups = group_vectors(asked, min_similarity=floor)
    assert len(groups) == 4 and purity(groups, truth) == 1.0
    assert all(len(g.members) == 10 for g in groups)
    # Too few labelled articles to tell: the default.
    assert calibrate_floor(own[:3], owners[:3], default=0.42) == 0.42
    assert group_vectors(asked[:0], min_similarity=floor) == []
    assert [g.members for g in group_vectors(asked[:1], min_similarity=floor)] == [(0,)]


def test_add_questions_rewrites_only_the_front_matter(tmp_path: Path) -> None:
    path = tmp_path / "reset-password.md"
    shutil.copy(ROOT / "kb_content" / "reset-password.md", path)
    before = path.read_text(encoding="utf-8")
    body = before.split("\n---\n", 1)[1]
    assert add_questions(path, ["Password reset mail never arrives", "  "]) == [
        "Password reset mail never arrives"
    ]
    after = path.read_text(encoding="utf-8")
    assert after.split("\n---\n", 1)[1] == body
    article = parse_article(path, after)
    assert "Password reset mail never arrives" in article.questions
    assert add_questions(path, ["password reset mail NEVER arrives"]) == []
    assert [p.name for p in tmp_path.iterdir()] == ["reset-password.md"]


def test_add_questions_to_a_file_saved_with_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "hours.md"
    path.write_bytes(b"\xef\xbb\xbf---\ntitle: Hours\n---\nNine to five.\n")
    assert add_questions(path, ["When do you open?"]) == ["When do you open?"]
    assert parse_article(path, path.read_text(encoding="utf-8")).questions == ("When do you open?",)


def test_drafts_and_slugs_work_in_any_script() -> None:
    assert slug("Do you sell gift cards?") == "do-you-sell-gift-cards"
    assert slug("我想要发票") == "我想要发票"
    draft = draft_article([GIFT, "gift card?"], [GIFT_ANSWER])
    article = parse_article(Path("draft.md"), draft)
    assert article.questions == (GIFT, "gift card?") and article.tags == ("draft",)
    assert GIFT_ANSWER in article.body


@pytest.fixture(scope="module")
def kb(index_dir: Path) -> KnowledgeBase:
    return KnowledgeBase.open(index_dir, HashingEncoder())


def test_topics_suggest_phrasings_near_an_article_and_new_articles_elsewhere(
    session: Session, kb: KnowledgeBase
) -> None:
    start = utcnow() - timedelta(minutes=1)
    # Near the article's own questions in words (the hashing encoder's cosine must reach the
    # index's fallback floor, as a real encoder's would in meaning).
    for question in ("I forgot my password", "I forgot my password again", "forgot my password"):
        gap_ticket(session, [attempt(question, "clarify", "reset-password")])
    for question in (GIFT, "do you sell gift cards"):
        gap_ticket(session, [attempt(question, "escalate")], agent_answer=GIFT_ANSWER)
    topics = gap_topics(kb, gaps.gap_questions(session, since=start))
    by_action = {t["suggestion"]["action"]: t for t in topics}
    phrasings = by_action["add_phrasings"]["suggestion"]
    assert phrasings["article_id"] == "reset-password"
    assert "I forgot my password again" in phrasings["questions"]
    assert "I forgot my password" not in phrasings["questions"]  # the article has it
    new = by_action["new_article"]
    assert new["size"] == 2 and new["kinds"] == {"no_answer": 2}
    assert new["agent_answers"] == [GIFT_ANSWER]
    assert GIFT in new["suggestion"]["draft"] and GIFT_ANSWER in new["suggestion"]["draft"]
    assert gap_topics(kb, []) == []


def test_leads_see_gaps_and_add_phrasings_with_one_click(
    tmp_path: Path, database_url: str, fake_rasa: FakeRasa
) -> None:
    client, kb_dir, index_dir = editable_hub(tmp_path, fake_rasa, database_url=database_url)
    question = "the password reset mail never arrives in my inbox"
    with client:
        admin = login(client)
        agent = make_agent(client, admin, "Ari", "agent")["headers"]
        lead = make_agent(client, admin, "Lee", "lead")["headers"]
        hub = client.app.state.hub  # type: ignore[attr-defined]
        with hub.sessions() as session, session.begin():
            for text in (question, question + " at all"):
                gap_ticket(session, [attempt(text, "clarify", "reset-password")])

        assert client.get("/api/kb/gaps").status_code == 401
        assert client.get("/api/kb/gaps", headers=agent).status_code == 403
        report = client.get("/api/kb/gaps", headers=lead)
        assert report.status_code == 200, report.text
        assert report.json()["questions"] == 2
        bad = client.get("/api/kb/gaps?since=2026-02-01&until=2026-01-01", headers=lead)
        assert bad.status_code == 422

        body = {"article_id": "reset-password", "questions": [question]}
        assert client.post("/api/kb/gaps/phrasings", json=body, headers=agent).status_code == 403
        missing = {"article_id": "no-such-article", "questions": [question]}
        assert client.post("/api/kb/gaps/phrasings", json=missing, headers=lead).status_code == 404
        added = client.post("/api/kb/gaps/phrasings", json=body, headers=lead)
        assert added.status_code == 200, added.text
        assert added.json()["article_id"] == "reset-password"
        assert added.json()["added"] == [question] and added.json()["index_error"] is None
        # Published before the answer, or (on a busy machine) soon after in the background.
        assert added.json()["index_status"] in ("published", "building")
        assert added.json()["index_rebuilt"] == (added.json()["index_status"] == "published")
        assert builds_settled(client, lead)["state"] == "idle"
        text = (kb_dir / "reset-password.md").read_text(encoding="utf-8")
        assert question in text
        assert question not in (ROOT / "kb_content" / "reset-password.md").read_text()
        # The served index is the new one: the phrasing is now one of the article's questions.
        served = KnowledgeBase.open(index_dir, HashingEncoder())
        assert any(e.text == question for e in served.index.entries if e.kind == "question")
        again = client.post("/api/kb/gaps/phrasings", json=body, headers=lead).json()
        assert again["added"] == [] and again["index_rebuilt"] is False
        actions = [e["action"] for e in client.get("/api/audit", headers=admin).json()["entries"]]
        assert "kb_edit" in actions
        # In the article's history: the editor can restore the version before.
        history = client.get("/api/kb/articles/reset-password/history", headers=lead).json()
        [change] = history["revisions"]
        assert question in change["text"] and question not in change["previous"]
