"""A knowledge base in a language the product ships no off-topic questions in is calibrated
against its own questions of held-out articles: each scored by a model that never saw its
article, against the articles that remain."""

from __future__ import annotations

import random
from dataclasses import replace

import numpy as np

from retrieval import calibration, own_off_topic
from retrieval.articles import Article, chunk_body
from retrieval.index import KnowledgeIndex
from tests.fakes import HashingEncoder

TOPICS = 10
SHARED = [f"comun{i}" for i in range(20)]


def _words(topic: int) -> list[str]:
    return [f"tema{topic}palabra{j}" for j in range(8)]


def _articles(lang: str, questions: int = 6, topics: int = TOPICS) -> list[Article]:
    rng = random.Random(3)
    articles = []
    for topic in range(topics):
        body = " ".join(_words(topic)) + "."
        asked = tuple(
            " ".join(rng.sample(_words(topic), 3) + rng.sample(SHARED, 2)) for _ in range(questions)
        )
        articles.append(
            Article(
                id=f"tema-{topic}",
                title=f"Tema {topic}",
                body=body,
                questions=asked,
                lang=lang,
                chunks=chunk_body(f"tema-{topic}", body),
            )
        )
    return articles


def test_no_question_is_scored_by_a_model_that_saw_its_article() -> None:
    index = KnowledgeIndex.build(_articles("es"), HashingEncoder(), calibrate=False)
    positions = {a.id: i for i, a in enumerate(index.articles)}
    labels = np.array([positions[e.article_id] for e in index.entries])
    kinds = [e.kind for e in index.entries]
    own = own_off_topic.held_out_articles(
        [e.text for e in index.entries], kinds, index.vectors, labels, len(index.articles)
    )
    questions = [e for e in index.entries if e.kind == "question"]
    assert sorted(own.texts) == sorted(e.text for e in questions)
    owner = {e.text: positions[e.article_id] for e in questions}
    rows = np.arange(len(own.texts))
    article = np.array([owner[t] for t in own.texts])
    # Its own article is out of the model: no logit, no entry to be close to.
    assert np.all(own.scored.logits[rows, article] <= own_off_topic.ABSENT_LOGIT)
    assert np.all(own.scored.similarity[rows, article] == -1.0)
    top, _ = own.scored.top(1.0, 0.7)
    assert not np.any(top == article)
    # The folds hold out whole articles: a question's fold-mates are absent too.
    folds = own_off_topic.deal_articles(len(index.articles))
    for row in rows:
        absent = np.flatnonzero(own.scored.similarity[row] == -1.0)
        assert set(absent) == set(np.flatnonzero(folds == folds[article[row]]))
    assert np.allclose(own.similarity, own.scored.similarity.max(axis=1))


def test_a_knowledge_base_in_a_language_without_shipped_questions_uses_its_own() -> None:
    assert calibration.without_off_topic(["es", "en"]) == ["es"]
    assert calibration.without_off_topic(["zh-TW", "fa", "en"]) == []
    spanish = KnowledgeIndex.build(_articles("es"), HashingEncoder())
    point = spanish.operating_point
    assert point is not None and point.calibrated
    assert point.off_topic_source == own_off_topic.SOURCE
    assert point.off_topic_questions + point.off_topic_left_out == TOPICS * 6
    assert "questions of articles held out of it" in point.summary()
    assert spanish.manifest["operating_point"]["off_topic_source"] == own_off_topic.SOURCE
    # Its own questions are not named as off-topic questions to add to an article.
    assert not spanish.manifest.get("coverage_limits", {}).get("closest_off_topic")

    english = KnowledgeIndex.build(_articles("en"), HashingEncoder())
    assert english.operating_point is not None
    assert english.operating_point.off_topic_source == "shipped"
    shipped = len(calibration.off_topic_questions(["en"]))
    counted = english.operating_point.off_topic_questions
    assert counted + english.operating_point.off_topic_left_out == shipped


def test_too_small_to_calibrate_keeps_the_shipped_questions_for_its_floor() -> None:
    small = KnowledgeIndex.build(_articles("es", questions=2, topics=4), HashingEncoder())
    point = small.operating_point
    assert point is not None and not point.calibrated
    assert point.off_topic_source == "shipped"


def test_an_older_operating_point_reads_as_shipped() -> None:
    point = calibration.OperatingPoint(0.5, 1.1, 0.5, 0.7, 1.0, True, 0.95)
    raw = point.to_dict()
    del raw["off_topic_source"]
    assert calibration.OperatingPoint.from_dict(raw) == replace(point, off_topic_source="shipped")
