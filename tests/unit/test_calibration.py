"""Self-calibration at build time: the operating point each knowledge base chooses itself."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path
from unittest import mock

import numpy as np
import pytest

from retrieval import calibration
from retrieval.articles import Article, chunk_body
from retrieval.index import KnowledgeIndex
from retrieval.search import KnowledgeBase, ThresholdOverrides, build_index
from tests.fakes import HashingEncoder

TOPICS = 12
WORDS_PER_TOPIC = 8
SHARED = [f"common{i}" for i in range(30)]
OFF_TOPIC_WORDS = [f"elsewhere{i}" for i in range(200)]


def _topic_words(topic: int) -> list[str]:
    return [f"t{topic}w{j}" for j in range(WORDS_PER_TOPIC)]


def _question(rng: random.Random, topic: int) -> str:
    """Mostly the topic's words, some shared filler, and now and then another topic's word
    (so some questions are genuinely ambiguous and the threshold matters)."""
    words = rng.sample(_topic_words(topic), 3) + rng.sample(SHARED, 2)
    if rng.random() < 0.3:
        other = rng.randrange(TOPICS)
        words += rng.sample(_topic_words(other), 2)
    rng.shuffle(words)
    return " ".join(words)


def _off_topic(rng: random.Random) -> str:
    words = rng.sample(OFF_TOPIC_WORDS, 3) + rng.sample(SHARED, 1)
    if rng.random() < 0.3:
        words += [rng.choice(_topic_words(rng.randrange(TOPICS)))]
    return " ".join(words)


def _articles(rng: random.Random, questions: int) -> list[Article]:
    articles = []
    for topic in range(TOPICS):
        body = f"About topic {topic}: " + " ".join(_topic_words(topic)) + "."
        articles.append(
            Article(
                id=f"topic-{topic}",
                title=f"Topic {topic}",
                body=body,
                questions=tuple(_question(rng, topic) for _ in range(questions)),
                chunks=chunk_body(f"topic-{topic}", body),
            )
        )
    return articles


@pytest.fixture(scope="module")
def synthetic() -> KnowledgeIndex:
    rng = random.Random(5)
    off_topic = [_off_topic(rng) for _ in range(300)]
    return KnowledgeIndex.build(_articles(rng, 10), HashingEncoder(), off_topic=off_topic)


def test_the_chosen_point_holds_the_target_on_questions_it_never_saw(
    synthetic: KnowledgeIndex,
) -> None:
    point = synthetic.operating_point
    assert point is not None and point.calibrated
    assert point.held_out_questions == TOPICS * 10
    assert point.expected_precision_lower is not None
    assert point.expected_precision_lower >= calibration.TARGET_PRECISION
    kb = KnowledgeBase(synthetic, HashingEncoder())
    rng = random.Random(99)  # fresh questions, unlike any the build saw
    in_scope = [(topic, _question(rng, topic)) for topic in range(TOPICS) for _ in range(60)]
    answered = right = 0
    for topic, text in in_scope:
        result = kb.search(text)
        if result.decision == "answer":
            answered += 1
            right += result.hits[0].article_id == f"topic-{topic}"
    unrelated = [kb.search(_off_topic(rng)).decision for _ in range(300)]
    off_answered = unrelated.count("answer")
    assert answered >= 0.3 * len(in_scope)  # it does answer
    precision = right / (answered + off_answered * len(in_scope) / 3 / len(unrelated))
    assert precision >= calibration.TARGET_PRECISION
    # A third of these share a word with some article; the budget keeps answers to them rare.
    assert off_answered / len(unrelated) <= 0.03


def _write_kb(source: Path) -> tuple[Path, random.Random]:
    """Six synthetic articles (seed 3) as Markdown files with their questions; the random
    generator, to draw questions on."""
    source.mkdir()
    rng = random.Random(3)
    for article in _articles(rng, 6):
        questions = "".join(f"\n  - {q}" for q in article.questions)
        (source / f"{article.id}.md").write_text(
            f"---\ntitle: {article.title}\nquestions:{questions}\n---\n{article.body}\n"
        )
    return source, rng


def test_the_operating_point_is_stored_in_the_manifest(tmp_path: Path) -> None:
    source, _ = _write_kb(tmp_path / "kb")
    index_dir = tmp_path / "index"
    built, _ = build_index(source, index_dir, HashingEncoder(), target_precision=0.9)
    assert built is not None
    loaded = KnowledgeIndex.load(index_dir)
    assert loaded.operating_point == built.operating_point
    point = loaded.manifest["operating_point"]
    assert point["target_precision"] == 0.9
    assert {"answer", "clarify", "min_similarity", "temperature", "lexical_weight"} <= set(point)
    assert {"expected_precision", "expected_coverage", "off_topic_answered"} <= set(point)
    # What binds it, for `kb build` to say (closest off-topic questions with their article).
    limits = loaded.manifest["coverage_limits"]
    assert set(limits) == {
        "without_bound",
        "without_budget",
        "off_topic_without_budget",
        "closest_off_topic",
    }
    assert limits["closest_off_topic"]  # this one's shipped off-topic questions reach it
    for closest in limits["closest_off_topic"]:
        assert set(closest) == {"question", "article", "title", "similarity"}
        assert closest["article"] in {a.article_id for a in loaded.entries}
    kb = KnowledgeBase(loaded, HashingEncoder())
    assert kb.thresholds.answer == point["answer"]
    assert kb.thresholds.min_similarity == point["min_similarity"]
    # Another target is another operating point: the index is not fresh for it.
    assert build_index(source, index_dir, HashingEncoder(), target_precision=0.9)[1] is False
    assert build_index(source, index_dir, HashingEncoder(), target_precision=0.95)[1] is True


def test_a_tiny_knowledge_base_falls_back_to_safe_defaults_and_says_so() -> None:
    articles = [
        Article("a", "Reset a password", "Use forgot password.", ("forgot my password",)),
        Article("b", "Download invoices", "Billing, then invoices.", ()),
    ]
    articles = [
        Article(a.id, a.title, a.body, a.questions, chunks=chunk_body(a.id, a.body))
        for a in articles
    ]
    index = KnowledgeIndex.build(articles, HashingEncoder())
    point = index.operating_point
    assert point is not None and not point.calibrated
    assert "needs" in point.note
    assert point.answer == calibration.FALLBACK["answer"]
    assert point.min_similarity >= calibration.FALLBACK["min_similarity"]
    assert "fallback defaults" in point.summary()
    kb = KnowledgeBase(index, HashingEncoder())
    assert kb.search("forgot my password").decision == "answer"
    assert kb.search("who won the football last night").decision == "escalate"


def test_configured_thresholds_win_over_the_index_s_own(synthetic: KnowledgeIndex) -> None:
    point = synthetic.operating_point
    assert point is not None
    kb = KnowledgeBase(synthetic, HashingEncoder(), overrides=ThresholdOverrides(answer=0.999))
    assert kb.thresholds.answer == 0.999
    assert kb.thresholds.min_similarity == point.min_similarity  # unset: the index's own
    assert kb.thresholds.clarify == point.clarify
    assert KnowledgeBase(synthetic, HashingEncoder()).thresholds.answer == point.answer


def test_settings_leave_thresholds_unset_unless_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from api.settings import Settings

    for name in ("ANSWER_THRESHOLD", "CLARIFY_THRESHOLD", "MIN_SIMILARITY", "CLARIFY_SIMILARITY"):
        monkeypatch.delenv(f"FRONTLINE_{name}", raising=False)
    assert Settings().thresholds == ThresholdOverrides()
    monkeypatch.setenv("FRONTLINE_ANSWER_THRESHOLD", "0.5")
    assert Settings().thresholds == ThresholdOverrides(answer=0.5)
    monkeypatch.setenv("FRONTLINE_CLARIFY_SIMILARITY", "0.3")
    assert Settings().thresholds == ThresholdOverrides(answer=0.5, clarify_similarity=0.3)


def test_wilson_lower_bound_is_below_the_rate_and_tightens_with_more_data() -> None:
    few = float(calibration.wilson_lower(np.array(19.0), np.array(20.0)))
    many = float(calibration.wilson_lower(np.array(950.0), np.array(1000.0)))
    assert few < 0.95 and many < 0.95 and many > few


@pytest.mark.parametrize("language", ["en", "zh", "fa"])
def test_the_shipped_off_topic_questions_are_many_and_varied(language: str) -> None:
    questions = calibration.off_topic_questions([language])
    # At a 0.5% budget, 900 questions let four be answered; 347 let one, so a single
    # question decided the operating point.
    assert len(questions) >= 900
    assert len({q.lower() for q in questions}) == len(questions)


@pytest.mark.parametrize("language", ["en", "zh", "fa"])
def test_the_added_off_topic_questions_leave_the_reference_sentences_alone(
    language: str,
) -> None:
    reference = calibration.off_topic_questions([language], reference_only=True)
    everything = calibration.off_topic_questions([language])
    assert 250 <= len(reference) < len(everything)
    assert everything[: len(reference)] == reference


def _vague_knowledge_base() -> calibration.CrossValidation:
    """Held-out scores made by hand: clear questions (confident, close to their article),
    vague ones split between their article and a neighbour at similarity 0.45, off-topic
    questions split between two articles at similarity 0.3, and a few off-topic ones the
    scorer is sure of at similarity 0.5 (they keep the answer's floor above 0.5)."""
    n = 4

    def row(logits: dict[int, float], similarity: dict[int, float]) -> tuple[list[float], ...]:
        return (
            [logits.get(a, 0.0) for a in range(n)],
            [0.0] * n,
            [similarity.get(a, 0.1) for a in range(n)],
        )

    held, labels = [], []
    for i in range(40):
        held.append(row({i % n: 10.0}, {i % n: 0.8}))
        labels.append(i % n)
    for i in range(20):
        a, b = i % n, (i + 1) % n
        held.append(row({a: 3.0 + 0.1 * (i % 2), b: 3.0}, {a: 0.45, b: 0.45}))
        labels.append(a)
    off = [row({i % n: 20.0}, {i % n: 0.5}) for i in range(10)]
    off += [row({i % n: 3.0, (i + 2) % n: 3.0}, {i % n: 0.3, (i + 2) % n: 0.3}) for i in range(90)]

    def scored(rows: list[tuple[list[float], ...]]) -> calibration.Scored:
        return calibration.Scored(*(np.array([r[k] for r in rows]) for k in range(3)))

    off_scored = scored(off)
    return calibration.CrossValidation(
        scored(held), np.array(labels), off_scored, n, off_scored.similarity.max(axis=1)
    )


def test_choices_have_their_own_lower_floor_that_keeps_off_topic_questions_out() -> None:
    point = calibration.choose(_vague_knowledge_base())
    assert point.calibrated
    assert point.min_similarity > 0.5  # the confident off-topic questions are not answered
    # The vague questions (closest offered article at 0.45) get choices: the answer's floor
    # would refuse them all. The off-topic ones (0.3) do not.
    assert point.clarify_similarity is not None and 0.3 < point.clarify_similarity <= 0.45
    assert point.clarify <= 1.0
    assert point.clarify_contains == 1.0
    assert point.clarify_coverage == pytest.approx(20 / 60, abs=1e-3)
    assert point.off_topic_clarified == 0.0
    assert "choices" in point.summary()
    # Without off-topic questions to hold it up, the floor would let them all in.
    assert (
        calibration.choose(
            _vague_knowledge_base(), calibration.Choice(off_topic=False)
        ).clarify_floor
        <= 0.3
    )


def test_no_clarify_point_when_choices_would_miss_the_right_article() -> None:
    cv = _vague_knowledge_base()
    # Scramble the vague questions' labels: the offered pair no longer holds their article.
    labels = cv.labels.copy()
    labels[40:] = (labels[40:] + 2) % cv.articles
    point = calibration.choose(
        calibration.CrossValidation(
            cv.held_out, labels, cv.off_topic, cv.articles, cv.off_topic_similarity
        )
    )
    assert point.clarify > 1.0 and point.clarify_contains is None
    assert "never offers choices" in point.summary()


def test_synthetic_vague_questions_get_choices_unrelated_ones_rarely(
    synthetic: KnowledgeIndex,
) -> None:
    point = synthetic.operating_point
    assert point is not None and point.clarify_contains is not None
    assert point.clarify_contains >= calibration.CLARIFY_CONTAINS
    assert point.off_topic_clarified is not None
    assert point.off_topic_clarified <= calibration.CLARIFY_OFF_TOPIC_BUDGET
    kb = KnowledgeBase(synthetic, HashingEncoder())
    rng = random.Random(41)
    offered = holding = 0
    for _ in range(200):  # a word of each of two topics: which one is meant?
        a, b = rng.sample(range(TOPICS), 2)
        words = rng.sample(_topic_words(a), 1) + rng.sample(_topic_words(b), 1)
        result = kb.search(" ".join(words + rng.sample(SHARED, 1)))
        if result.decision == "clarify":
            offered += 1
            holding += bool({f"topic-{a}", f"topic-{b}"} & {h.article_id for h in result.choices})
    assert offered >= 40 and holding >= 0.9 * offered
    unrelated = [
        " ".join(rng.sample(OFF_TOPIC_WORDS, 3) + rng.sample(SHARED, 1)) for _ in range(300)
    ]
    assert [kb.search(q).decision for q in unrelated].count("clarify") <= 0.05 * len(unrelated)


def _logit_knowledge_base() -> calibration.CrossValidation:
    """Held-out scores made by hand where only the fused maximum logit tells off-topic
    questions apart: in-scope questions at logit 10 over 0 for the rest, half of them at
    similarity 0.5 and half at 0.7; off-topic ones at 5 over -5 (as probable, the same
    margin) and similarity 0.55, between the two halves."""
    n = 4
    held = [
        ([10.0 if a == i % n else 0.0 for a in range(n)], 0.5 + 0.2 * (i % 2)) for i in range(80)
    ]
    off = [([5.0 if a == i % n else -5.0 for a in range(n)], 0.55) for i in range(100)]

    def scored(rows: list[tuple[list[float], float]]) -> calibration.Scored:
        logits = np.array([r[0] for r in rows])
        similarity = np.array(
            [[r[1] if a == int(np.argmax(r[0])) else 0.1 for a in range(n)] for r in rows]
        )
        return calibration.Scored(logits, np.zeros_like(logits), similarity)

    off_scored = scored(off)
    labels = np.array([i % n for i in range(80)])
    return calibration.CrossValidation(
        scored(held), labels, off_scored, n, off_scored.similarity.max(axis=1)
    )


GATED = calibration.Choice(max_logit=True, logit_covered=False)


def test_the_calibration_takes_a_logit_floor_when_only_it_keeps_off_topic_questions_out() -> None:
    cv = _logit_knowledge_base()
    without = calibration.choose(cv)  # the gate is off by default
    assert without.min_logit is None
    # Only the similarity floor can refuse the off-topic questions: half the questions go too.
    assert without.min_similarity > 0.55 and without.expected_coverage == 0.5
    for choice in (GATED, calibration.Choice(max_logit=True)):
        point = calibration.choose(cv, choice)
        assert point.min_logit is not None and 5.0 < point.min_logit <= 10.0
        assert point.expected_coverage == 1.0 and point.off_topic_answered == 0.0
        assert point.min_similarity <= 0.5
        assert "max logit >= " in point.summary()


def test_no_logit_floor_when_it_buys_no_coverage() -> None:
    # The confident off-topic questions there have the highest logits of all.
    point = calibration.choose(_vague_knowledge_base(), GATED)
    assert point.calibrated and point.min_logit is None
    assert point == calibration.choose(_vague_knowledge_base())
    assert "max logit" not in point.summary()


def test_the_logit_covered_rule_leaves_out_off_topic_questions_as_sure_as_its_own() -> None:
    cv = _vague_knowledge_base()  # 10 off-topic questions at logit 20, above its own (10)
    assert calibration.choose(cv, GATED).off_topic_left_out == 0
    point = calibration.choose(cv, calibration.Choice(max_logit=True))
    assert point.off_topic_left_out == 10
    # Left out, they no longer hold the similarity floor above their 0.5.
    assert point.min_similarity <= 0.5


def test_the_shipped_calibration_does_not_gate_on_the_logit(synthetic: KnowledgeIndex) -> None:
    point = synthetic.operating_point
    assert point is not None and point.calibrated and point.min_logit is None
    assert synthetic.manifest["operating_point"]["min_logit"] is None


def test_search_applies_the_index_s_logit_floor(synthetic: KnowledgeIndex) -> None:
    point = synthetic.operating_point
    assert point is not None
    rng = random.Random(7)
    questions = [_question(rng, topic) for topic in range(TOPICS) for _ in range(5)]
    kb = KnowledgeBase(synthetic, HashingEncoder())
    results = [kb.search(q) for q in questions]
    answered = [r for r in results if r.decision == "answer"]
    assert answered
    for result in results:
        # The first hit's logit is the query's fused maximum logit, before the softmax.
        vector = HashingEncoder().encode([result.query])[0]
        fused = synthetic._scores(result.query, vector)[2]
        assert result.hits[0].logit == pytest.approx(float(fused.max()), abs=1e-3)
        assert "logit" not in result.to_dict()["hits"][0]  # `kb search --json` unchanged
    # A floor above every answered question's logit: none is answered, as below the
    # similarity floor (choices or escalation).
    high = max(r.hits[0].logit or 0.0 for r in answered) + 1.0
    synthetic_high = KnowledgeIndex(
        synthetic.articles,
        synthetic.entries,
        synthetic.vectors,
        synthetic._faiss,
        synthetic.lexical,
        synthetic.weights,
        synthetic.bias,
        {**synthetic.manifest, "operating_point": {**point.to_dict(), "min_logit": high}},
    )
    gated = KnowledgeBase(synthetic_high, HashingEncoder())
    assert gated.thresholds.min_logit == high
    for result, before in zip([gated.search(q) for q in questions], results, strict=True):
        assert result.decision != "answer"
        if before.decision != "answer":
            assert result.decision == before.decision


def test_an_index_built_before_the_logit_floor_loads_and_answers_as_before(
    tmp_path: Path,
) -> None:
    source, rng = _write_kb(tmp_path / "kb")
    index_dir = tmp_path / "index"
    built, _ = build_index(source, index_dir, HashingEncoder())
    assert built is not None
    manifest_file = index_dir / (index_dir / "CURRENT").read_text().strip() / "manifest.json"
    manifest = json.loads(manifest_file.read_text())
    assert "min_logit" in manifest["operating_point"]
    del manifest["operating_point"]["min_logit"]  # as an older build wrote it
    manifest_file.write_text(json.dumps(manifest))
    old = KnowledgeIndex.load(index_dir)
    assert old.operating_point is not None and old.operating_point.min_logit is None
    kb = KnowledgeBase(old, HashingEncoder())
    assert kb.thresholds.min_logit is None
    ungated = KnowledgeBase(
        old, HashingEncoder(), thresholds=replace(kb.thresholds, min_logit=None)
    )
    questions = [_question(rng, topic) for topic in range(TOPICS) for _ in range(3)]
    assert [kb.search(q).decision for q in questions] == [
        ungated.search(q).decision for q in questions
    ]
    assert build_index(source, index_dir, HashingEncoder())[1] is False  # still fresh


def test_folds_hold_out_each_articles_questions_in_turn_and_keep_titles() -> None:
    kinds = ["title", *["question"] * 7, "title", *["question"] * 3, "section"]
    article = np.array([0] * 8 + [1] * 5)
    fold_of = calibration.assign_folds(kinds, article, folds=5, seed=13)
    assert fold_of[0] == -1 and fold_of[8] == -1 and fold_of[12] == -1
    first = fold_of[1:8]
    # Seven questions over five folds: every fold holds out one or two of them.
    assert sorted(np.bincount(first, minlength=5).tolist()) == [1, 1, 1, 2, 2]
    # Three questions: three different folds.
    assert len(set(fold_of[9:12].tolist())) == 3
    assert np.array_equal(fold_of, calibration.assign_folds(kinds, article, folds=5, seed=13))


def test_each_fold_can_score_with_vectors_of_an_encoder_fitted_without_its_questions() -> None:
    rng = random.Random(3)
    articles = _articles(rng, questions=6)
    texts, kinds, owner = [], [], []
    for n, article in enumerate(articles):
        for kind, text in [("title", article.title)] + [("question", q) for q in article.questions]:
            texts.append(text)
            kinds.append(kind)
            owner.append(n)
    article = np.array(owner)
    off_texts = [_off_topic(rng) for _ in range(40)]
    encoder = HashingEncoder()
    vectors, off_vectors = encoder.encode(texts), encoder.encode(off_texts)
    fold_of = calibration.assign_folds(kinds, article)
    calls: list[tuple[int, np.ndarray]] = []

    def same_vectors(fold: int, train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        calls.append((fold, train))
        return vectors, off_vectors

    args = (texts, kinds, vectors, article, len(articles), off_texts, off_vectors)
    plain = calibration.cross_validate(*args)
    hooked = calibration.cross_validate(*args, fold_vectors=same_vectors)
    # One call per fold, each with exactly the entries outside that fold's held-out questions.
    assert [fold for fold, _ in calls] == list(range(calibration.FOLDS))
    for fold, train in calls:
        assert train.tolist() == np.flatnonzero(fold_of != fold).tolist()
    # The same vectors give the same cross-validation ...
    assert np.array_equal(plain.held_out.logits, hooked.held_out.logits)
    assert np.array_equal(plain.off_topic.logits, hooked.off_topic.logits)

    # ... and the fold's own vectors are the ones scored (here, off-topic ones zeroed).
    def zero_off_topic(fold: int, train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return vectors, np.zeros_like(off_vectors)

    zeroed = calibration.cross_validate(*args, fold_vectors=zero_off_topic)
    assert np.array_equal(plain.held_out.logits, zeroed.held_out.logits)
    assert not np.array_equal(plain.off_topic.logits, zeroed.off_topic.logits)


def _scored(rows: list[tuple[dict[int, float], dict[int, float]]], n: int) -> calibration.Scored:
    """Scores from (logits, similarities) per row; unnamed articles at logit 0, cosine 0.1."""
    return calibration.Scored(
        np.array([[logits.get(a, 0.0) for a in range(n)] for logits, _ in rows]),
        np.zeros((len(rows), n)),
        np.array([[cosines.get(a, 0.1) for a in range(n)] for _, cosines in rows]),
    )


def _limited_knowledge_base(
    *, close_off_topic: bool, one_wrong: bool
) -> calibration.CrossValidation:
    """Four articles. 60 held-out questions sure and close (0.8), 40 sure and less close
    (0.55), all right. With `one_wrong`, one of those 40 is sure of the wrong article, and
    only 50 questions are held out in all. Off-topic: with `close_off_topic`, ten the scorer
    is sure of at similarities 0.60-0.69, the rest far (0.2)."""
    n = 4
    held = [({i % n: 10.0}, {i % n: 0.8}) for i in range(60)]
    held += [({i % n: 8.0}, {i % n: 0.55}) for i in range(40)]
    labels = [i % n for i in range(100)]
    if one_wrong:
        held, labels = held[:40] + held[60:70], labels[:40] + labels[60:70]
        labels[-1] = (labels[-1] + 1) % n
    off = [({i % n: 10.0}, {i % n: 0.60 + i / 100}) for i in range(10)] if close_off_topic else []
    off += [({i % n: 2.0, (i + 1) % n: 2.0}, {i % n: 0.2}) for i in range(100 - len(off))]
    off_scored = _scored(off, n)
    return calibration.CrossValidation(
        _scored(held, n), np.array(labels), off_scored, n, off_scored.similarity.max(axis=1)
    )


def test_coverage_limits_name_the_off_topic_budget_and_the_closest_questions() -> None:
    cv = _limited_knowledge_base(close_off_topic=True, one_wrong=False)
    point = calibration.choose(cv)
    assert point.calibrated and point.expected_coverage == pytest.approx(0.6)
    # The point's BM25 weight and temperature are reused, not fitted again: the fit is most
    # of a large knowledge base's calibration time.
    with mock.patch.object(calibration, "_fit_scorer", side_effect=AssertionError("refit")):
        limits = calibration.coverage_limits(cv, point)
    assert limits.without_bound is None  # precision is sure enough: the budget binds
    assert limits.without_budget == pytest.approx(1.0)
    assert limits.off_topic_without_budget == pytest.approx(0.1)
    # Closest first, each question once.
    assert [(q, a) for q, a, _ in limits.closest_off_topic] == [(9, 1), (8, 0), (7, 3)]
    assert limits.closest_off_topic[0][2] == pytest.approx(0.69)
    manifest = {
        "without_bound": None,
        "without_budget": 1.0,
        "off_topic_without_budget": 0.1,
        "closest_off_topic": [
            {
                "question": "who sings this song",
                "article": "a",
                "title": "Songs",
                "similarity": 0.69,
            }
        ],
    }
    first, second = calibration.describe_limits(manifest, point)
    assert first.startswith("What limits coverage: off-topic questions it is sure of")
    assert "1.000 of the held-out questions" in first and "10.0% of the off-topic" in first
    assert second.startswith('Closest off-topic questions: "who sings this song" (Songs, 0.690)')


def test_coverage_limits_name_the_confidence_bound_when_questions_are_few() -> None:
    cv = _limited_knowledge_base(close_off_topic=False, one_wrong=True)
    point = calibration.choose(cv)
    # 49 of 50 right is 0.98, but not sure to reach 0.95 at 90% confidence: the 40 surest.
    assert point.calibrated and point.expected_coverage == pytest.approx(0.8)
    limits = calibration.coverage_limits(cv, point)
    assert limits.without_bound == pytest.approx(1.0)
    assert limits.without_budget is None and limits.closest_off_topic == []
    lines = calibration.describe_limits(
        {"without_bound": 1.0, "without_budget": None, "closest_off_topic": []}, point
    )
    assert lines == [
        "What limits coverage: too few alternative questions to be sure of precision 0.95 "
        "beyond this point at 90% confidence (at the point estimate, 1.000 of the held-out "
        "questions would be answered); more alternative questions per article let it answer "
        "more."
    ]
    assert calibration.describe_limits({}, point) == []
