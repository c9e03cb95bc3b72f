"""The help center (/help): home with categories and the most read, search with the bot's
engine, safe article pages with linkable sections, votes, sitemap, ETags, and bot answers
linking to it for articles without a `url`."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.help_center.markdown import plain_text
from tests.fakes.hashing_index import hashing_index
from tests.fakes.hub_client import login, make_client
from tests.fakes.paths import ROOT
from tests.fakes.rasa import FakeRasa

HOSTILE = """---
id: hostile
title: Hostile <b>title</b>
questions: [is this safe]
tags: [security]
---
Intro <script>alert(1)</script> and [a link](javascript:alert(1)) and [ok](https://example.org).

## Details <img src=x onerror=alert(1)>

Text.
"""


@pytest.fixture
def kb_dir(tmp_path: Path) -> Path:
    path = tmp_path / "kb"
    shutil.copytree(ROOT / "kb_content", path)
    (path / "hostile.md").write_text(HOSTILE, encoding="utf-8")
    # An article with a url of its own (the starter articles have none).
    reset = path / "reset-password.md"
    reset.write_text(
        reset.read_text(encoding="utf-8").replace(
            "tags: [", "url: https://docs.example.org/reset-password\ntags: [", 1
        ),
        encoding="utf-8",
    )
    return path


@pytest.fixture
def client(tmp_path: Path, kb_dir: Path, database_url: str, fake_rasa: FakeRasa) -> TestClient:
    index_dir = tmp_path / "index"
    hashing_index(kb_dir, index_dir)
    with make_client(tmp_path, index_dir, fake_rasa, database_url=database_url, kb_dir=kb_dir) as c:
        yield c


def test_home_lists_categories_and_most_read_with_etags(client: TestClient) -> None:
    home = client.get("/help/")
    assert home.status_code == 200
    assert "default-src 'self'" in home.headers["content-security-policy"]
    text = home.text
    assert '<html lang="en" dir="ltr">' in text and "<title>Help center</title>" in text
    assert 'href="/help/articles/reset-password?lang=en"' in text
    assert "Most read" not in text  # nobody has read anything yet
    again = client.get("/help/", headers={"If-None-Match": home.headers["etag"]})
    assert again.status_code == 304

    for _ in range(2):
        assert client.get("/help/articles/billing-invoices").status_code == 200
    assert client.get("/help/articles/reset-password").status_code == 200
    popular = client.get("/help/").text.split("Most read", 1)[1].split("</section>", 1)[0]
    assert popular.index("billing-invoices") < popular.index("reset-password")


def test_article_pages_are_safe_and_their_sections_linkable(client: TestClient) -> None:
    page = client.get("/help/articles/billing-invoices").text
    assert '<h2 id="vat-and-sales-tax">' in page
    assert 'rel="alternate" hreflang="en"' in page
    assert 'name="description"' in page
    # Every section's anchor, as the index (and so the bot's answer links) computes it, is an
    # id on this page.
    index = client.app.state.hub.knowledge.kb.index  # type: ignore[attr-defined]
    anchors = {
        e.anchor
        for e in index.entries
        if e.article_id == "billing-invoices" and e.lang == "en" and e.anchor
    }
    assert "vat-and-sales-tax" in anchors
    for anchor in anchors:
        assert f'id="{anchor}"' in page, anchor

    hostile = client.get("/help/articles/hostile").text
    assert "<script>alert" not in hostile and "&lt;script&gt;" in hostile
    assert "javascript:" not in hostile.split("<main", 1)[1].split("</main>", 1)[0].replace(
        "[a link](javascript:alert(1))", ""
    )
    assert "<img" not in hostile and "Hostile &lt;b&gt;title&lt;/b&gt;" in hostile
    assert 'href="https://example.org" rel="noopener noreferrer"' in hostile

    missing = client.get("/help/articles/no-such-thing")
    assert missing.status_code == 404 and "does not exist" in missing.text


def test_votes_are_counted_and_thanked(client: TestClient) -> None:
    voted = client.post(
        "/help/articles/reset-password/vote",
        data={"helpful": "no", "lang": "en"},
        follow_redirects=False,
    )
    assert voted.status_code == 303
    assert voted.headers["location"] == "/help/articles/reset-password?lang=en&voted=1#main"
    assert "Thanks for your feedback" in client.get(voted.headers["location"]).text
    bad = client.post("/help/articles/reset-password/vote", data={"helpful": "maybe"})
    assert bad.status_code == 422
    gone = client.post("/help/articles/nope/vote", data={"helpful": "yes"})
    assert gone.status_code == 404
    hub = client.app.state.hub  # type: ignore[attr-defined]
    from handoff import help_feedback
    from handoff.models import utcnow

    with hub.sessions() as session:
        figures = help_feedback.article_figures(session, since=utcnow().date())
    row = next(f for f in figures if f["article_id"] == "reset-password")
    assert row["not_helpful"] == 1 and row["helpful"] == 0 and row["views"] == 1

    # In the leads' report and in the knowledge-gaps data.
    headers = login(client)
    report = client.get("/api/reports", headers=headers)
    assert report.status_code == 200, report.text
    help_center = report.json()["help_center"]
    assert (help_center["views"], help_center["not_helpful"]) == (1, 1)
    assert help_center["articles"][0]["article_id"] == "reset-password"
    gaps = client.get("/api/kb/gaps", headers=headers).json()
    assert [a["article_id"] for a in gaps["help_articles_not_helpful"]] == ["reset-password"]


def test_search_uses_the_bots_engine(client: TestClient) -> None:
    found = client.get("/help/search", params={"q": "I forgot my password"}).text
    best = found.split('id="best"', 1)[1]
    assert "/help/articles/reset-password" in best.split("</section>", 1)[0]
    # Snippets read as text: every part of that article marks up what to click in **bold**.
    snippets = [part.split("</p>", 1)[0] for part in found.split('class="help-snippet">')[1:]]
    assert snippets and not any("**" in snippet for snippet in snippets)
    nothing = client.get("/help/search", params={"q": "zzzz qqqq"}).text
    assert "No article matches" in nothing
    assert client.get("/help/search", params={"q": "  "}, follow_redirects=False).status_code == 303
    assert client.get("/help/search", params={"q": "x" * 501}).status_code == 422


def test_the_help_centers_own_words_are_in_the_pages_language(client: TestClient) -> None:
    chinese = client.get("/help/articles/billing-invoices", params={"lang": "zh"}).text
    assert '<html lang="zh"' in chinese
    chinese_words = ("搜索帮助中心", "这篇文章有帮助吗？", "仍需要帮助？", "与我们聊天", "帮助中心")  # noqa: RUF001
    for words in chinese_words:
        assert words in chinese, words
    assert "Search the help center" not in chinese and "Was this article helpful?" not in chinese
    # The language switch names each language in itself.
    assert ">中文</a>" in chinese and ">فارسی</a>" in chinese and ">English</a>" in chinese
    # "Chat with us" opens the widget with a draft in the page's language.
    assert 'data-draft="关于“付款方式、发票和增值税”：' in chinese  # noqa: RUF001
    article = client.get("/help/articles/billing-invoices", params={"lang": "fa"}).text
    assert 'به‌روزشده در <time datetime="2026-10-01" dir="ltr">2026-10-01</time>' in article
    persian = client.get("/help/search", params={"q": "zzzz qqqq", "lang": "fa"}).text
    assert 'dir="rtl"' in persian and "هیچ مقاله‌ای پیدا نشد" in persian
    english = client.get("/help/search", params={"q": "zzzz qqqq", "lang": "en"}).text
    assert "No article matches" in english
    missing = client.get("/help/articles/no-such-thing", params={"lang": "fa"})
    assert missing.status_code == 404 and "این مقاله وجود ندارد" in missing.text


def test_snippets_lose_their_markup_and_keep_their_words() -> None:
    markdown = (
        "- **Cards:** Visa and `AmEx`, [monthly](https://example.org) billing.\n"
        "- **PayPal:** monthly.\n\n1. Go to **Admin > Billing**.\n2. Then <b>this</b> & 5\\*2."
    )
    assert plain_text(markdown) == (
        "Cards: Visa and AmEx, monthly billing. PayPal: monthly. Go to Admin > Billing. "
        "Then <b>this</b> & 5*2."
    )
    assert plain_text("One line\nand the next.") == "One line and the next."


def test_sitemap_lists_every_article(client: TestClient, kb_dir: Path) -> None:
    response = client.get("/help/sitemap.xml")
    assert response.status_code == 200
    tree = ET.fromstring(response.content)
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    locs = [loc.text or "" for loc in tree.findall("s:url/s:loc", ns)]
    assert len(locs) == len(list(kb_dir.rglob("*.md")))  # every language version
    assert "http://testserver/help/articles/reset-password?lang=en" in locs


def test_answers_of_articles_without_a_url_link_to_the_help_center(client: TestClient) -> None:
    headers = login(client)
    hits = client.get(
        "/api/kb/search", params={"q": "how can I export my data"}, headers=headers
    ).json()["hits"]
    export = next(h for h in hits if h["article_id"] == "export-data")
    assert export["url"].startswith("http://127.0.0.1:8000/help/articles/export-data?lang=en")
    reset = client.get(
        "/api/kb/search", params={"q": "I forgot my password"}, headers=headers
    ).json()["hits"][0]
    assert reset["url"].startswith("https://docs.example.org/reset-password")
