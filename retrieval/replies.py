"""Past replies whose question is most like the customer's message: the second half of the
console's suggestions (the first is the knowledge base's search)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

from retrieval.encoder import Encoder

Item = TypeVar("Item", bound=Hashable)


@dataclass(frozen=True)
class Match(Generic[Item]):
    item: Item
    score: float


class QuestionMemory(Generic[Item]):
    """Vectors of past questions, kept between calls (least recently used dropped past
    `capacity`), so each question is encoded once however often it is compared. Items are
    keyed by themselves: an item whose text changed (e.g. erased) is encoded anew."""

    def __init__(self, encoder: Encoder, *, capacity: int = 20_000) -> None:
        self.encoder = encoder
        self.capacity = capacity
        self._vectors: OrderedDict[Item, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def most_similar(
        self,
        query: str,
        items: Sequence[Item],
        questions: Sequence[str],
        *,
        k: int = 3,
        floor: float = 0.0,
    ) -> list[Match[Item]]:
        """The `k` items whose question is nearest `query` (cosine at least `floor`), best
        first."""
        if not items:
            return []
        with self._lock:  # routes call this from several threads at once
            return self._most_similar(query, items, questions, k=k, floor=floor)

    def _most_similar(
        self, query: str, items: Sequence[Item], questions: Sequence[str], *, k: int, floor: float
    ) -> list[Match[Item]]:
        missing = [i for i, item in enumerate(items) if item not in self._vectors]
        if missing:
            vectors = self.encoder.encode([questions[i] for i in missing])
            for i, vector in zip(missing, vectors, strict=True):
                self._vectors[items[i]] = np.asarray(vector, dtype=np.float32)
        matrix = np.stack([self._vectors[item] for item in items])
        for item in items:
            self._vectors.move_to_end(item)
        while len(self._vectors) > self.capacity:
            self._vectors.popitem(last=False)
        scores = matrix @ self.encoder.encode([query])[0]
        matches: list[Match[Item]] = []
        for i in np.argsort(-scores):
            if len(matches) == k or scores[i] < floor:
                break
            matches.append(Match(items[int(i)], float(scores[i])))
        return matches
