"""BM25 over the index entries: catches exact product words (error codes, feature names)
that a general-purpose sentence encoder has never seen."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy import sparse

_TOKEN = re.compile(r"[a-z0-9]+")
# Words so common in support questions that matching them says nothing.
_STOP = frozenset(
    (
        "a an and are can could do does for from how i in is it me my of on or please the to "
        "what when where which why with you your"
    ).split()
)


def tokenize(text: str) -> list[str]:
    return [_stem(t) for t in _TOKEN.findall(text.lower()) if t not in _STOP]


def _stem(token: str) -> str:
    # A light fold of plurals and -ing forms; enough to match "invoices" with "invoice"
    # and "syncing" with "sync", without a stemmer's surprises on product words.
    if len(token) > 4 and token.endswith("ies"):
        return token[:-3] + "y"
    if len(token) > 5 and token.endswith("ing"):
        return token[:-3]
    if len(token) > 3 and token.endswith("s") and not token.endswith(("ss", "us", "is")):
        return token[:-1]
    return token


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
        return np.asarray(self.matrix[:, columns].sum(axis=1), dtype=np.float32).ravel()

    def save(self, folder: Path) -> None:
        sparse.save_npz(folder / "lexical.npz", self.matrix.tocsr())
        (folder / "lexical-vocabulary.txt").write_text("\n".join(self.vocabulary), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        words = (folder / "lexical-vocabulary.txt").read_text(encoding="utf-8").split("\n")
        vocabulary = {w: i for i, w in enumerate(words) if w}
        return cls(vocabulary, sparse.load_npz(folder / "lexical.npz").tocsc())
