from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.articles import SourceError, parse_article
from retrieval.sources import load_articles, sources_digest
from tests.fakes.paths import ROOT

ARTICLE = """---
id: reset-password
title: Reset your password
questions:
  - I forgot my password
  - How do I change my password?
tags: [account]
url: https://help.example/reset
updated: 2026-10-01
---
Choose **Forgot password?** on the sign-in page.

## If the email does not arrive
Check your spam folder.

### Still nothing
Write to us.
"""


def test_parses_front_matter_and_splits_by_headings() -> None:
    article = parse_article(Path("reset.md"), ARTICLE)
    assert article.id == "reset-password"
    assert article.questions == ("I forgot my password", "How do I change my password?")
    assert article.updated == "2026-10-01"
    assert article.lead == "Choose **Forgot password?** on the sign-in page."
    assert [(c.section, c.text) for c in article.chunks] == [
        (None, "Choose **Forgot password?** on the sign-in page."),
        ("If the email does not arrive", "Check your spam folder."),
        ("Still nothing", "Write to us."),
    ]


def test_id_defaults_to_file_name() -> None:
    article = parse_article(Path("kb/billing-faq.md"), "---\ntitle: Billing\n---\nText.\n")
    assert article.id == "billing-faq"


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("no front matter\n", 1, "missing YAML front matter"),
        ("---\ntitle: x\n", 1, "not closed"),
        ("---\ntitle: [unclosed\n---\nbody\n", 2, "invalid YAML"),
        ("---\nquestions: [a]\n---\nbody\n", 2, "'title' is required"),
        ("---\ntitle: T\nquestions: [1, '']\n---\nbody\n", 1, "'questions' must be a list"),
        ("---\ntitle: T\nurl: javascript:alert(1)\n---\nbody\n", 2, "'url' must be an http"),
        ("---\ntitle: T\n---\n\n", 1, "no body"),
    ],
)
def test_bad_sources_name_file_line_and_problem(text: str, line: int, problem: str) -> None:
    with pytest.raises(SourceError, match=problem) as caught:
        parse_article(Path("bad.md"), text)
    assert caught.value.line == line
    assert str(caught.value).startswith(f"bad.md:{line}:")


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("---\nid: same\ntitle: A\n---\nA.\n")
    (tmp_path / "b.md").write_text("---\nid: same\ntitle: B\n---\nB.\n")
    with pytest.raises(SourceError, match="duplicate id 'same'"):
        load_articles(tmp_path)


def test_byte_order_mark_and_windows_line_ends_are_read(tmp_path: Path) -> None:
    # Notepad and spreadsheet exports save UTF-8 with a BOM and CRLF line ends.
    text = "\r\n".join(
        ["---", "title: Café hours", "questions:", "  - When are you open?", "---", "Nine to five."]
    )
    (tmp_path / "hours.md").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    (tmp_path / "faq.json").write_bytes(
        b"\xef\xbb\xbf" + b'[{"question": "Do you ship abroad?", "answer": "Yes."}]'
    )
    by_id = {a.id: a for a in load_articles(tmp_path)}
    assert by_id["hours"].title == "Café hours"
    assert by_id["hours"].questions == ("When are you open?",)
    assert by_id["hours"].lead == "Nine to five."
    assert [a.questions for a in by_id.values() if a.id != "hours"] == [("Do you ship abroad?",)]


@pytest.mark.parametrize("name", ["legacy.md", "legacy.csv"])
def test_a_file_not_in_utf8_names_its_line(tmp_path: Path, name: str) -> None:
    (tmp_path / "ok.md").write_text("---\ntitle: Fine\n---\nFine.\n")
    markdown, csv = "---\ntitle: Caf\xe9\n---\nx\n", "question,answer\nCaf\xe9?,Yes\n"
    (tmp_path / name).write_bytes((markdown if name.endswith(".md") else csv).encode("latin-1"))
    with pytest.raises(SourceError, match=r"not UTF-8 text \(byte 0xe9\)") as caught:
        load_articles(tmp_path)
    assert caught.value.path == tmp_path / name
    assert caught.value.line == 2


def test_digest_changes_with_any_source(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("---\ntitle: A\n---\nA.\n")
    before = sources_digest(tmp_path)
    (tmp_path / "a.md").write_text("---\ntitle: A\n---\nA!\n")
    assert sources_digest(tmp_path) != before


def test_starter_knowledge_base_is_complete() -> None:
    articles = load_articles(ROOT / "kb_content")
    assert len(articles) >= 15
    for article in articles:
        assert len(article.questions) >= 3, article.id
        # No url of their own: answers link to the hub's help center (a demo's links must
        # not point at a site that does not exist).
        assert article.url is None or article.url.startswith("https://"), article.id
    topics = " ".join(a.id + " " + " ".join(a.tags) for a in articles)
    for topic in (
        "install",
        "password",
        "licen",
        "update",
        "billing",
        "export",
        "backup",
        "security",
        "sla",
        "contact",
    ):
        assert topic in topics, topic
