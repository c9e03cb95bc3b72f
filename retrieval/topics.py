"""Grouping customers' questions into topics (the knowledge-gaps report), and what to do
about each: more phrasings for an article that exists, or a new article.

Questions are grouped by average-linkage clustering of their vectors, cut where the mean
cosine between two groups falls below a floor. The floor is not a constant tuned on some
data set: each knowledge base sets it from its own articles' alternative questions, which
are questions already grouped by topic (`calibrate_floor`): the cut that regroups them best
is the one used for the customers' questions, whatever the encoder and language.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform


def _tree(vectors: np.ndarray) -> np.ndarray:
    """Average-linkage tree over cosine distances. A zero vector (a text the encoder saw
    nothing in) is at distance 1 from everything, rather than undefined."""
    v = vectors.astype(np.float64)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    v = np.divide(v, norms, out=np.zeros_like(v), where=norms > 0)
    distances = np.clip(1.0 - v @ v.T, 0.0, 2.0)
    np.fill_diagonal(distances, 0.0)
    distances = (distances + distances.T) / 2  # exactly symmetric for squareform
    tree: np.ndarray = linkage(squareform(distances, checks=False), method="average")
    return tree


@dataclass(frozen=True)
class Group:
    members: tuple[int, ...]  # indices into the grouped texts, the most central first
    cohesion: float  # mean cosine of the members to their centroid


def group_vectors(vectors: np.ndarray, *, min_similarity: float) -> list[Group]:
    """Topics of unit-length `vectors`, largest first (ties: the earliest member first)."""
    n = len(vectors)
    if n == 0:
        return []
    if n == 1:
        return [Group((0,), 1.0)]
    labels = fcluster(_tree(vectors), t=1.0 - min_similarity, criterion="distance")
    groups = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        centroid = vectors[members].mean(axis=0)
        centroid /= max(float(np.linalg.norm(centroid)), 1e-12)
        closeness = vectors[members] @ centroid
        order = members[np.argsort(-closeness, kind="stable")]
        groups.append(Group(tuple(int(i) for i in order), float(closeness.mean())))
    groups.sort(key=lambda g: (-len(g.members), min(g.members)))
    return groups


# Cuts tried by `calibrate_floor` (cosine).
FLOOR_GRID = tuple(round(0.05 + 0.025 * i, 3) for i in range(37))  # 0.05 ... 0.95


def calibrate_floor(vectors: np.ndarray, labels: Sequence[str], default: float) -> float:
    """The cut that regroups a knowledge base's own questions (`labels`: their article)
    into their articles best (adjusted Rand index); `default` when there are too few
    articles with two questions or more to tell."""
    from sklearn.metrics import adjusted_rand_score

    counts: dict[str, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    if sum(1 for c in counts.values() if c >= 2) < 3:
        return default
    tree = _tree(vectors)
    best, best_score = default, -1.0
    for floor in FLOOR_GRID:
        predicted = fcluster(tree, t=1.0 - floor, criterion="distance")
        score = float(adjusted_rand_score(labels, predicted))
        if score > best_score:
            best, best_score = floor, score
    return best


def purity(groups: Sequence[Group], labels: Sequence[str]) -> float:
    """Share of texts whose group's most common label is their own."""
    right = 0
    for group in groups:
        counts: dict[str, int] = {}
        for i in group.members:
            counts[labels[i]] = counts.get(labels[i], 0) + 1
        right += max(counts.values())
    return right / max(1, sum(len(g.members) for g in groups))


def assignment(groups: Sequence[Group], n: int) -> list[int]:
    """Each text's group number (for clustering metrics)."""
    out = [0] * n
    for number, group in enumerate(groups):
        for i in group.members:
            out[i] = number
    return out
