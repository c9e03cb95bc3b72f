"""The benchmark's bookkeeping on a tiny CLINC-shaped data set (the real run is `kb eval`)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from retrieval import benchmark
from tests.fakes import HashingEncoder

TOPICS = {
    "balance": ["account balance", "money in my account", "how much money"],
    "transfer": ["send money", "transfer funds", "wire to a friend"],
    "weather": ["weather today", "will it rain", "forecast sunny"],
    "timer": ["set a timer", "countdown minutes", "alarm in ten minutes"],
}


def _rows(rng: random.Random, n: int) -> list[list[str]]:
    rows = []
    for intent, phrases in TOPICS.items():
        for i in range(n):
            rows.append([f"{rng.choice(phrases)} please {i}", intent])
    return rows


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    rng = random.Random(1)
    data = {
        "train": _rows(rng, 12),
        "val": _rows(rng, 5),
        "test": _rows(rng, 5),
        "oos_train": [["tell me a joke", "oos"]],
        "oos_val": [["who won the football", "oos"], ["sing a song", "oos"]],
        "oos_test": [["recipe for pancakes", "oos"], ["capital of france", "oos"]],
    }
    path = tmp_path / "data_full.json"
    path.write_text(json.dumps(data))
    return path


def test_articles_take_ten_questions_with_a_fixed_seed(data_file: Path) -> None:
    data = benchmark.load_clinc(data_file)
    first = benchmark.clinc_articles(data)
    assert [a.id for a in first] == sorted(TOPICS)
    assert all(len(a.questions) == benchmark.QUESTIONS_PER_ARTICLE for a in first)
    assert benchmark.clinc_articles(data) == first


def test_run_reports_every_figure_in_range(data_file: Path) -> None:
    figures = benchmark.run(data_file, HashingEncoder(), say=lambda _: None, with_ablations=True)
    for key in (
        "top1",
        "mrr5",
        "answered_precision",
        "coverage",
        "oos_escalated",
        "coverage_at_p95",
    ):
        assert 0.0 <= figures[key] <= 1.0, key
    assert figures["top1"] > 0.9  # the topics share words with their questions
    assert figures["mrr5"] >= figures["top1"]
    assert figures["queries"] == {"in_scope": 20, "out_of_scope": 2}
    assert "classifier + BM25 (shipped)" in figures["ablations"]


def test_coverage_at_precision_counts_out_of_scope_answers_as_wrong() -> None:
    import numpy as np

    split = benchmark.Split(["a", "b", "c", "d"], ["x", "y", "oos", "z"])
    outcome = benchmark.Outcome(
        [["x"], ["y"], ["x"], ["q"]], np.array([[0.9], [0.8], [0.7], [0.6]]), np.ones(4)
    )
    # Answering the top two is 100% right (2 of 3 in scope); adding the out-of-scope one
    # drops precision to 2/3.
    assert benchmark.coverage_at_precision(split, outcome, 0.95) == pytest.approx(2 / 3)
    assert benchmark.coverage_at_precision(split, outcome, 0.6) == pytest.approx(2 / 3)
    assert benchmark.coverage_at_precision(split, outcome, 0.5) == pytest.approx(1.0)


def test_missing_data_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="CLINC150 not found"):
        benchmark.load_clinc(tmp_path / "nope.json")
