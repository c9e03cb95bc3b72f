"""Building with an encoder tuned to the knowledge base (retrieval.tuning), without a model:
what each fine-tune sees, where the tuned model is kept, and that it is what serves."""

from __future__ import annotations

import gc
from pathlib import Path

import numpy as np
import pytest

from retrieval import calibration
from retrieval.articles import Article, chunk_body
from retrieval.encoder import (
    AUTO_TUNED,
    MINILM,
    MULTILINGUAL_E5,
    TUNED_MINILM,
    TuningEncoder,
    choose_model,
    open_encoder,
)
from retrieval.index import KnowledgeIndex, entries_for, read_manifest
from retrieval.search import KnowledgeBase, build_index
from retrieval.tuned_build import deal_folds
from retrieval.tuning import ENCODER_FOLDER
from tests.fakes import HashingEncoder
from tests.fakes.tuning import FolderEncoder, TuningHashingEncoder, TuningWithoutNegatives

TOPICS = ["invoice", "password", "export", "refund", "printer", "language"]


def _articles() -> list[Article]:
    articles = []
    for topic in TOPICS:
        body = f"All about the {topic}."
        questions = tuple(f"question {n} about my {topic}" for n in range(7))
        articles.append(
            Article(
                id=topic,
                title=f"The {topic}",
                body=body,
                questions=questions,
                chunks=chunk_body(topic, body),
            )
        )
    return articles


def test_auto_tuned_chooses_tuned_minilm_for_english_only() -> None:
    assert choose_model(AUTO_TUNED, ["en"]) == TUNED_MINILM
    assert choose_model(AUTO_TUNED, ["en", "fa"]) == MULTILINGUAL_E5
    encoder = open_encoder(TUNED_MINILM)
    assert isinstance(encoder, TuningEncoder)
    assert encoder.details()["base"] == MINILM
    with pytest.raises(TypeError, match="once tuned"):
        encoder.encode(["not yet"])


def test_no_fold_is_tuned_on_the_questions_it_is_scored_on() -> None:
    tuner = TuningHashingEncoder()
    articles = _articles()
    index = KnowledgeIndex.build(articles, tuner, off_topic=["what time is it", "hello"])
    assert index.operating_point is not None and index.operating_point.calibrated
    entries = [e for a in articles for e in entries_for(a)]
    final, *folds = tuner.tuned_on
    # The final model sees every title and question, and no section text.
    assert sorted(t for g in final for t in g) == sorted(
        e.text for e in entries if e.kind in ("title", "question")
    )
    labels = np.array([TOPICS.index(e.article_id) for e in entries])
    fold_of = calibration.assign_folds([e.kind for e in entries], labels)
    assert len(folds) == calibration.FOLDS
    for fold, groups in enumerate(folds):
        seen = {t for g in groups for t in g}
        held_out = {entries[i].text for i in np.flatnonzero(fold_of == fold)}
        assert held_out and not seen & held_out
        # ...and everything else it could learn from.
        kept = {e.text for e, f in zip(entries, fold_of, strict=True) if f != fold}
        assert seen == {t for t in kept if t in {e.text for e in entries if e.kind != "chunk"}}


OFF_TOPIC = [
    "what time is it",
    "tell me a joke",
    "how tall is the eiffel tower",
    "who won the football game",
    "play some jazz",
    "what is the weather like",
    "book a table for two",
    "how far is the moon",
    "sing me a song",
    "what day is it today",
    "is it going to rain",
    # Word for word one of the invoice article's questions: covered, not off topic.
    "question 3 about my invoice",
]
COVERED = "question 3 about my invoice"


def test_no_fold_is_tuned_away_from_the_off_topic_questions_it_scores() -> None:
    tuner = TuningHashingEncoder()
    index = KnowledgeIndex.build(_articles(), tuner, off_topic=OFF_TOPIC)
    final, *folds = tuner.pushed_away
    # What the knowledge base covers is never pushed away; everything else is, by the final
    # model.
    assert sorted(final) == sorted(q for q in OFF_TOPIC if q != COVERED)
    assert all(COVERED not in pushed for pushed in folds)
    # Each other one is pushed away by every fold's model but the one that scores it...
    scoring = deal_folds(len(OFF_TOPIC))
    assert index._tuning is not None
    assert np.array_equal(index._tuning.off_topic_folds, scoring)  # type: ignore[arg-type]
    assert len(folds) == calibration.FOLDS
    for question, fold in zip(OFF_TOPIC, scoring, strict=True):
        if question != COVERED:
            assert [question in pushed for pushed in folds] == [
                f != fold for f in range(calibration.FOLDS)
            ]
    # ...and it is scored once, not under every fold's model.
    cv = index.cross_validation
    assert cv is not None and len(cv.off_topic.logits) == len(OFF_TOPIC)
    manifest = index.manifest["tuned_encoder"]
    assert manifest["off_topic_negatives"] == len(OFF_TOPIC) - 1


def test_a_recipe_without_an_untuned_model_is_tuned_on_the_questions_alone() -> None:
    tuner = TuningWithoutNegatives()
    index = KnowledgeIndex.build(_articles(), tuner, off_topic=OFF_TOPIC)
    assert tuner.pushed_away == [[]] * (1 + calibration.FOLDS)
    cv = index.cross_validation
    assert cv is not None and len(cv.off_topic.logits) == calibration.FOLDS * len(OFF_TOPIC)
    assert "off_topic_negatives" not in index.manifest["tuned_encoder"]


def test_too_few_questions_for_every_fold_means_no_negatives() -> None:
    articles = [
        Article(
            id=topic,
            title=f"The {topic}",
            body=f"About the {topic}.",
            questions=(f"where is my {topic}",),
            chunks=chunk_body(topic, f"About the {topic}."),
        )
        for topic in TOPICS[:3]
    ]
    tuner = TuningHashingEncoder()
    KnowledgeIndex.build(articles, tuner, off_topic=OFF_TOPIC)
    # Some calibration fold holds out no question, so some off-topic question would be
    # scored by no model: none is pushed away.
    assert all(pushed == [] for pushed in tuner.pushed_away)


def test_cross_validation_scores_an_off_topic_question_under_its_fold_alone() -> None:
    articles = _articles()
    entries = [e for a in articles for e in entries_for(a)]
    labels = np.array([TOPICS.index(e.article_id) for e in entries])
    encoder = HashingEncoder()
    texts, kinds = [e.text for e in entries], [e.kind for e in entries]
    vectors, off_vectors = encoder.encode(texts), encoder.encode(OFF_TOPIC)
    n = len(OFF_TOPIC)
    every = calibration.cross_validate(
        texts, kinds, vectors, labels, len(TOPICS), OFF_TOPIC, off_vectors
    )
    folds = deal_folds(n)
    once = calibration.cross_validate(
        texts, kinds, vectors, labels, len(TOPICS), OFF_TOPIC, off_vectors, off_topic_folds=folds
    )
    # Every question under every fold's model is fold after fold of all of them; each once is
    # the row of its own fold, in the questions' order.
    # Close, not equal to the bit: a matrix product over some rows need not add up in the
    # same order as over all of them (it depends on the BLAS numpy ships with).
    rows = folds * n + np.arange(n)
    for column in ("logits", "lexical", "similarity"):
        assert np.allclose(
            getattr(once.off_topic, column),
            getattr(every.off_topic, column)[rows],
            rtol=1e-5,
            atol=1e-6,
        )
    assert not np.array_equal(every.off_topic.logits[:n], every.off_topic.logits[n : 2 * n])
    assert np.array_equal(once.held_out.logits, every.held_out.logits)


def test_a_tuned_index_is_served_by_its_own_model_and_the_next_one_by_its_own(
    tmp_path: Path,
) -> None:
    source = tmp_path / "kb"
    source.mkdir()
    for topic in TOPICS[:3]:
        (source / f"{topic}.md").write_text(
            f"---\ntitle: The {topic}\nquestions: [how do I fix my {topic}]\n---\n"
            f"All about the {topic}.\n"
        )
    index_dir = tmp_path / "index"
    tuner = TuningHashingEncoder()
    built, fresh_build = build_index(source, index_dir, tuner)
    assert fresh_build and built is not None
    manifest = read_manifest(index_dir)
    assert manifest is not None and manifest["model"] == "test:tuned"
    assert manifest["encoder"] == {"tuning": "fake"}
    assert len(manifest["tuned_encoder"]["sha256"]) == 64
    kb = KnowledgeBase.open(index_dir, tuner)
    assert isinstance(kb.encoder, FolderEncoder)
    assert kb.encoder.folder == kb.index.version / ENCODER_FOLDER  # type: ignore[operator]
    assert kb.builder is tuner
    assert kb.search("how do I fix my export").hits[0].article_id == "export"
    # Unchanged sources and tuning: nothing is tuned again.
    tunes = len(tuner.tuned_on)
    assert build_index(source, index_dir, tuner) == (None, False)
    assert len(tuner.tuned_on) == tunes

    (source / "refund.md").write_text(
        "---\ntitle: The refund\nquestions: [can I get my money back]\n---\nRefunds.\n"
    )
    build_index(source, index_dir, kb.builder)
    first = kb.encoder
    assert kb.reload_if_published(every=0)
    assert kb.encoder is not first and kb.encoder.folder != first.folder  # type: ignore[attr-defined]
    assert ["can I get my money back"] in [g[1:] for g in kb.encoder.groups]  # type: ignore[attr-defined]
    assert kb.search("can I get my money back").hits[0].article_id == "refund"


def test_the_models_tuned_while_building_are_removed_with_the_index(tmp_path: Path) -> None:
    tuner = TuningHashingEncoder()
    index = KnowledgeIndex.build(_articles(), tuner, off_topic=["hello"])
    work = tuner.folders[0].parent
    assert (work / ENCODER_FOLDER).is_dir()
    assert not any((work / f"fold{n}").exists() for n in range(calibration.FOLDS))
    version = index.save(tmp_path / "index")
    assert (version / ENCODER_FOLDER / "groups.json").is_file()
    del index
    gc.collect()
    assert not work.exists()


def test_an_index_with_a_tuned_model_is_not_served_without_its_loader(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    KnowledgeIndex.build(_articles(), TuningHashingEncoder(), calibrate=False).save(index_dir)

    class SameNameNoLoader(TuningHashingEncoder):
        load_tuned = None  # type: ignore[assignment]

    with pytest.raises(ValueError, match="cannot load"):
        KnowledgeBase.open(index_dir, SameNameNoLoader())


def test_the_hub_serves_a_tuned_index_and_its_edits_rebuild_it_tuned(tmp_path: Path) -> None:
    from api.hub import load_knowledge
    from api.index_builds import publish_index
    from api.settings import Settings

    source = tmp_path / "kb"
    source.mkdir()
    for topic in TOPICS[:3]:
        (source / f"{topic}.md").write_text(
            f"---\ntitle: The {topic}\nquestions: [how do I fix my {topic}]\n---\nAbout {topic}.\n"
        )
    settings = Settings(kb_dir=source, index_dir=tmp_path / "index", var_dir=tmp_path)
    tuner = TuningHashingEncoder()
    assert publish_index(settings, tuner)
    holder = load_knowledge(settings, tuner)
    try:
        assert holder.kb is not None, holder.error
        first = holder.kb.encoder
        assert isinstance(first, FolderEncoder)
        assert holder.search("how do I fix my export").hits[0].article_id == "export"
        (source / "refund.md").write_text(
            "---\ntitle: The refund\nquestions: [can I get my money back]\n---\nRefunds.\n"
        )
        # As the console's edits publish: with the recipe, not the model it made.
        assert publish_index(settings, holder.kb.builder)
        holder.kb._checked_at = float("-inf")  # the hub looks every 2 s; look now
        assert holder.search("can I get my money back").hits[0].article_id == "refund"
        assert holder.kb.encoder is not first
        assert isinstance(holder.kb.encoder, FolderEncoder)
        assert any("can I get my money back" in g for g in holder.kb.encoder.groups)
    finally:
        holder.close()


def test_kb_build_says_it_tunes_and_what_it_tuned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from api.cli_common import build_kb_index
    from api.settings import Settings
    from retrieval import encoder as encoders

    source = tmp_path / "kb"
    source.mkdir()
    for topic in TOPICS:
        questions = ", ".join(f"question {n} about my {topic}" for n in range(7))
        (source / f"{topic}.md").write_text(
            f"---\ntitle: The {topic}\nquestions: [{questions}]\n---\nAll about the {topic}.\n"
        )
    monkeypatch.setattr(encoders, "open_encoder", lambda spec: TuningHashingEncoder())
    settings = Settings(kb_dir=source, var_dir=tmp_path, embedding_model="test:tuned")
    build_kb_index(settings, source, tmp_path / "index", force=False)
    out = capsys.readouterr().out
    assert "Tuning the encoder to these articles" in out
    assert "Tuned model 1 of 6 (on every question) in " in out
    assert "Tuned model 6 of 6 (for calibration fold 5) in " in out
    sha = read_manifest(tmp_path / "index")["tuned_encoder"]["sha256"]  # type: ignore[index]
    assert f"Tuned encoder: sha256 {sha[:12]}…" in out
    shipped = calibration.off_topic_questions(["en"])
    assert f"Tuned away from {len(shipped)} off-topic questions (0 left out" in out
