"""Off-topic questions from the knowledge base itself, for a language the product ships none in.

The calibration's off-topic budget needs questions the knowledge base does not answer, written
as its customers write. The product ships such questions in English, Chinese and Persian
(`retrieval/data/off_topic_*.txt`). Against a knowledge base in another language the English
ones are the wrong yardstick: the multilingual encoder puts a question in another language
further from the articles than an unrelated question in their own language, so the budget
lets too much through. (Simulated with MASSIVE's Persian knowledge base calibrated on the
English questions: 3.7% of unrelated questions answered, against 0.74% with the Persian ones;
docs/kb-engine.md, "A language without shipped off-topic questions".)

A knowledge base does hold questions in its own language that an article does not answer:
that article's own, once the article is taken out. So the articles are dealt into folds, and
for each fold the classifier, BM25 and the nearest-entry lookup are fitted on the other folds'
articles alone (all their entries), and the held-out articles' alternative questions are
scored as off-topic questions, against the articles that remain. Those that a remaining
article answers as closely as a typical question of its own (the same intent written twice)
are then left out by the calibration's "covered" rule, like shipped ones.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from retrieval import calibration, classifier
from retrieval.calibration import FOLDS, SEED, CrossValidation, Scored, score_queries
from retrieval.lexical import LexicalIndex
from retrieval.tokenize import tokenize

# The operating point's `off_topic_source` when these stand in for the shipped questions.
SOURCE = "held-out articles"
# A logit no article reaches: the column of an article held out of the fold's model.
ABSENT_LOGIT = -1e4


@dataclass(frozen=True)
class OwnOffTopic:
    texts: list[str]  # the questions, one per row of `scored`
    scored: Scored  # each question against the articles of its fold's model alone
    similarity: np.ndarray  # each question's highest cosine to any entry of that model


def in_place_of_shipped(
    cv: CrossValidation,
    languages: Sequence[str],
    entry_texts: Sequence[str],
    entry_kinds: Sequence[str],
    entry_vectors: np.ndarray,
    entry_article: np.ndarray,
    entry_tokens: Sequence[list[str]] | None = None,
) -> CrossValidation | None:
    """`cv` with the knowledge base's own questions of held-out articles as its off-topic
    questions, when its articles are in a language the product ships none in and it is
    large enough to calibrate (a smaller one keeps the shipped English questions for its
    safe defaults' floor); None otherwise."""
    if not calibration.without_off_topic(languages):
        return None
    if cv.articles < calibration.MIN_ARTICLES or len(cv.labels) < calibration.MIN_HELD_OUT:
        return None
    own = held_out_articles(
        entry_texts,
        entry_kinds,
        entry_vectors,
        entry_article,
        cv.articles,
        entry_tokens=entry_tokens,
    )
    if not own.texts:
        return None
    return dataclasses.replace(
        cv, off_topic=own.scored, off_topic_similarity=own.similarity, off_topic_source=SOURCE
    )


def deal_articles(n_articles: int, *, folds: int = FOLDS, seed: int = SEED) -> np.ndarray:
    """Each article's fold: shuffled (`seed`) and dealt round the folds."""
    order = list(range(n_articles))
    random.Random(seed).shuffle(order)
    fold_of = np.empty(n_articles, dtype=np.int64)
    for position, article in enumerate(order):
        fold_of[article] = position % folds
    return fold_of


def held_out_articles(
    entry_texts: Sequence[str],
    entry_kinds: Sequence[str],
    entry_vectors: np.ndarray,
    entry_article: np.ndarray,
    n_articles: int,
    *,
    folds: int = FOLDS,
    seed: int = SEED,
    entry_tokens: Sequence[list[str]] | None = None,
) -> OwnOffTopic:
    """The alternative questions of each fold's articles, scored by a model of the other
    folds' articles (entries grouped by article, in article order)."""
    tokens = list(entry_tokens) if entry_tokens is not None else [tokenize(t) for t in entry_texts]
    vectors = np.asarray(entry_vectors, dtype=np.float32)
    fold_of_entry = deal_articles(n_articles, folds=folds, seed=seed)[entry_article]
    is_question = np.array([kind == "question" for kind in entry_kinds], dtype=bool)
    texts: list[str] = []
    parts: list[Scored] = []
    nearest: list[np.ndarray] = []
    for fold in range(folds):
        train = np.flatnonzero(fold_of_entry != fold)
        asked = np.flatnonzero((fold_of_entry == fold) & is_question)
        present = np.unique(entry_article[train])
        if not len(asked) or len(present) < 2:
            continue
        train_article = entry_article[train]
        weights, bias, _ = classifier.fit(vectors[train], train_article, n_articles)
        scored = score_queries(
            [entry_texts[i] for i in asked.tolist()],
            vectors[asked],
            weights=weights[present],
            bias=bias[present],
            lexical=LexicalIndex.from_tokens([tokens[i] for i in train.tolist()]),
            entry_vectors=vectors[train],
            starts=np.searchsorted(train_article, present),
        )
        parts.append(_widened(scored, present, n_articles))
        nearest.append(scored.similarity.max(axis=1))
        texts += [entry_texts[i] for i in asked.tolist()]
    if not parts:
        empty = np.zeros((0, n_articles))
        return OwnOffTopic([], Scored(empty, empty.copy(), empty.copy()), np.zeros(0))
    return OwnOffTopic(
        texts,
        Scored(
            np.concatenate([p.logits for p in parts]),
            np.concatenate([p.lexical for p in parts]),
            np.concatenate([p.similarity for p in parts]),
        ),
        np.concatenate(nearest),
    )


def _widened(scored: Scored, present: np.ndarray, n_articles: int) -> Scored:
    """`scored`'s columns (the articles `present`) in a row of every article: the others
    can never be the top one."""
    rows = len(scored.logits)
    logits = np.full((rows, n_articles), ABSENT_LOGIT, dtype=np.float32)
    lexical = np.zeros((rows, n_articles), dtype=np.float32)
    similarity = np.full((rows, n_articles), -1.0, dtype=np.float32)
    logits[:, present] = scored.logits
    lexical[:, present] = scored.lexical
    similarity[:, present] = scored.similarity
    return Scored(logits, lexical, similarity)
