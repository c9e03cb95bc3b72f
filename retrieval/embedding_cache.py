"""An encoder wrapper that keeps every vector it computed on disk, keyed by model and text.

For benchmarks: encoding CLINC150 or MASSIVE takes minutes on two cores, and a second run
needs none of it again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from retrieval.encoder import Encoder


class CachedEncoder:
    def __init__(self, encoder: Encoder, folder: Path, *, batch: int = 512) -> None:
        self.name = encoder.name
        self._encoder = encoder
        self.details = getattr(encoder, "details", None)
        self.sections_within_article = getattr(encoder, "sections_within_article", False)
        self.question_map = getattr(encoder, "question_map", None)
        self._batch = batch
        # The encoder's details (package, weights, centring) are part of the key: vectors of
        # another version of the same model are not reused.
        details = getattr(encoder, "details", None)
        described = json.dumps(details(), sort_keys=True) if callable(details) else ""
        identity = encoder.name + described
        digest = hashlib.sha256(identity.encode()).hexdigest()[:12]
        self._path = folder / f"embeddings-{digest}.npz"
        self._vectors: dict[str, np.ndarray] = {}
        if self._path.is_file():
            with np.load(self._path) as stored:
                for key, row in zip(stored["keys"], stored["vectors"], strict=True):
                    self._vectors[str(key)] = row

    @property
    def dimension(self) -> int:
        if self._vectors:
            return int(next(iter(self._vectors.values())).shape[0])
        return self._encoder.dimension

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.sha1(text.encode()).hexdigest()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        keys = [self._key(t) for t in texts]
        missing = list(dict.fromkeys(k for k in keys if k not in self._vectors))
        if missing:
            by_key = dict(zip(keys, texts, strict=True))
            for start in range(0, len(missing), self._batch):
                part = missing[start : start + self._batch]
                vectors = self._encoder.encode([by_key[k] for k in part])
                self._vectors.update(zip(part, vectors, strict=True))
            self._save()
        if not keys:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.asarray([self._vectors[k] for k in keys], dtype=np.float32)

    def _save(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        keys = np.array(list(self._vectors), dtype="U40")
        vectors = np.asarray(list(self._vectors.values()), dtype=np.float32)
        tmp = self._path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=keys, vectors=vectors)
        tmp.replace(self._path)
