"""Test doubles for heavy parts: an encoder that needs no model."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from itertools import pairwise

import numpy as np

_WORD = re.compile(r"[a-z0-9]+")


class HashingEncoder:
    """Bag of words (and word pairs) hashed into a fixed space, unit length.

    Deterministic and instant, and texts sharing words score higher than texts that do
    not, which is all the index's plumbing needs to be tested.
    """

    name = "test:hashing"

    def __init__(self, dimension: int = 512) -> None:
        self._dimension = dimension

    @property
    def dimension(self) -> int:
        return self._dimension

    def _bucket(self, token: str) -> int:
        return (
            int.from_bytes(hashlib.blake2b(token.encode(), digest_size=4).digest(), "big")
            % self._dimension
        )

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            words = _WORD.findall(text.lower())
            for token in words + [f"{a} {b}" for a, b in pairwise(words)]:
                out[row, self._bucket(token)] += 1.0
            norm = np.linalg.norm(out[row])
            if norm > 0:
                out[row] /= norm
        return out
