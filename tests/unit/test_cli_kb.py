"""The `frontline kb` contract, with the real packaged model (other tools parse this output)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from tests.fakes.paths import ROOT

pytestmark = pytest.mark.real_model
ARTICLE = (
    "---\ntitle: {title}\nquestions: [{question}]\nurl: https://help.example/{id}\n---\n{body}\n"
)


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("kb")
    for article_id, title, question, body in [
        ("reset-password", "Reset your password", "I forgot my password", "Use Forgot password."),
        ("export-data", "Export your data", "How do I export my projects", "Settings > Export."),
        ("invoices", "Invoices and receipts", "Where is my invoice", "Billing > Invoices."),
    ]:
        (source / f"{article_id}.md").write_text(
            ARTICLE.format(id=article_id, title=title, question=question, body=body)
        )
    index_dir = tmp_path_factory.mktemp("index")
    result = CliRunner().invoke(
        app, ["kb", "build", "--source", str(source), "--index", str(index_dir)]
    )
    assert result.exit_code == 0, result.output
    assert "Indexed 3 articles" in result.output
    # Three articles with one question each are too few to calibrate on: it says so.
    assert "Operating point (not calibrated): answer >= " in result.output
    assert "fallback defaults" in result.output
    again = CliRunner().invoke(
        app, ["kb", "build", "--source", str(source), "--index", str(index_dir)]
    )
    assert "up to date" in again.output
    return index_dir


def test_search_json_lines_in_input_order(index: Path, tmp_path: Path) -> None:
    queries = tmp_path / "queries.txt"
    queries.write_text("I can't remember my password\n\nwhat's the capital of peru\n")
    result = CliRunner().invoke(
        app,
        [
            "kb",
            "search",
            "--index",
            str(index),
            "--json",
            "--queries",
            str(queries),
            "download",
            "my",
            "invoice",
        ],
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert [line["query"] for line in lines] == [
        "download my invoice",
        "I can't remember my password",
        "what's the capital of peru",
    ]
    for line in lines:
        assert set(line) == {"query", "decision", "confidence", "hits"}
        assert line["decision"] in ("answer", "clarify", "escalate")
        assert isinstance(line["confidence"], float)
        for hit in line["hits"]:
            assert set(hit) == {"article_id", "title", "score", "section", "snippet", "url"}
        scores = [h["score"] for h in line["hits"]]
        assert scores == sorted(scores, reverse=True)
    assert lines[0]["hits"][0]["article_id"] == "invoices"
    assert lines[1]["decision"] == "answer"
    assert lines[1]["hits"][0]["article_id"] == "reset-password"
    assert lines[1]["hits"][0]["url"] == "https://help.example/reset-password"
    assert lines[2]["decision"] == "escalate"


def test_bad_source_fails_the_build_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "broken.md").write_text("---\ntitle: [unclosed\n---\nbody\n")
    result = CliRunner().invoke(
        app, ["kb", "build", "--source", str(tmp_path), "--index", str(tmp_path / "index")]
    )
    assert result.exit_code == 1
    assert "broken.md:2: invalid YAML front matter" in result.output
    assert not (tmp_path / "index" / "CURRENT").exists()


def test_search_without_an_index_says_what_to_do(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["kb", "search", "--index", str(tmp_path), "hello"])
    assert result.exit_code == 1 and "frontline kb build" in result.output


def test_gaps_report_from_the_command_line(
    index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import date, timedelta

    from handoff.db import make_engine, make_sessionmaker, transaction, upgrade
    from tests.fakes.seed import gap_ticket

    database_url = f"sqlite:///{tmp_path / 'gaps.db'}"
    upgrade(database_url)
    engine = make_engine(database_url)
    with transaction(make_sessionmaker(engine)) as session:
        for question in ("do you sell gift cards", "can I buy a gift card"):
            gap_ticket(
                session,
                [{"question": question, "decision": "escalate", "sources": []}],
                agent_answer="Not yet, sorry.",
            )
    engine.dispose()
    monkeypatch.setenv("FRONTLINE_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("FRONTLINE_DATABASE_URL", database_url)
    monkeypatch.setenv("FRONTLINE_INDEX_DIR", str(index))
    since = (date.today() - timedelta(days=1)).isoformat()

    result = CliRunner().invoke(app, ["kb", "gaps", "--since", since, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["questions"] == 2 and len(report["topics"]) == 1
    [topic] = report["topics"]
    assert topic["size"] == 2 and topic["suggestion"]["action"] == "new_article"
    assert "Not yet, sorry." in topic["suggestion"]["draft"]

    text = CliRunner().invoke(app, ["kb", "gaps", "--since", since])
    assert text.exit_code == 0, text.output
    assert "2 unsettled question(s)" in text.output and "a new article" in text.output
    bad = CliRunner().invoke(app, ["kb", "gaps", "--since", "yesterday"])
    assert bad.exit_code != 0 and "YYYY-MM-DD" in bad.output


def test_build_says_what_limits_coverage(tmp_path: Path) -> None:
    # The starter knowledge base's English articles: 96 held-out questions, and off-topic
    # questions about other companies' accounts and plans close to some of its articles.
    source = tmp_path / "kb"
    source.mkdir()
    for article in (ROOT / "kb_content").glob("*.md"):
        (source / article.name).write_text(article.read_text())
    result = CliRunner().invoke(
        app, ["kb", "build", "--source", str(source), "--index", str(tmp_path / "index")]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    point = next(i for i, line in enumerate(lines) if line.startswith("Operating point: "))
    assert lines[point + 1].startswith("What limits coverage: ")
    assert "too few alternative questions" in lines[point + 1]
    assert "off-topic questions it is sure of" in lines[point + 1]
    assert lines[point + 2].startswith('Closest off-topic questions: "')
    assert lines[point + 2].endswith("add it to that article as an alternative question.")
