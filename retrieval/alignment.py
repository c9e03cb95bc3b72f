"""A linear map from one language's (centred) sentence vectors towards English's, learnt from
the shipped off-topic sentences, which the Chinese and Persian files translate from the
English one in its order (skipping some lines), and its use: a question written in a script
that the knowledge base has no article in is mapped before it is compared (`map_questions`).

Centring removes each language's mean offset, but a question in Persian still sits apart from
its English translation along directions the mean does not capture. An orthogonal Procrustes
rotation fitted on the translated pairs moves those directions; with ~250 pairs in 384
dimensions the full rotation overfits, so it is shrunk towards the identity,
W = (1 - a) I + a R, with `a` chosen by cross-validation on the pairs alone: the held-out
pairs' mean cosine after mapping (the quantity Procrustes maximises, measured on pairs it did
not see). Nothing of any knowledge base or benchmark is used.

Only such questions are mapped, never a knowledge base's own entries: mapping every Chinese
and Persian vector also moved a translated knowledge base's entries and off-topic sentences
closer to its English ones, which raised its calibrated floors and cost answers
(docs/kb-engine.md, "Languages").
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import numpy as np

from retrieval.languages import script_of

# The script whose vectors the others are mapped towards.
PIVOT_SCRIPT = "Latin"

SHRINKAGE_GRID = tuple(round(0.1 * step, 1) for step in range(11))
FOLDS = 5
SEED = 0


def unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    result: np.ndarray = (vectors / np.maximum(norms, 1e-9)).astype(np.float32)
    return result


def monotone_pairs(similarity: np.ndarray) -> list[tuple[int, int]]:
    """Every source row (a translated sentence) matched to a distinct target row (English),
    both in increasing order, maximising the summed similarity: the translations keep the
    English file's order but skip lines, so order says more than each nearest neighbour."""
    n, m = similarity.shape
    if n > m:
        raise ValueError("more translated sentences than English ones")
    best = np.full((n + 1, m + 1), -np.inf)
    best[0, :] = 0.0
    matched = np.zeros((n + 1, m + 1), dtype=bool)
    for i in range(1, n + 1):
        for j in range(i, m + 1):
            match = best[i - 1, j - 1] + similarity[i - 1, j - 1]
            matched[i, j] = match >= best[i, j - 1]
            best[i, j] = match if matched[i, j] else best[i, j - 1]
    pairs: list[tuple[int, int]] = []
    i, j = n, m
    while i > 0:
        if matched[i, j]:
            pairs.append((i - 1, j - 1))
            i -= 1
        j -= 1
    return pairs[::-1]


def procrustes(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The orthogonal R minimising |source R - target| (rows are pairs) and, among those, the
    closest to the identity.

    With fewer pairs than dimensions (~250 in 384), source.T @ target has no rank on the
    directions the pairs do not span, and any rotation there fits them equally. Plain
    U V^T from the SVD then turns those directions by whatever basis the SVD happened to
    return: numerical noise, which differed between two CPUs computing the same shipped
    map, and which moves a question's components the pairs never saw. There R is the
    rotation between the two left-over subspaces nearest the identity instead."""
    product = source.astype(np.float64).T @ target.astype(np.float64)
    u, singular, vt = np.linalg.svd(product)
    # numpy.linalg.matrix_rank's default tolerance, at the inputs' float32 precision.
    tolerance = singular[0] * max(product.shape) * np.finfo(np.float32).eps
    rank = int(np.sum(singular > tolerance))
    rotation = u[:, :rank] @ vt[:rank]
    if rank < len(product):
        # Maximise trace(R) over the left-over part U⊥ Q V⊥ᵀ: Q is the polar factor of
        # U⊥ᵀ V⊥ (orthogonal Procrustes again, towards the identity).
        left, _, right = np.linalg.svd(u[:, rank:].T @ vt[rank:].T)
        rotation += u[:, rank:] @ (left @ right) @ vt[rank:]
    result: np.ndarray = rotation.astype(np.float32)
    return result


def shrunk(rotation: np.ndarray, a: float) -> np.ndarray:
    return ((1 - a) * np.eye(len(rotation)) + a * rotation).astype(np.float32)


def held_out_cosine(source: np.ndarray, target: np.ndarray, a: float) -> float:
    """Mean cosine of each pair mapped by a map fitted on the other folds (rows are pairs)."""
    folds = np.random.default_rng(SEED).permutation(len(source)) % FOLDS
    total = 0.0
    for fold in range(FOLDS):
        test, train = folds == fold, folds != fold
        mapped = unit(source[test] @ shrunk(procrustes(source[train], target[train]), a))
        total += float(np.sum(mapped * target[test]))
    return total / len(source)


def fit_map(source: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, float]:
    """The shrunk map from `source` sentences' vectors to their translations' in `target`
    (unit rows, not paired), and the shrinkage chosen (ties: the smaller)."""
    pairs = monotone_pairs(source @ target.T)
    paired_source = source[[i for i, _ in pairs]]
    paired_target = target[[j for _, j in pairs]]
    scores = {a: held_out_cosine(paired_source, paired_target, a) for a in SHRINKAGE_GRID}
    a = max(SHRINKAGE_GRID, key=lambda g: (round(scores[g], 3), -g))
    return shrunk(procrustes(paired_source, paired_target), a), a


def map_questions(
    encoder: Any, texts: Sequence[str], vectors: np.ndarray, kb_scripts: Collection[str]
) -> np.ndarray:
    """`vectors` (of `texts`, from `encoder`) with each text written in a script that none of
    the knowledge base's titles and questions is in (`kb_scripts`) mapped towards English,
    when the knowledge base has English-script ones and the encoder has a map for that
    script. Other rows are returned as they are."""
    question_map = getattr(encoder, "question_map", None)
    if question_map is None or PIVOT_SCRIPT not in kb_scripts or not len(vectors):
        return vectors
    mapped = None
    for row, text in enumerate(texts):
        script = script_of(text)
        if not script or script in kb_scripts:
            continue
        matrix = question_map(script)
        if matrix is None:
            continue
        if mapped is None:
            mapped = np.array(vectors, dtype=np.float32, copy=True)
        mapped[row] = unit(mapped[row] @ matrix)
    return vectors if mapped is None else mapped
