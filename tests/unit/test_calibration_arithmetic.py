"""The calibration's cheaper arithmetic (rows in chunks, a ternary search over temperatures,
the three best articles without a full sort, BM25 from tokens) gives what the plain
computation gives. Each reference below is the straightforward formula, written here."""

from __future__ import annotations

import math
import random
from collections import Counter

import numpy as np
import pytest

from retrieval import calibration
from retrieval.lexical import LexicalIndex, tokenize


def _random_scored(rng: np.random.Generator, queries: int, articles: int) -> calibration.Scored:
    return calibration.Scored(
        rng.normal(0.0, 3.0, (queries, articles)),
        rng.uniform(0.0, 1.0, (queries, articles)) * (rng.uniform(size=(queries, articles)) > 0.7),
        rng.uniform(-0.2, 0.9, (queries, articles)).astype(np.float32),
    )


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    # Several chunks and a ragged last one, on matrices small enough for a unit test.
    monkeypatch.setattr(calibration, "ROW_CHUNK", 7)


def _reference_probabilities(scored: calibration.Scored, weight: float, t: float) -> np.ndarray:
    z = (scored.logits + weight * scored.lexical) / t
    e = np.exp(z - z.max(axis=1, keepdims=True))
    result: np.ndarray = e / e.sum(axis=1, keepdims=True)
    return result


def test_row_chunks_cover_every_row_once() -> None:
    for n in (0, 1, calibration.ROW_CHUNK, calibration.ROW_CHUNK + 1, 3 * calibration.ROW_CHUNK):
        rows = np.concatenate([np.arange(n)[c] for c in calibration._row_chunks(n)] or [[]])
        assert rows.tolist() == list(range(n))


@pytest.mark.usefixtures("small_chunks")
def test_chunked_scores_equal_the_whole_matrix_computation() -> None:
    rng = np.random.default_rng(5)
    scored = _random_scored(rng, queries=40, articles=13)
    labels = rng.integers(0, 13, 40)
    for weight, temperature in [(0.0, 1.0), (0.5, 0.3), (2.0, 1.7)]:
        probabilities = _reference_probabilities(scored, weight, temperature)
        top, confidence = scored.top(weight, temperature)
        assert top.tolist() == probabilities.argmax(axis=1).tolist()
        assert np.allclose(confidence, probabilities.max(axis=1), rtol=0, atol=1e-12)
        assert scored.max_logit_article(weight).tolist() == top.tolist()
        fused = scored.logits + weight * scored.lexical
        assert np.allclose(scored.max_logit(weight), fused.max(axis=1), rtol=0, atol=1e-12)
        nll = -np.log(probabilities[np.arange(40), labels]).mean()
        assert scored.mean_nll(labels, weight, temperature) == pytest.approx(nll, abs=1e-9)


def test_grid_minimum_finds_the_smallest_of_a_fall_then_rise_in_few_evaluations() -> None:
    rng = random.Random(11)
    for size in (1, 2, 3, 4, 5, 35, 100):
        for _ in range(50):
            bottom = rng.randrange(size)
            # Convex, steeper on one side than the other, by a random amount.
            left, right = rng.uniform(0.1, 5.0), rng.uniform(0.1, 5.0)
            values = [(i - bottom) ** 2 * (left if i < bottom else right) for i in range(size)]
            calls: list[int] = []

            def value(i: int, values: list[float] = values, calls: list[int] = calls) -> float:
                calls.append(i)
                return values[i]

            assert calibration._grid_minimum(value, size) == bottom
            assert len(set(calls)) <= max(3, 2 * math.ceil(math.log2(size)) + 2)


def test_grid_minimum_takes_the_first_of_equal_smallest_values() -> None:
    values = [5.0, 3.0, 1.0, 1.0, 1.0, 2.0, 4.0]
    assert calibration._grid_minimum(lambda i: values[i], len(values)) == 2
    assert calibration._grid_minimum(lambda i: [2.0, 2.0][i], 2) == 0


@pytest.mark.usefixtures("small_chunks")
def test_the_fitted_temperature_is_the_grid_s_best_log_likelihood() -> None:
    chosen: set[float] = set()
    for seed in range(4):
        rng = np.random.default_rng(seed)
        held = _random_scored(rng, queries=60, articles=9)
        labels = rng.integers(0, 9, 60)
        # Make the labelled article likelier, by a different margin per knowledge base.
        held.logits[:] *= rng.uniform(0.2, 1.0)
        held.logits[np.arange(60), labels] += rng.uniform(0.5, 6.0)
        cv = calibration.CrossValidation(held, labels, held, 9, np.zeros(0))
        weight, temperature = calibration._fit_scorer(cv)
        top1 = {
            w: (_reference_probabilities(held, w, 1.0).argmax(axis=1) == labels).mean()
            for w in calibration.LEXICAL_WEIGHTS
        }
        best = max(top1.values())
        assert weight == min(w for w, t in top1.items() if t > best - 1e-9)

        scan = min(calibration.TEMPERATURES, key=lambda t: _nll(held, labels, weight, t))
        chosen.add(temperature)
        assert temperature == scan
    # Not all at one end of the grid: the search had a minimum inside it to find.
    assert len(chosen) > 1 and any(t not in calibration.TEMPERATURES[::34] for t in chosen)


def _nll(held: calibration.Scored, labels: np.ndarray, weight: float, t: float) -> float:
    p = _reference_probabilities(held, weight, t)[np.arange(len(labels)), labels]
    return float(-np.log(p).mean())


@pytest.mark.usefixtures("small_chunks")
def test_the_three_best_articles_are_those_of_a_full_sort() -> None:
    rng = np.random.default_rng(21)
    scored = _random_scored(rng, queries=50, articles=11)
    probabilities = _reference_probabilities(scored, 0.5, 0.8)
    order = np.argsort(-probabilities, axis=1, kind="stable")[:, :3]
    top = calibration._TopThree.of(scored, 0.5, 0.8, answer=0.6, floor=0.2)
    assert np.array_equal(top.order, order)
    assert np.allclose(top.probability, np.take_along_axis(probabilities, order, axis=1))
    similarity = np.take_along_axis(scored.similarity, order, axis=1)
    assert np.array_equal(top.similarity, similarity)
    answered = (probabilities.max(axis=1) >= 0.6) & (similarity[:, 0] >= 0.2)
    assert top.answered.tolist() == answered.tolist()
    labels = order[:, 1]  # the second best: offered when the point does not answer
    offers = top.offers(0.05, labels)
    assert offers.contains is not None
    offered = (np.take_along_axis(probabilities, order, axis=1) >= 0.05) & ~answered[:, None]
    assert offers.count.tolist() == offered.sum(axis=1).tolist()
    assert offers.contains.tolist() == offered[:, 1].tolist()


def test_a_knowledge_base_of_two_articles_offers_at_most_two() -> None:
    rng = np.random.default_rng(2)
    top = calibration._TopThree.of(_random_scored(rng, 5, 2), 1.0, 1.0, answer=0.99, floor=0.0)
    assert top.order.shape == (5, 2)
    assert sorted(top.order[0].tolist()) == [0, 1]


def _reference_bm25(
    texts: list[str], k1: float = 1.2, b: float = 0.75
) -> dict[tuple[int, str], float]:
    tokens = [tokenize(t) for t in texts]
    n = max(len(tokens), 1)
    average = max(sum(len(t) for t in tokens) / n, 1.0)
    frequency = Counter(w for t in tokens for w in set(t))
    weights = {}
    for row, words in enumerate(tokens):
        norm = k1 * (1 - b + b * len(words) / average)
        for word, count in Counter(words).items():
            idf = math.log(1 + (n - frequency[word] + 0.5) / (frequency[word] + 0.5))
            weights[(row, word)] = idf * count * (k1 + 1) / (count + norm)
    return weights


def test_bm25_from_tokens_weighs_every_entry_word_as_the_formula_does() -> None:
    texts = [
        "Reset your password from the login page",
        "password password password reset",
        "",
        "VAT number on the invoice; the invoice shows VAT",
        "如何重置密码",
        "رمز عبور را چگونه تغییر دهم",
        "!!!",
    ]
    index = LexicalIndex.build(texts)
    expected = _reference_bm25(texts)
    columns = {column: word for word, column in index.vocabulary.items()}
    dense = index.matrix.toarray()
    got = {
        (row, columns[column]): float(dense[row, column])
        for row, column in zip(*np.nonzero(dense), strict=True)
    }
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-6)
    # The vocabulary in order of first appearance (the saved index's word list).
    first_seen = list(dict.fromkeys(w for t in texts for w in tokenize(t)))
    assert list(index.vocabulary) == first_seen
    assert index.matrix.shape == (len(texts), len(first_seen))


def test_bm25_of_no_entries_or_no_words_is_an_empty_index() -> None:
    for texts in ([], ["", "!!!"]):
        index = LexicalIndex.build(texts)
        assert index.matrix.shape == (len(texts), 1) and index.matrix.nnz == 0
        assert index.scores("password") is None


def test_scores_stored_in_float32_give_the_float64_figures_exactly() -> None:
    rng = np.random.default_rng(4)
    narrow = _random_scored(rng, queries=30, articles=6)
    narrow = calibration.Scored(
        narrow.logits.astype(np.float32), narrow.lexical.astype(np.float32), narrow.similarity
    )
    wide = calibration.Scored(
        narrow.logits.astype(np.float64), narrow.lexical.astype(np.float64), narrow.similarity
    )
    labels = rng.integers(0, 6, 30)
    for weight in (*calibration.LEXICAL_WEIGHTS, 0.3):
        assert narrow.fused(weight).dtype == np.float64
        assert np.array_equal(narrow.fused(weight), wide.fused(weight))
        assert np.array_equal(narrow.top(weight, 0.7)[1], wide.top(weight, 0.7)[1])
        assert narrow.mean_nll(labels, weight, 0.7) == wide.mean_nll(labels, weight, 0.7)


@pytest.mark.usefixtures("small_chunks")
def test_each_article_s_closest_entry_is_found_chunk_by_chunk() -> None:
    rng = np.random.default_rng(9)
    entries = rng.standard_normal((30, 8)).astype(np.float32)
    queries = rng.standard_normal((20, 8)).astype(np.float32)
    starts = np.array([0, 4, 5, 12, 20])  # five articles of 4, 1, 7, 8 and 10 entries
    texts = ["password reset", "invoice", "", "VAT number", *["login"] * 16]
    lexical = LexicalIndex.build([f"entry {i} password invoice" for i in range(30)])
    scored = calibration.score_queries(
        texts,
        queries,
        weights=rng.standard_normal((5, 8)).astype(np.float32),
        bias=np.zeros(5, dtype=np.float32),
        lexical=lexical,
        entry_vectors=entries,
        starts=starts,
    )
    cosines = queries @ entries.T
    expected = np.stack(
        [cosines[:, s:e].max(axis=1) for s, e in zip(starts, [4, 5, 12, 20, 30], strict=True)],
        axis=1,
    )
    assert np.allclose(scored.similarity, expected, rtol=0, atol=1e-6)
    assert scored.similarity.dtype == np.float32 and scored.logits.dtype == np.float32
