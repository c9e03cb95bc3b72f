"""Narrow knowledge bases carved out of a tiny CLINC-shaped data set (the real run is
`kb eval --dataset clinc-domains`)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from retrieval import benchmark, benchmark_domains
from tests.fakes import HashingEncoder

PHRASES = {
    "balance": ["account balance", "money in my account", "how much money left"],
    "transfer": ["send money", "transfer funds", "wire to a friend"],
    "weather": ["weather today", "will it rain", "forecast sunny"],
    "timer": ["set a timer", "countdown minutes", "alarm in ten minutes"],
    "recipe": ["how to cook pasta", "recipe for soup", "bake a cake"],
    "calories": ["calories in an apple", "how fattening", "nutrition facts"],
    "flight": ["book a flight", "plane tickets", "fly to paris"],
    "hotel": ["book a hotel", "room for tonight", "hotel near the airport"],
}
DOMAINS = {
    "banking": ["balance", "transfer"],
    "home": ["weather", "timer"],
    "kitchen": ["recipe", "calories"],
    "travel": ["flight", "hotel"],
}


def _rows(rng: random.Random, n: int) -> list[list[str]]:
    return [
        [f"{rng.choice(phrases)} please {i}", intent]
        for intent, phrases in PHRASES.items()
        for i in range(n)
    ]


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    rng = random.Random(1)
    data = {
        "train": _rows(rng, 12),
        "test": _rows(rng, 5),
        "oos_test": [["capital of france", "oos"], ["sing a song", "oos"]],
    }
    path = tmp_path / "data_full.json"
    path.write_text(json.dumps(data))
    (tmp_path / "domains.json").write_text(json.dumps(DOMAINS))
    return path


def test_each_knowledge_base_holds_its_domains_and_meets_the_rest_as_unrelated(
    data_file: Path,
) -> None:
    data = benchmark.load_clinc(data_file)
    kbs = benchmark_domains.domain_kbs(data, benchmark_domains.load_domains(data_file))
    assert len(kbs) == len(DOMAINS) // benchmark_domains.DOMAINS_PER_KB
    seen: list[str] = []
    for names, articles, split in kbs:
        intents = {i for name in names for i in DOMAINS[name]}
        assert {a.id for a in articles} == intents
        in_scope = [label for label in split.labels if label != benchmark.OOS]
        assert set(in_scope) == intents and len(in_scope) == 5 * len(intents)
        unrelated = [
            t for t, lab in zip(split.texts, split.labels, strict=True) if lab == benchmark.OOS
        ]
        # Every other domain's test question (fewer than the cap here) and oos_test.
        assert len(unrelated) == 5 * (len(PHRASES) - len(intents)) + 2
        assert not any(t in unrelated for t, lab in data["test"] if lab in intents)
        seen += names
    assert sorted(seen) == sorted(DOMAINS)  # each domain in exactly one knowledge base
    # The same seed gives the same knowledge bases.
    again = benchmark_domains.domain_kbs(data, benchmark_domains.load_domains(data_file))
    assert [k[0] for k in again] == [k[0] for k in kbs]


def test_run_reports_each_knowledge_base_and_a_summary(data_file: Path) -> None:
    result = benchmark_domains.run(data_file, HashingEncoder(), say=lambda _: None)
    assert len(result["knowledge_bases"]) == 2
    for figures in result["knowledge_bases"].values():
        assert figures["top1"] > 0.9  # the topics share words with their questions
        assert 0.0 <= figures["unrelated_answered"] <= 1.0
    tops = [f["top1"] for f in result["knowledge_bases"].values()]
    assert result["worst"]["top1"] == min(tops)
    assert result["mean"]["top1"] == pytest.approx(sum(tops) / 2, abs=1e-4)


def test_summary_counts_targets_and_takes_the_highest_unrelated_as_worst() -> None:
    rows = [
        {"top1": 0.9, "answered_precision": 0.96, "coverage": 0.5, "unrelated_answered": 0.004,
         "coverage_at_p95": 0.6},
        {"top1": 0.8, "answered_precision": 0.94, "coverage": 0.75, "unrelated_answered": 0.02,
         "coverage_at_p95": 0.8},
        {"top1": 0.95, "answered_precision": 0.97, "coverage": 0.72, "unrelated_answered": 0.009,
         "coverage_at_p95": 0.75},
    ]  # fmt: skip
    summary = benchmark_domains.summarise(rows)
    assert summary["worst"]["unrelated_answered"] == 0.02
    assert summary["worst"]["coverage"] == 0.5
    # Two of three meet each target, a different two for coverage: a bound read the wrong
    # way round would count one.
    assert summary["meeting"] == {
        "top1": 2,
        "answered_precision": 2,
        "coverage": 2,
        "unrelated_answered": 2,
    }


def test_missing_domains_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"domains\.json"):
        benchmark_domains.load_domains(tmp_path / "data_full.json")
