"""MiniLM really fine-tuned (a few steps, to keep it quick): saved and loaded faithfully, and
a knowledge base built, saved and served with its own tuned model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from retrieval.encoder import (
    MINILM,
    SentenceTransformerEncoder,
    TunedEncoder,
    TuningEncoder,
    packaged_model_path,
)
from retrieval.index import read_manifest
from retrieval.search import KnowledgeBase, build_index
from retrieval.tuning import ENCODER_FOLDER, Tuning, fine_tune

pytestmark = pytest.mark.real_model

GROUPS = [
    ["Reset your password", "I forgot my password", "how do I change my password"],
    ["Download an invoice", "where is my invoice", "I need a receipt for my payment"],
    ["Export your data", "how do I export my data", "download everything as CSV"],
]
TEXTS = ["I can't log in", "send me last month's bill"]


def test_the_tuned_model_is_saved_and_loaded_as_it_was_tuned(tmp_path: Path) -> None:
    base = SentenceTransformerEncoder(MINILM).encode(TEXTS)
    untouched = TunedEncoder(
        fine_tune(packaged_model_path(), GROUPS, tmp_path / "none", Tuning(steps=0))
    )
    assert np.allclose(untouched.encode(TEXTS), base, atol=1e-5)
    tuned = TunedEncoder(
        fine_tune(packaged_model_path(), GROUPS, tmp_path / "tuned", Tuning(steps=3, batch=3))
    )
    vectors = tuned.encode(TEXTS)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(vectors, base, atol=1e-3)


def test_a_knowledge_base_is_built_and_served_with_its_tuned_model(tmp_path: Path) -> None:
    source = tmp_path / "kb"
    source.mkdir()
    for n, (title, *questions) in enumerate(GROUPS):
        listed = ", ".join(questions)
        (source / f"a{n}.md").write_text(
            f"---\ntitle: {title}\nquestions: [{listed}]\n---\n{title}, step by step.\n"
        )
    index_dir = tmp_path / "index"
    tuner = TuningEncoder(Tuning(steps=2, batch=3))
    build_index(source, index_dir, tuner)
    manifest = read_manifest(index_dir)
    assert manifest is not None and manifest["tuned_encoder"]["folder"] == ENCODER_FOLDER
    kb = KnowledgeBase.open(index_dir, tuner)
    assert isinstance(kb.encoder, TunedEncoder)
    assert kb.encoder.folder.parent == kb.index.version
    assert kb.search("where is my invoice").hits[0].article_id == "a1"


def test_off_topic_negatives_push_those_questions_away_from_every_article(
    tmp_path: Path,
) -> None:
    # Near the articles in words, about something else.
    off_topic = ["I forgot my umbrella", "where is my parcel", "download a song"]
    articles = [t for g in GROUPS for t in g]
    tuning = Tuning(steps=10, batch=3, learning_rate=1e-4)

    def closest(encoder: TunedEncoder) -> np.ndarray:
        similarity: np.ndarray = (encoder.encode(off_topic) @ encoder.encode(articles).T).max(1)
        return similarity

    base = packaged_model_path()
    plain = TunedEncoder(fine_tune(base, GROUPS, tmp_path / "plain", tuning))
    pushed = TunedEncoder(fine_tune(base, GROUPS, tmp_path / "pushed", tuning, off_topic))
    # Seen here: 0.33, 0.57, 0.37 tuned without them; 0.24, 0.20, 0.23 pushed away.
    assert (closest(pushed) < closest(plain) - 0.05).all()
