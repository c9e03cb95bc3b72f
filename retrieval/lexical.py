"""BM25 over the index entries: catches exact product words (error codes, feature names)
that a general-purpose sentence encoder has never seen."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy import sparse

from retrieval.tokenize import tokenize

__all__ = ["LexicalIndex", "tokenize"]


class LexicalIndex:
    def __init__(self, vocabulary: dict[str, int], matrix: sparse.csc_matrix) -> None:
        self.vocabulary = vocabulary
        self.matrix = matrix  # entries x terms, BM25 weights; CSC so a query reads few columns

    @classmethod
    def build(cls, texts: Sequence[str], k1: float = 1.2, b: float = 0.75) -> LexicalIndex:
        tokens = [tokenize(t) for t in texts]
        n = max(len(tokens), 1)
        average = max(sum(len(t) for t in tokens) / n, 1.0)
        frequency = Counter(w for t in tokens for w in set(t))
        vocabulary: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        values: list[float] = []
        for row, words in enumerate(tokens):
            length_norm = k1 * (1 - b + b * len(words) / average)
            for word, count in Counter(words).items():
                col = vocabulary.setdefault(word, len(vocabulary))
                df = frequency[word]
                idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
                rows.append(row)
                cols.append(col)
                values.append(idf * count * (k1 + 1) / (count + length_norm))
        matrix = sparse.csc_matrix(
            (values, (rows, cols)), shape=(len(tokens), max(len(vocabulary), 1)), dtype=np.float32
        )
        return cls(vocabulary, matrix)

    def scores(self, query: str) -> np.ndarray | None:
        """BM25 score of every entry, or None when no query word is in the index."""
        columns = sorted({self.vocabulary[w] for w in tokenize(query) if w in self.vocabulary})
        if not columns:
            return None
        # The query's columns' postings added up per entry, read straight from the CSC
        # arrays (slicing the matrix would copy them into a new one first).
        pointer, rows, weights = self.matrix.indptr, self.matrix.indices, self.matrix.data
        spans = [slice(pointer[c], pointer[c + 1]) for c in columns]
        return np.bincount(
            np.concatenate([rows[s] for s in spans]),
            weights=np.concatenate([weights[s] for s in spans]),
            minlength=self.matrix.shape[0],
        ).astype(np.float32)

    def save(self, folder: Path) -> None:
        sparse.save_npz(folder / "lexical.npz", self.matrix.tocsr())
        (folder / "lexical-vocabulary.txt").write_text("\n".join(self.vocabulary), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        words = (folder / "lexical-vocabulary.txt").read_text(encoding="utf-8").split("\n")
        vocabulary = {w: i for i, w in enumerate(words) if w}
        return cls(vocabulary, sparse.load_npz(folder / "lexical.npz").tocsc())
