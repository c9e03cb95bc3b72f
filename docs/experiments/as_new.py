"""Shared by the experiments that build a benchmark knowledge base as new and read its test
set: the default encoder, the build, the build's own cross-validation arguments, the test
questions' article positions, and one line of figures at an operating point.

Not an experiment itself: imported by off_topic_class.py, lexical_features.py,
centred_similarity.py, topk_similarity.py, classifier_c.py, closest_off_topic_dropped.py and
encoder_ceilings.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import agreement_gate as ag
import numpy as np
import tuned_encoder as te

from retrieval import benchmark, calibration
from retrieval.calibration import CrossValidation, LexicalIndex, Scored, _Gathered, assign_folds
from retrieval.embedding_cache import CachedEncoder
from retrieval.encoder import MINILM, Encoder, SentenceTransformerEncoder
from retrieval.index import KnowledgeIndex

SHIPPED_CROSS_VALIDATE = calibration.cross_validate
# The build's cross-validation: its folds and seed.
FOLDS = 5
SEED = 13
# The arguments of the build's last `calibration.cross_validate` call, once `capture()` ran:
# (entry texts, kinds, vectors, article positions, articles, off-topic texts, their vectors).
CAPTURED: dict[str, Any] = {}


def _capturing(*args: Any, **kwargs: Any) -> CrossValidation:
    CAPTURED.update(args=args, kwargs=kwargs)
    return SHIPPED_CROSS_VALIDATE(*args, **kwargs)


def capture() -> None:
    """Keep the arguments of every cross-validation the build runs (it looks the function
    up in the module), for an experiment to run its own on the same entries."""
    calibration.cross_validate = _capturing  # type: ignore[assignment]


def test_labels(index: KnowledgeIndex, split: benchmark.Split) -> np.ndarray:
    """Each test question's article position; -1 for the unrelated ones."""
    ids = {a.id: j for j, a in enumerate(index.articles)}
    return np.array([ids.get(label, -1) for label in split.labels])


def entry_labels(index: KnowledgeIndex) -> np.ndarray:
    """Each entry's article position, from the index's article starts."""
    starts = np.asarray(index.article_starts)
    return np.repeat(np.arange(len(starts)), np.diff(np.append(starts, len(index.vectors))))


def figures_line(
    scores: Scored, point: calibration.OperatingPoint, labels: np.ndarray, articles: int
) -> str:
    """Top-1 (among the `articles` first columns), precision, coverage and unrelated answered
    at `point`, the test-set ceiling (precision >= 0.95, <= 1% unrelated; for understanding
    only) and the point with what the build expected of it."""
    oos = labels < 0
    precision, coverage, unrelated = ag.figures(scores, point, labels)
    top, p = scores.top(point.lexical_weight, point.temperature)
    s = scores.similarity[np.arange(len(top)), top]
    ceiling = ag.ceiling(p, s, top == labels, oos, np.ones(len(top), dtype=bool))
    ranked = scores.fused(point.lexical_weight)[:, :articles].argmax(axis=1)
    return (
        f"top-1 {(ranked == labels)[~oos].mean():.3f} precision {precision:.3f} "
        f"coverage {coverage:.3f} unrelated {unrelated:.4f} ceiling {ceiling:.3f} | "
        f"answer {point.answer} floor {point.min_similarity} T {point.temperature} "
        f"w {point.lexical_weight}, expected {point.expected_precision} / "
        f"{point.expected_coverage} / {point.off_topic_answered}"
    )


def minilm() -> Encoder:
    """The default English encoder, its vectors cached under var/embeddings."""
    return CachedEncoder(SentenceTransformerEncoder(MINILM), Path("var/embeddings"))


@dataclass(frozen=True)
class Built:
    """A benchmark knowledge base built as `kb build` does, its test questions' vectors set."""

    index: KnowledgeIndex
    test: benchmark.Split
    cv: CrossValidation
    point: calibration.OperatingPoint

    def figures(self) -> str:
        """The figures line of the test questions at the point the build chose."""
        return figures_line(
            benchmark.scored_split(self.index, self.test),
            self.point,
            test_labels(self.index, self.test),
            len(self.index.articles),
        )


def build(dataset: str, encoder: Encoder) -> Built:
    """`dataset` (as tuned_encoder.load names it) built as `kb build` does and asked its test
    questions (which sets their vectors)."""
    articles, test = te.load(dataset)
    index, _ = benchmark.build_and_ask(articles, test, encoder)
    cv, point = index.cross_validation, index.operating_point
    assert cv is not None and point is not None and test.vectors is not None
    return Built(index, test, cv, point)


@dataclass(frozen=True)
class Folds:
    """The last captured cross-validation's entries and off-topic questions, dealt into the
    build's folds, for an experiment to score each fold its own way."""

    texts: list[str]
    vectors: np.ndarray  # float32, one row an entry
    article: np.ndarray  # each entry's article position
    articles: int
    off_texts: list[str]
    off_vectors: np.ndarray  # float32
    fold_of: np.ndarray  # each entry's fold (-1: never held out)
    tokens: list[list[str]]  # each entry's BM25 tokens

    def split(self, fold: int) -> tuple[np.ndarray, np.ndarray]:
        """The rows `fold` holds out, and those it trains on."""
        return np.flatnonzero(self.fold_of == fold), np.flatnonzero(self.fold_of != fold)

    def lexical(self, train: np.ndarray) -> tuple[LexicalIndex, np.ndarray]:
        """BM25 over the `train` rows, and each article's first row among them."""
        starts = np.searchsorted(self.article[train], np.arange(self.articles))
        return LexicalIndex.from_tokens([self.tokens[i] for i in train.tolist()]), starts

    def off_similarity(self) -> np.ndarray:
        """Each off-topic question's cosine to its closest entry."""
        return np.asarray((self.off_vectors @ self.vectors.T).max(axis=1))


def captured_folds() -> Folds:
    """The arguments `capture()` kept, with the build's folds (FOLDS, SEED) and tokens."""
    from retrieval.tokenize import tokenize

    texts, kinds, vectors, article, articles, off_texts, off_vectors = CAPTURED["args"]
    return Folds(
        list(texts),
        np.asarray(vectors, dtype=np.float32),
        article,
        articles,
        list(off_texts),
        np.asarray(off_vectors, dtype=np.float32),
        assign_folds(kinds, article, folds=FOLDS, seed=SEED),
        [tokenize(t) for t in texts],
    )


def joined(parts: list[Scored], order: np.ndarray | None = None) -> Scored:
    """The folds' scored rows as one (the calibration's own gathering), in `order` if given."""
    gathered = _Gathered(sum(len(part.logits) for part in parts))
    for part in parts:
        gathered.add(part)
    whole = gathered.result()
    if order is None:
        return whole
    return Scored(whole.logits[order], whole.lexical[order], whole.similarity[order])
