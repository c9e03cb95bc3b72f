from __future__ import annotations

import json
from pathlib import Path

import pytest

from retrieval.articles import SourceError
from retrieval.faq import load_faq
from retrieval.sources import load_articles

CSV = """question,answer,id,tags,url
How do I reset my password?,"Use **Forgot password?**.

Then check your email, spam too.",reset,"account; sign-in",https://help.example/reset
I forgot my password,"Use **Forgot password?**.

Then check your email, spam too.",reset,,https://help.example/reset
Where are my invoices?,"Billing > Invoices",,billing,
"""


def test_csv_rows_with_quotes_tags_and_merged_phrasings(tmp_path: Path) -> None:
    path = tmp_path / "faq.csv"
    path.write_text("\ufeff" + CSV, encoding="utf-8")
    reset, invoices = load_faq(path)
    assert reset.id == "reset"
    assert reset.title == "How do I reset my password?"
    assert reset.questions == ("How do I reset my password?", "I forgot my password")
    assert reset.body == "Use **Forgot password?**.\n\nThen check your email, spam too."
    assert reset.tags == ("account", "sign-in")
    assert reset.url == "https://help.example/reset"
    assert reset.lead == "Use **Forgot password?**."
    assert invoices.id == "where-are-my-invoices"
    assert invoices.tags == ("billing",) and invoices.url is None


def test_json_list(tmp_path: Path) -> None:
    path = tmp_path / "faq.json"
    path.write_text(
        json.dumps(
            [
                {
                    "question": "Is there a mobile app?",
                    "answer": "Yes, iOS and Android.",
                    "tags": ["mobile"],
                    "title": "Mobile apps",
                },
                {"question": "Is there a mobile app?", "answer": "Same question, other article."},
            ],
            indent=2,
        )
    )
    first, second = load_faq(path)
    assert (first.id, first.title, first.tags) == (
        "is-there-a-mobile-app",
        "Mobile apps",
        ("mobile",),
    )
    assert second.id == "is-there-a-mobile-app-2"  # slug collision gets a suffix


@pytest.mark.parametrize(
    ("name", "text", "line", "problem"),
    [
        ("a.csv", "question,reply\nq,a\n", 1, "missing column"),
        ("a.csv", "question,answer,colour\nq,a,red\n", 1, "unknown column"),
        ("a.csv", "question,answer\nq1,a1\n,a2\n", 3, "'question' is empty"),
        ("a.csv", 'question,answer\n"q1","multi\nline"\nq2,\n', 4, "'answer' is empty"),
        ("a.csv", "question,answer,url\nq,a,ftp://x\n", 2, "'url' must be an http"),
        ("a.csv", "question,answer,id\nq,a,x\nq2,b,x\n", 3, "disagree on 'answer'"),
        ("a.csv", "question,answer\n", 1, "no entries"),
        (
            "a.json",
            '[\n  {"question": "q", "answer": "a"},\n  {"question": "q2",\n   "answer": 5}\n]',
            3,
            "'answer' must be a string",
        ),
        ("a.json", '{"question": "q"}', 1, "must hold a list"),
        ("a.json", '[\n  {"question": "q",\n  "answer": "a",}\n]', 3, "invalid JSON"),
        ("a.json", '[\n  "just text"\n]', 1, "is not an object"),
        ("a.json", '[\n  {"question": "q", "answer": "a", "extra": 1}\n]', 2, "unknown key"),
    ],
)
def test_bad_faq_files_name_the_line(
    tmp_path: Path, name: str, text: str, line: int, problem: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(SourceError, match=problem) as caught:
        load_faq(path)
    assert caught.value.line == line


def test_mixed_folder_and_duplicate_ids_across_files(tmp_path: Path) -> None:
    (tmp_path / "guide.md").write_text("---\ntitle: Guide\n---\nRead me.\n")
    (tmp_path / "faq.csv").write_text("question,answer\nWhat is it?,A tool.\n")
    (tmp_path / "more.json").write_text('[{"question": "Price?", "answer": "Free."}]')
    assert [a.id for a in load_articles(tmp_path)] == ["what-is-it", "guide", "price"]
    (tmp_path / "dupe.json").write_text('[{"id": "guide", "question": "q", "answer": "a"}]')
    with pytest.raises(SourceError, match="duplicate id 'guide'"):
        load_articles(tmp_path)
