"""The knowledge-base editor's API: leads list, read, create and change articles; the whole
knowledge base is checked before anything is written (errors name their line); the change
is published (the index rebuilt) and kept in the history, from which a version is restored."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from retrieval.search import KnowledgeBase
from tests.fakes import HashingEncoder
from tests.fakes.hashing_index import hashing_index
from tests.fakes.hub_client import builds_settled, editable_hub, login, make_agent, make_client
from tests.fakes.paths import ROOT
from tests.fakes.rasa import FakeRasa

GIFT = {
    "title": "Gift cards",
    "body": "We do not sell gift cards yet.\n\n## Paying for someone else\n\nAdd them as a seat.",
    "questions": ["Do you sell gift cards?", "Can I buy a gift card for a friend?"],
    "tags": ["billing"],
    "url": None,
}


def test_leads_create_edit_restore_and_every_change_is_published(
    tmp_path: Path, database_url: str, fake_rasa: FakeRasa
) -> None:
    client, kb_dir, index_dir = editable_hub(tmp_path, fake_rasa, database_url=database_url)
    with client:
        admin = login(client)
        agent = make_agent(client, admin, "Ari", "agent")["headers"]
        lead = make_agent(client, admin, "Lee", "lead")["headers"]
        assert client.get("/api/kb/articles", headers=agent).status_code == 403
        listed = client.get("/api/kb/articles", headers=lead).json()["articles"]
        assert {"reset-password", "billing-invoices"} <= {a["id"] for a in listed}
        reset = client.get("/api/kb/articles/reset-password", headers=lead).json()
        assert reset["path"] == "reset-password.md" and "Forgot password" in reset["body"]
        assert client.get("/api/kb/articles/nope", headers=lead).status_code == 404

        # Create: a new file, the index rebuilt, the history's first entry.
        assert (
            client.put("/api/kb/articles/gift-cards", json=GIFT, headers=agent).status_code == 403
        )
        created = client.put("/api/kb/articles/gift-cards", json=GIFT, headers=lead)
        assert created.status_code == 200, created.text
        assert created.json()["changed"]
        # Published before the answer, or (on a busy machine) soon after in the background.
        assert created.json()["index_status"] in ("published", "building")
        assert builds_settled(client, lead)["state"] == "idle"
        text = (kb_dir / "gift-cards.md").read_text(encoding="utf-8")
        assert "We do not sell gift cards yet." in text and "id: gift-cards" in text
        served = KnowledgeBase.open(index_dir, HashingEncoder())
        assert "gift-cards" in {a.id for a in served.index.articles}

        # A change that would break the knowledge base: refused with its line, nothing written.
        duplicate = dict(GIFT, title="")
        assert (
            client.put("/api/kb/articles/gift-cards", json=duplicate, headers=lead).status_code
            == 422
        )
        broken = dict(GIFT, url="ftp://not-http")
        refused = client.put("/api/kb/articles/gift-cards", json=broken, headers=lead)
        assert refused.status_code == 422 and refused.json()["line"] == 2
        assert "url" in refused.json()["problem"]
        assert (kb_dir / "gift-cards.md").read_text(encoding="utf-8") == text

        # Edit, then restore the first version.
        edited = dict(GIFT, body="Gift cards are on sale from January.")
        assert client.put("/api/kb/articles/gift-cards", json=edited, headers=lead).json()[
            "changed"
        ]
        again = client.put("/api/kb/articles/gift-cards", json=edited, headers=lead).json()
        assert again == {
            "changed": False, "index_rebuilt": False, "index_status": "unchanged",
            "index_error": None, "revision_id": None,
        }  # fmt: skip
        history = client.get("/api/kb/articles/gift-cards/history", headers=lead).json()
        assert [r["action"] for r in history["revisions"]] == ["edit", "create"]
        assert history["revisions"][0]["author"] == "Lee"
        first = history["revisions"][1]["id"]
        restored = client.post(f"/api/kb/revisions/{first}/restore", headers=lead)
        assert restored.status_code == 200 and restored.json()["changed"]
        assert (kb_dir / "gift-cards.md").read_text(encoding="utf-8") == text
        actions = [
            r["action"]
            for r in client.get("/api/kb/articles/gift-cards/history", headers=lead).json()[
                "revisions"
            ]
        ]
        assert actions == ["restore", "edit", "create"]

        # A translation is a file of its own under its language's folder.
        zh = dict(GIFT, title="礼品卡", body="我们暂时不出售礼品卡。", questions=["你们卖礼品卡吗"])
        assert client.put("/api/kb/articles/gift-cards?lang=zh", json=zh, headers=lead).json()[
            "changed"
        ]
        assert "礼品卡" in (kb_dir / "zh" / "gift-cards.md").read_text(encoding="utf-8")
        audit = [e["action"] for e in client.get("/api/audit", headers=admin).json()["entries"]]
        assert audit.count("kb_edit") == 4


def test_two_hubs_on_one_knowledge_base_serve_the_same_version(
    tmp_path: Path, database_url: str, fake_rasa: FakeRasa
) -> None:
    """Hubs sharing the knowledge base's folder and index folder (a shared volume): an edit
    published by one is what the other answers with, from its next look (every 2 s)."""
    kb_dir = tmp_path / "kb"
    shutil.copytree(ROOT / "kb_content", kb_dir)
    index_dir = tmp_path / "index"
    hashing_index(kb_dir, index_dir)
    common = {"database_url": database_url, "kb_dir": kb_dir}
    with (
        make_client(tmp_path / "a", index_dir, fake_rasa, **common) as first,
        make_client(tmp_path / "b", index_dir, fake_rasa, **common) as second,
    ):
        admin = login(first)
        lead = make_agent(first, admin, "Lee", "lead")["headers"]
        question = "Do you sell gift cards?"
        before = second.get("/help/search", params={"q": question}).text
        assert "/help/articles/gift-cards" not in before
        assert first.put("/api/kb/articles/gift-cards", json=GIFT, headers=lead).json()["changed"]
        assert builds_settled(first, lead)["state"] == "idle"
        deadline = time.monotonic() + 10
        while (
            "/help/articles/gift-cards"
            not in second.get("/help/search", params={"q": question}).text
        ):
            assert time.monotonic() < deadline, "the second hub still serves the old index"
            time.sleep(0.25)
        assert "We do not sell gift cards yet." in second.get("/help/articles/gift-cards").text
