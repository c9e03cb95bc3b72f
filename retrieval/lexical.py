"""BM25 over the index entries: catches exact product words (error codes, feature names)
that a general-purpose sentence encoder has never seen."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain
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
        return cls.from_tokens([tokenize(t) for t in texts], k1, b)

    @classmethod
    def from_tokens(
        cls, tokens: Sequence[list[str]], k1: float = 1.2, b: float = 0.75
    ) -> LexicalIndex:
        """From texts already tokenized: the calibration builds one index per fold from the
        same entries, and tokenizing them is most of a build's time."""
        vocabulary: dict[str, int] = {}
        ids = [[vocabulary.setdefault(w, len(vocabulary)) for w in words] for words in tokens]
        n = max(len(tokens), 1)
        lengths = np.array([len(words) for words in ids], dtype=np.int64)
        average = max(int(lengths.sum()) / n, 1.0)
        terms = max(len(vocabulary), 1)
        flat = np.fromiter(chain.from_iterable(ids), dtype=np.int64, count=int(lengths.sum()))
        # Each (entry, word) once with its count: the pairs as one integer, counted.
        pairs, counts = np.unique(
            np.repeat(np.arange(len(ids), dtype=np.int64), lengths) * terms + flat,
            return_counts=True,
        )
        rows, cols = pairs // terms, pairs % terms
        frequency = np.bincount(cols, minlength=terms)  # entries holding each word
        idf = np.log(1 + (n - frequency + 0.5) / (frequency + 0.5))
        length_norm = k1 * (1 - b + b * lengths / average)
        values = idf[cols] * counts * (k1 + 1) / (counts + length_norm[rows])
        matrix = sparse.csc_matrix(
            (values, (rows, cols)), shape=(len(tokens), terms), dtype=np.float32
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
