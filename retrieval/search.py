"""Answer, or escalate: the decision on top of the index.

The thinnest honest version: answer when the best article's cosine similarity clears a
threshold, else escalate. Calibrated confidence and `clarify` come with the KB engine issue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from retrieval.articles import load_articles, sources_digest
from retrieval.encoder import Encoder
from retrieval.index import Hit, KnowledgeIndex, read_manifest

Decision = Literal["answer", "clarify", "escalate"]
DEFAULT_ANSWER_THRESHOLD = 0.45


@dataclass(frozen=True)
class SearchResult:
    query: str
    decision: Decision
    confidence: float
    hits: list[Hit] = field(default_factory=list)

    @property
    def best(self) -> Hit | None:
        return self.hits[0] if self.hits else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "decision": self.decision,
            "confidence": self.confidence,
            "hits": [h.to_dict() for h in self.hits],
        }


class KnowledgeBase:
    """A loaded index and the encoder that matches it."""

    def __init__(
        self,
        index: KnowledgeIndex,
        encoder: Encoder,
        *,
        answer_threshold: float = DEFAULT_ANSWER_THRESHOLD,
    ) -> None:
        if index.manifest.get("model") != encoder.name:
            raise ValueError(
                f"index was built with {index.manifest.get('model')!r}, encoder is {encoder.name!r}"
            )
        self.index = index
        self.encoder = encoder
        self.answer_threshold = answer_threshold

    @classmethod
    def open(cls, index_dir: Path, encoder: Encoder, **kwargs: Any) -> KnowledgeBase:
        return cls(KnowledgeIndex.load(index_dir), encoder, **kwargs)

    def search(self, query: str, k: int = 5) -> SearchResult:
        query = query.strip()
        if not query:
            return SearchResult(query, "escalate", 0.0, [])
        hits = self.index.search(self.encoder.encode([query])[0], k=k)
        confidence = max(0.0, hits[0].score) if hits else 0.0
        decision: Decision = "answer" if confidence >= self.answer_threshold else "escalate"
        return SearchResult(query, decision, round(confidence, 4), hits)


def index_is_fresh(index_dir: Path, source_dir: Path, model: str) -> bool:
    manifest = read_manifest(index_dir)
    return (
        manifest is not None
        and manifest.get("model") == model
        and manifest.get("source_digest") == sources_digest(source_dir)
    )


def build_index(
    source_dir: Path, index_dir: Path, encoder: Encoder, *, force: bool = False
) -> tuple[KnowledgeIndex | None, bool]:
    """Build and publish the index unless it is already fresh; returns (index, built)."""
    if not force and index_is_fresh(index_dir, source_dir, encoder.name):
        return None, False
    digest = sources_digest(source_dir)
    articles = load_articles(source_dir)  # raises on a bad source: nothing half-built is saved
    index = KnowledgeIndex.build(articles, encoder, source_digest=digest)
    index.save(index_dir)
    return index, True
