"""Benchmarks: the knowledge base engine measured on questions it never saw, each
knowledge base treated as new (its operating point comes only from its own questions and the
shipped off-topic questions, as `frontline kb build` chooses it; no validation split).

CLINC150 (Larson et al., 2019; CC BY 3.0): one article per in-scope intent, whose
`questions` are 10 utterances drawn from `train` with a fixed seed; queries are `test` (in
scope) and `oos_test` (out of scope).
MASSIVE 1.1 English (FitzGerald et al., 2023; CC BY 4.0, Copyright Amazon.com Inc. or its
affiliates): the same from `train`, four whole scenarios held out; queries from `dev`.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from retrieval import calibration
from retrieval.articles import Article, chunk_body
from retrieval.calibration import OperatingPoint
from retrieval.encoder import Encoder
from retrieval.index import KnowledgeIndex
from retrieval.search import Thresholds, decide

SEED = 13
QUESTIONS_PER_ARTICLE = 10
TARGET_PRECISION = 0.95
OOS = "oos"


@dataclass
class Split:
    texts: list[str]
    labels: list[str]  # article id, or "oos"
    vectors: np.ndarray | None = None


def load_clinc(path: Path) -> dict[str, list[list[str]]]:
    if not path.is_file():
        raise FileNotFoundError(
            f"CLINC150 not found at {path}; set --data or FRONTLINE_CLINC150_PATH "
            "(data_full.json from the CLINC150 release)"
        )
    data: dict[str, list[list[str]]] = json.loads(path.read_text())
    return data


def clinc_articles(data: dict[str, list[list[str]]], seed: int = SEED) -> list[Article]:
    by_intent: dict[str, list[str]] = {}
    for text, intent in data["train"]:
        by_intent.setdefault(intent, []).append(text)
    rng = random.Random(seed)
    articles = []
    for intent in sorted(by_intent):
        title = intent.replace("_", " ").capitalize()
        body = f"Help with {intent.replace('_', ' ')}."
        articles.append(
            Article(
                id=intent,
                title=title,
                body=body,
                questions=tuple(rng.sample(by_intent[intent], QUESTIONS_PER_ARTICLE)),
                chunks=chunk_body(intent, body),
            )
        )
    return articles


def _split(data: dict[str, list[list[str]]], in_scope: str, out_of_scope: str) -> Split:
    rows = data[in_scope] + data[out_of_scope]
    return Split([t for t, _ in rows], [label if label != OOS else OOS for _, label in rows])


@dataclass(frozen=True)
class Outcome:
    """Per query: the ranked article ids, their probabilities and best-entry similarity."""

    ranked: list[list[str]]
    probabilities: np.ndarray  # (queries, k), best first
    similarity: np.ndarray  # (queries, k) best-entry similarity of each ranked article
    logits: np.ndarray | None = None  # (queries, k) fused logit of each ranked article


def run_queries(index: KnowledgeIndex, split: Split, k: int = 5) -> Outcome:
    assert split.vectors is not None
    ranked: list[list[str]] = []
    probabilities = np.zeros((len(split.texts), k))
    similarity = np.zeros((len(split.texts), k))
    logits = np.full((len(split.texts), k), -np.inf)
    for row, (text, vector) in enumerate(zip(split.texts, split.vectors, strict=True)):
        hits = index.search(text, vector, k=k)
        ranked.append([h.article_id for h in hits])
        probabilities[row, : len(hits)] = [h.score for h in hits]
        similarity[row, : len(hits)] = [h.similarity for h in hits]
        logits[row, : len(hits)] = [-np.inf if h.logit is None else h.logit for h in hits]
    return Outcome(ranked, probabilities, similarity, logits)


def _decisions(index: KnowledgeIndex, split: Split, outcome: Outcome, t: Thresholds) -> list[Any]:
    from retrieval.index import Hit

    results = []
    for row, ids in enumerate(outcome.ranked):
        hits = [
            Hit(
                a,
                a,
                float(outcome.probabilities[row, i]),
                None,
                "",
                None,
                float(outcome.similarity[row, i]),
                logit=None if outcome.logits is None else float(outcome.logits[row, i]),
            )
            for i, a in enumerate(ids)
        ]
        results.append(decide(split.texts[row], hits, t))
    return results


def score(
    split: Split, outcome: Outcome, decisions: Sequence[Any], oos_share: float | None = None
) -> dict[str, float]:
    """The figures for one split. With `oos_share`, answered precision counts out-of-scope
    queries as if they were that share of all traffic."""
    labels = split.labels
    in_scope = [i for i, label in enumerate(labels) if label != OOS]
    oos = [i for i, label in enumerate(labels) if label == OOS]
    top1 = np.mean([outcome.ranked[i][0] == labels[i] for i in in_scope])
    mrr = np.mean(
        [
            next((1 / (r + 1) for r, a in enumerate(outcome.ranked[i][:5]) if a == labels[i]), 0.0)
            for i in in_scope
        ]
    )
    answered = [i for i, d in enumerate(decisions) if d.decision == "answer"]
    correct = [i for i in answered if labels[i] != OOS and outcome.ranked[i][0] == labels[i]]
    oos_weight = 1.0
    if oos_share is not None and oos:
        oos_weight = oos_share / (1 - oos_share) * len(in_scope) / len(oos)
    answered_weight = sum(oos_weight if labels[i] == OOS else 1.0 for i in answered)
    clarified = [i for i, d in enumerate(decisions) if d.decision == "clarify"]
    clarify_hit = [
        i for i in clarified if labels[i] in [h.article_id for h in decisions[i].candidates]
    ]
    return {
        "top1": round(float(top1), 4),
        "mrr5": round(float(mrr), 4),
        "answered_precision": round(len(correct) / max(answered_weight, 1), 4),
        "coverage": round(sum(labels[i] != OOS for i in answered) / max(len(in_scope), 1), 4),
        "oos_escalated": round(
            sum(decisions[i].decision == "escalate" for i in oos) / max(len(oos), 1), 4
        ),
        "unrelated_answered": round(
            sum(decisions[i].decision == "answer" for i in oos) / max(len(oos), 1), 4
        ),
        "clarified": round(len(clarified) / max(len(labels), 1), 4),
        "clarify_contains_answer": round(len(clarify_hit) / max(len(clarified), 1), 4),
        "coverage_at_p95": round(coverage_at_precision(split, outcome, TARGET_PRECISION), 4),
        "calibration_error": round(expected_calibration_error(split, outcome), 4),
    }


def coverage_at_precision(split: Split, outcome: Outcome, precision: float) -> float:
    """In-scope coverage at the most permissive confidence cut whose answers are still
    `precision` right (in-scope and out-of-scope queries together)."""
    confidence = outcome.probabilities[:, 0]
    correct = np.array(
        [
            label != OOS and ids[0] == label
            for label, ids in zip(split.labels, outcome.ranked, strict=True)
        ]
    )
    is_in = np.array([label != OOS for label in split.labels])
    order = np.argsort(-confidence, kind="stable")
    running = np.cumsum(correct[order]) / np.arange(1, len(order) + 1)
    good = np.flatnonzero(running >= precision)
    if not len(good):
        return 0.0
    return float(is_in[order][: good[-1] + 1].sum() / is_in.sum())


def expected_calibration_error(split: Split, outcome: Outcome, bins: int = 10) -> float:
    """How far the top probability is from the share of right answers (10 bins)."""
    confidence = outcome.probabilities[:, 0]
    correct = np.array(
        [
            label != OOS and ids[0] == label
            for label, ids in zip(split.labels, outcome.ranked, strict=True)
        ]
    )
    edges = np.linspace(0, 1, bins + 1)
    total = 0.0
    for low, high in itertools.pairwise(edges):
        members = (confidence > low) & (confidence <= high)
        if members.any():
            total += members.mean() * abs(confidence[members].mean() - correct[members].mean())
    return total


def _thresholds(point: OperatingPoint) -> Thresholds:
    return Thresholds.of(point)


# The operating point shipped before self-calibration: chosen on CLINC150's validation split.
CLINC_TUNED = OperatingPoint(
    answer=0.675,
    clarify=0.7,
    min_similarity=0.4,
    temperature=0.7,
    lexical_weight=1.0,
    calibrated=False,
    target_precision=TARGET_PRECISION,
    note="chosen on CLINC150's validation split",
)
# What each idea of the calibration buys: the shipped choice, then one idea taken away (-)
# or one tried and not shipped added (+).
CALIBRATION_VARIANTS: dict[str, calibration.Choice | None] = {
    "constants tuned on CLINC150 validation (before)": None,
    "self-calibrated (shipped)": calibration.Choice(),
    "- without the off-topic questions": calibration.Choice(off_topic=False),
    "- without the confidence bound (point estimate)": calibration.Choice(z=0.0),
    "- without the off-topic budget": calibration.Choice(off_topic_budget=1.0),
    "- BM25 weight 1.0, temperature 0.7 fixed": calibration.Choice(fit_scorer=False),
    "+ max-logit gate": calibration.Choice(max_logit=True, logit_covered=False),
    "+ max-logit gate, off-topic covered by logit too": calibration.Choice(max_logit=True),
}


def evaluate(
    name: str,
    articles: list[Article],
    test: Split,
    encoder: Encoder,
    *,
    say: Callable[[str], None] = print,
    with_ablations: bool = False,
) -> dict[str, Any]:
    """Build the knowledge base as `frontline kb build` does (its operating point chosen from
    its own questions and the shipped off-topic questions only) and ask it the test split."""
    index, figures = build_and_ask(articles, test, encoder)
    point = index.operating_point
    assert point is not None
    say(
        f"{name}: {len(articles)} articles, index built in {index.manifest['build_seconds']} s "
        f"({index.manifest['classifier']})"
    )
    say(f"operating point chosen at build: {point.summary()}")
    for line in calibration.describe_limits(index.manifest.get("coverage_limits") or {}, point):
        say(line)
    extra: dict[str, Any] = {}
    if with_ablations:
        extra["ablations"] = ablations(index, test)
        extra["calibration_ablations"] = calibration_ablations(index, test)
    return {
        **figures,
        **extra,
        "operating_point": point.to_dict(),
        "queries": {
            "in_scope": sum(label != OOS for label in test.labels),
            "out_of_scope": sum(label == OOS for label in test.labels),
        },
    }


def build_and_ask(
    articles: Sequence[Article],
    split: Split,
    encoder: Encoder,
    *,
    serve_languages: Sequence[str] = (),
) -> tuple[KnowledgeIndex, dict[str, float]]:
    """Build the knowledge base as `frontline kb build` does and ask it `split` (its vectors
    set on the way) at the operating point the build chose: the index and the figures."""
    index = KnowledgeIndex.build(articles, encoder, serve_languages=serve_languages)
    point = index.operating_point
    assert point is not None
    # A tuning encoder's questions are embedded by the model it tuned for this index.
    asking = index.tuned_encoder or encoder
    split.vectors = index.question_vectors(asking, split.texts, asking.encode(split.texts))
    outcome = run_queries(index, split)
    return index, score(split, outcome, _decisions(index, split, outcome, _thresholds(point)))


def scored_split(index: KnowledgeIndex, split: Split) -> calibration.Scored:
    """The scorer's per-article features of `split`'s questions (its vectors set), as the
    calibration scores its own held-out questions."""
    assert split.vectors is not None
    return calibration.score_queries(
        split.texts,
        split.vectors,
        weights=index.weights,
        bias=index.bias,
        lexical=index.lexical,
        entry_vectors=np.asarray(index.vectors),
        starts=index.article_starts,
    )


def calibration_ablations(
    index: KnowledgeIndex, split: Split
) -> dict[str, dict[str, float | None]]:
    """Figures at the operating point each variant of the calibration chooses."""
    assert index.cross_validation is not None
    scored = scored_split(index, split)
    ids = [a.id for a in index.articles]
    table = {}
    for name, choice in CALIBRATION_VARIANTS.items():
        point = (
            CLINC_TUNED if choice is None else calibration.choose(index.cross_validation, choice)
        )
        probabilities = scored.probabilities(point.lexical_weight, point.temperature)
        order = np.argsort(-probabilities, axis=1)[:, :5]
        fused = scored.fused(point.lexical_weight)
        outcome = Outcome(
            [[ids[j] for j in row] for row in order],
            np.take_along_axis(probabilities, order, axis=1),
            np.take_along_axis(scored.similarity, order, axis=1),
            np.take_along_axis(fused, order, axis=1),
        )
        figures = score(split, outcome, _decisions(index, split, outcome, _thresholds(point)))
        table[name] = {
            **{k: figures[k] for k in ("top1", "answered_precision", "coverage")},
            "unrelated_answered": figures["unrelated_answered"],
            "answer": point.answer,
            "min_similarity": point.min_similarity,
            "min_logit": point.min_logit,
        }
    return table


def run(
    data_path: Path,
    encoder: Encoder,
    *,
    say: Callable[[str], None] = print,
    with_ablations: bool = False,
) -> dict[str, Any]:
    """CLINC150: articles from `train`, queries `test` + `oos_test`; `val` is not used."""
    data = load_clinc(data_path)
    articles = clinc_articles(data)
    say(f"CLINC150 (CC BY 3.0): {QUESTIONS_PER_ARTICLE} questions per article (seed {SEED})")
    return evaluate(
        "CLINC150",
        articles,
        _split(data, "test", "oos_test"),
        encoder,
        say=say,
        with_ablations=with_ablations,
    )


# MASSIVE ------------------------------------------------------------------------------
MASSIVE_FILE = "massive_en_zh_fa.jsonl"
HELD_OUT_SCENARIOS = 4


def load_massive(path: Path, language: str = "en") -> list[dict[str, str]]:
    """Rows of the MASSIVE file (`path` is the file or its folder)."""
    file = path / MASSIVE_FILE if path.is_dir() else path
    if not file.is_file():
        raise FileNotFoundError(
            f"MASSIVE not found at {path}; set --data or FRONTLINE_MASSIVE_PATH "
            f"(the folder with {MASSIVE_FILE})"
        )
    rows = []
    for line in file.read_text(encoding="utf-8").splitlines():
        if line.strip():
            raw = json.loads(line)
            rows.append(
                {"partition": raw["partition"], "intent": raw["intent"], "text": raw[language]}
            )
    return rows


def massive_kb(
    rows: list[dict[str, str]], seed: int = SEED
) -> tuple[list[Article], Split, list[str]]:
    """Articles from `train` (10 questions each, fixed seed) for the intents of all but
    HELD_OUT_SCENARIOS scenarios (chosen with the seed); queries from `dev`, the held-out
    scenarios' utterances out of scope. Returns (articles, test split, held-out scenarios)."""
    scenarios = sorted({r["intent"].split("_", 1)[0] for r in rows})
    held_out = sorted(random.Random(seed).sample(scenarios, HELD_OUT_SCENARIOS))
    by_intent: dict[str, list[str]] = {}
    for r in rows:
        if r["partition"] == "train" and r["intent"].split("_", 1)[0] not in held_out:
            by_intent.setdefault(r["intent"], []).append(r["text"])
    rng = random.Random(seed)
    articles = []
    for intent in sorted(by_intent):
        texts = list(dict.fromkeys(by_intent[intent]))
        questions = rng.sample(texts, min(QUESTIONS_PER_ARTICLE, len(texts)))
        title = intent.replace("_", " ").capitalize()
        body = f"Help with {intent.replace('_', ' ')}."
        articles.append(
            Article(
                id=intent,
                title=title,
                body=body,
                questions=tuple(questions),
                chunks=chunk_body(intent, body),
            )
        )
    test = Split([], [])
    for r in rows:
        if r["partition"] != "dev":
            continue
        scenario = r["intent"].split("_", 1)[0]
        if scenario in held_out:
            test.texts.append(r["text"])
            test.labels.append(OOS)
        elif r["intent"] in by_intent:
            test.texts.append(r["text"])
            test.labels.append(r["intent"])
    return articles, test, held_out


def run_massive(
    data_path: Path,
    encoder: Encoder,
    *,
    say: Callable[[str], None] = print,
    with_ablations: bool = False,
) -> dict[str, Any]:
    rows = load_massive(data_path)
    articles, test, held_out = massive_kb(rows)
    say(
        "MASSIVE English (Amazon, CC BY 4.0): articles from train, "
        f"{QUESTIONS_PER_ARTICLE} questions each (seed {SEED}); queries from dev; "
        f"held out as out of scope: {', '.join(held_out)}"
    )
    return evaluate("MASSIVE en", articles, test, encoder, say=say, with_ablations=with_ablations)


def _outcome_from_scores(scores: np.ndarray, ids: list[str], k: int = 5) -> Outcome:
    order = np.argsort(-scores, axis=1)[:, :k]
    ranked = [[ids[j] for j in row] for row in order]
    top = np.take_along_axis(scores, order, axis=1)
    return Outcome(ranked, top, np.ones(len(scores)))


def ablations(index: KnowledgeIndex, split: Split) -> dict[str, dict[str, float]]:
    """Threshold-free figures (top-1, MRR@5, coverage at 95% precision) for each idea alone
    and combined, on one split: what each part of the scorer buys."""
    assert split.vectors is not None
    ids = [a.id for a in index.articles]
    n = len(ids)
    cosine = split.vectors @ index.vectors.T
    nearest = np.full((len(split.texts), n), -1.0)
    np.maximum.at(nearest.T, index.entry_article, cosine.T)
    lexical = np.zeros((len(split.texts), n))
    for row, text in enumerate(split.texts):
        entry_scores = index.lexical.scores(text)
        if entry_scores is not None:
            np.maximum.at(lexical[row], index.entry_article, entry_scores)
    centroids = np.zeros((n, index.vectors.shape[1]), dtype=np.float32)
    np.add.at(centroids, index.entry_article, index.vectors)
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    logits = split.vectors @ index.weights.T + index.bias
    fused = np.array(
        [index.probabilities(t, v) for t, v in zip(split.texts, split.vectors, strict=True)]
    )

    def softmax(z: np.ndarray) -> np.ndarray:
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        result: np.ndarray = e / e.sum(axis=1, keepdims=True)
        return result

    variants = {
        "dense nearest neighbour (max over an article's texts)": nearest,
        "BM25 alone": lexical,
        "centroid of an article's texts": split.vectors @ centroids.T,
        "classifier over embeddings": softmax(logits),
        "classifier + BM25 (shipped)": fused,
    }
    table = {}
    for name, scores in variants.items():
        outcome = _outcome_from_scores(scores, ids)
        figures = score(split, outcome, [decide(t, [], Thresholds()) for t in split.texts])
        table[name] = {k: figures[k] for k in ("top1", "mrr5", "coverage_at_p95")}
    return table
