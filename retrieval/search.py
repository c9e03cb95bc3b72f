"""Answer, clarify or escalate: the decision on top of the index."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from retrieval.calibration import (
    CANDIDATE_PROBABILITY,
    FALLBACK,
    TARGET_PRECISION,
    OperatingPoint,
)
from retrieval.encoder import AUTOMATIC, Encoder, choose_model
from retrieval.index import (
    FORMAT_VERSION,
    Hit,
    KnowledgeIndex,
    Progress,
    current_version,
    encoder_details,
    read_manifest,
)
from retrieval.sources import article_languages, load_articles, sources_digest

Decision = Literal["answer", "clarify", "escalate"]


@dataclass(frozen=True)
class Thresholds:
    """When to answer, offer choices, or hand over.

    Each index chooses its own at build time (retrieval.calibration, stored in its manifest);
    these defaults are the conservative fallback of a knowledge base too small to calibrate.
    """

    # The best article's probability needed to answer with it.
    answer: float = FALLBACK["answer"]
    # The summed probability of the two or three candidates needed to offer them as choices.
    clarify: float = FALLBACK["clarify"]
    # Below this cosine between the query and the best article's closest text, the scorer
    # is guessing among unrelated articles (out of scope): never answer.
    min_similarity: float = FALLBACK["min_similarity"]
    # A candidate below this probability is not worth offering.
    candidate: float = CANDIDATE_PROBABILITY
    # Choices are offered only when the closest offered article reaches this cosine (None:
    # `min_similarity`). A wrong choice costs a click, so it may be lower than the answer's.
    clarify_similarity: float | None = None
    # Below this fused maximum logit (the best article's, before the softmax) the question is
    # probably none of the articles': never answer. None: no such gate.
    min_logit: float | None = None

    @property
    def clarify_floor(self) -> float:
        return self.min_similarity if self.clarify_similarity is None else self.clarify_similarity

    @classmethod
    def of(cls, point: OperatingPoint | None) -> Thresholds:
        if point is None:
            return cls()
        return cls(
            answer=point.answer,
            clarify=point.clarify,
            min_similarity=point.min_similarity,
            candidate=point.candidate,
            clarify_similarity=point.clarify_similarity,
            min_logit=point.min_logit,
        )


@dataclass(frozen=True)
class ThresholdOverrides:
    """Thresholds configured by hand (settings); unset ones are the index's own."""

    answer: float | None = None
    clarify: float | None = None
    min_similarity: float | None = None
    clarify_similarity: float | None = None

    def apply(self, base: Thresholds) -> Thresholds:
        changes = {k: v for k, v in asdict(self).items() if v is not None}
        return replace(base, **changes) if changes else base


@dataclass(frozen=True)
class SearchResult:
    query: str
    decision: Decision
    confidence: float
    hits: list[Hit] = field(default_factory=list)
    # With `clarify`, the two or three articles to offer as choices.
    choices: list[Hit] = field(default_factory=list)

    @property
    def best(self) -> Hit | None:
        return self.hits[0] if self.hits else None

    @property
    def candidates(self) -> list[Hit]:
        """The articles to offer (clarify), or the one to answer with."""
        return self.choices if self.decision == "clarify" else self.hits[:1]

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "decision": self.decision,
            "confidence": self.confidence,
            "hits": [h.to_dict() for h in self.hits],
        }


def decide(query: str, hits: list[Hit], thresholds: Thresholds) -> SearchResult:
    """Answer when the best article is probable and close enough (and, with a logit floor,
    its fused logit reaches it); else offer the two or three plausible articles when
    together they are probable and one of them is close enough (its own, lower floor); else
    escalate."""
    if not hits:
        return SearchResult(query, "escalate", 0.0, hits)
    best = hits[0].score
    if (
        best >= thresholds.answer
        and hits[0].similarity >= thresholds.min_similarity
        and _logit_passes(hits[0], thresholds.min_logit)
    ):
        return SearchResult(query, "answer", best, hits)
    candidates = [h for h in hits[:3] if h.score >= thresholds.candidate]
    if (
        len(candidates) >= 2
        and sum(h.score for h in candidates) >= thresholds.clarify
        and max(h.similarity for h in candidates) >= thresholds.clarify_floor
    ):
        return SearchResult(query, "clarify", best, hits, candidates)
    return SearchResult(query, "escalate", best, hits)


def _logit_passes(hit: Hit, floor: float | None) -> bool:
    """No floor: passes. A hit without its logit (not from an index search) cannot show
    it reaches the floor: it does not pass."""
    return floor is None or (hit.logit is not None and hit.logit >= floor)


class KnowledgeBase:
    """A loaded index and the encoder that matches it.

    The encoder given is the configured one. It serves the index itself unless the index
    carries a model tuned to it (retrieval.tuning): then that model embeds the questions, and
    the given encoder, which knows how to load it, is kept to load the next one."""

    def __init__(
        self,
        index: KnowledgeIndex,
        encoder: Encoder,
        *,
        thresholds: Thresholds | None = None,
        overrides: ThresholdOverrides | None = None,
    ) -> None:
        """`thresholds` replaces the index's own operating point entirely; `overrides`
        replaces only the thresholds it sets."""
        if index.manifest.get("model") != encoder.name:
            raise ValueError(
                f"index was built with {index.manifest.get('model')!r}, encoder is {encoder.name!r}"
            )
        # What builds this knowledge base's next index (the hub's edits publish with it).
        self.builder = encoder
        # One pair, swapped at once: a search never meets a new index with an old encoder.
        self._served = (index, _serving_encoder(index, encoder))
        self._fixed = thresholds
        self.overrides = overrides or ThresholdOverrides()

    @property
    def index(self) -> KnowledgeIndex:
        return self._served[0]

    @property
    def encoder(self) -> Encoder:
        return self._served[1]

    @property
    def thresholds(self) -> Thresholds:
        base = self._fixed or Thresholds.of(self.index.operating_point)
        return self.overrides.apply(base)

    @classmethod
    def open(cls, index_dir: Path, encoder: Encoder, **kwargs: Any) -> KnowledgeBase:
        kb = cls(KnowledgeIndex.load(index_dir), encoder, **kwargs)
        kb._index_dir, kb._version = index_dir, kb.index.version
        return kb

    _index_dir: Path | None = None
    _version: Path | None = None
    _checked_at: float = 0.0

    def reload_if_published(self, every: float = 2.0) -> bool:
        """Switch to a newer published index (`kb build` while the hub runs); at most one
        look at the pointer per `every` seconds. Searches already running keep the old one."""
        now = time.monotonic()
        if self._index_dir is None or now - self._checked_at < every:
            return False
        self._checked_at = now
        version = current_version(self._index_dir)
        if version is None or version == self._version:
            return False
        index = KnowledgeIndex.load(self._index_dir)
        if index.manifest.get("model") != self.builder.name:
            raise ValueError(f"the new index in {version} was built with another model")
        self._served = (index, _serving_encoder(index, self.builder))
        self._version = index.version
        return True

    def search(self, query: str, k: int = 5, *, language: str | None = None) -> SearchResult:
        """The decision for `query`; hits are shown in `language` (the customer's) where
        the article has that translation (`Hit.lang` says which language each is in)."""
        query = query.strip()
        if not query:
            return SearchResult(query, "escalate", 0.0, [])
        # One query, one index, even if a rebuild is published meanwhile.
        index, encoder = self._served
        encoded = encoder.encode([query])
        # One query's matrix-vector products are too small to share among threads, and
        # idle BLAS threads left spinning slow the encoder's next query down (measured:
        # 27.8 ms instead of 13 ms per search at 100k entries on 2 cores).
        with _single_threaded_blas():
            vector = index.question_vectors(encoder, [query], encoded)[0]
            hits = index.search(query, vector, k=k, language=language)
        return decide(query, hits, self.thresholds)


def _serving_encoder(index: KnowledgeIndex, configured: Encoder) -> Encoder:
    """The encoder that embeds questions for `index`: the model tuned to it when it has one
    (just built, or saved in its version folder), else `configured`."""
    if index.tuned_encoder is not None:
        return index.tuned_encoder
    tuned = index.manifest.get("tuned_encoder")
    if tuned is None:
        return configured
    load = getattr(configured, "load_tuned", None)
    if index.version is None or not callable(load):
        raise ValueError(f"the index carries a tuned model that {configured.name!r} cannot load")
    served: Encoder = load(index.version / tuned["folder"])
    return served


_BLAS: Any = None


def _single_threaded_blas() -> Any:
    global _BLAS
    if _BLAS is None:
        from threadpoolctl import ThreadpoolController

        _BLAS = ThreadpoolController()  # inspects the loaded libraries once
    return _BLAS.limit(limits=1, user_api="blas")


def index_is_fresh(
    index_dir: Path,
    source_dir: Path,
    model: str,
    target_precision: float | None = None,
    serve_languages: Sequence[str] | None = None,
    details: dict[str, Any] | None = None,
) -> bool:
    """Whether the index was built from these sources by this model (and, given `details`,
    this exact encoder: the same model name with other centres gives other
    vectors), at this target and for these customers' languages."""
    manifest = read_manifest(index_dir)
    point = (manifest or {}).get("operating_point") or {}
    return (
        manifest is not None
        and manifest.get("format") == FORMAT_VERSION
        and manifest.get("model") == model
        and (details is None or manifest.get("encoder", {}) == details)
        and manifest.get("source_digest") == sources_digest(source_dir)
        and (target_precision is None or point.get("target_precision") == target_precision)
        and (
            serve_languages is None or manifest.get("serve_languages", []) == list(serve_languages)
        )
    )


def model_for_sources(spec: str, source_dir: Path, serve_languages: Sequence[str] = ()) -> str:
    """The encoder a knowledge base is built with: `spec`, or with `auto` the one its
    articles' languages and `serve_languages` (customers' other languages) need."""
    if spec not in AUTOMATIC:
        return spec
    return choose_model(spec, [*article_languages(load_articles(source_dir)), *serve_languages])


def model_for_index(spec: str, index_dir: Path) -> str:
    """The encoder to serve an index with: `spec`, or with `auto` the one the index was
    built with (read from its manifest; when there is no index yet, what `spec` gives an
    English one)."""
    if spec not in AUTOMATIC:
        return spec
    manifest = read_manifest(index_dir) or {}
    return str(manifest.get("model") or choose_model(spec, ["en"]))


def build_index(
    source_dir: Path,
    index_dir: Path,
    encoder: Encoder,
    *,
    force: bool = False,
    progress: Progress | None = None,
    say: Callable[[str], None] | None = None,
    target_precision: float = TARGET_PRECISION,
    serve_languages: Sequence[str] = (),
) -> tuple[KnowledgeIndex | None, bool]:
    """Build and publish the index unless it is already fresh; returns (index, built).

    Texts unchanged since the served index keep their vectors: only changed articles are
    embedded again.
    """
    details = encoder_details(encoder)
    if not force and index_is_fresh(
        index_dir, source_dir, encoder.name, target_precision, serve_languages, details
    ):
        return None, False
    digest = sources_digest(source_dir)
    articles = load_articles(source_dir)  # raises on a bad source: nothing half-built is saved
    previous = _previous(index_dir, encoder.name, details)
    index = KnowledgeIndex.build(
        articles,
        encoder,
        source_digest=digest,
        previous=previous,
        progress=progress,
        say=say,
        target_precision=target_precision,
        serve_languages=serve_languages,
    )
    index.save(index_dir)
    return index, True


def _previous(index_dir: Path, model: str, details: dict[str, Any]) -> KnowledgeIndex | None:
    """The served index, whose vectors a rebuild reuses: none when another encoder (or the
    same model with other centres) built it."""
    manifest = read_manifest(index_dir)
    if manifest is None or manifest.get("model") != model:
        return None
    if manifest.get("encoder", {}) != details:
        return None
    try:
        return KnowledgeIndex.load(index_dir)
    except (OSError, ValueError, KeyError):
        return None  # an unreadable or older index is simply rebuilt from scratch
