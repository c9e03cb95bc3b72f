"""The knowledge index: article texts embedded into FAISS, a BM25 index and a classifier,
persisted with a manifest.

Each article contributes several entries (its title, each alternative question, each chunk
of its body). Builds are written to a fresh version folder and published by atomically
replacing the `CURRENT` pointer, so a reader never sees half an index. A rebuild reuses the
vectors of entries whose text did not change, so only changed articles are re-embedded.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from retrieval import alignment, calibration, classifier, own_off_topic
from retrieval.articles import Article
from retrieval.encoder import Encoder
from retrieval.languages import primary, script_of
from retrieval.lexical import LexicalIndex, tokenize
from retrieval.sections import section_anchors, trim_to_sentences
from retrieval.sources import article_languages
from retrieval.tuned_build import TunedBuild, TuningEntries
from retrieval.tuning import ENCODER_FOLDER

# 4: entries and articles carry their language; the lexical index tokenizes per script.
FORMAT_VERSION = 4
POINTER = "CURRENT"
# Up to this many entries an exact (flat) FAISS index answers in well under a millisecond
# per thousand entries; above it HNSW keeps a query's passage lookup to a few hundred
# distance computations (see `make bench`).
EXACT_INDEX_MAX_ENTRIES = 20_000
# How much the BM25 score (scaled so the best article gets 1) adds to the classifier's logit,
# and the temperature of the softmax over articles: each index chooses its own at build time
# (retrieval.calibration); these are for an index built without calibration.
LEXICAL_WEIGHT = 1.0
CONFIDENCE_TEMPERATURE = 1.0
# Choosing an article's section: the chunk's cosine to the query plus this much of its BM25
# score (scaled by the best entry's); the lead keeps its place unless a section beats it by
# LEAD_MARGIN (a question about the article as a whole is answered by its lead).
SECTION_LEXICAL_WEIGHT = 0.1
LEAD_MARGIN = 0.03
# The answer shown: whole sentences up to this many characters.
SNIPPET_CHARACTERS = 600
# Nearest entries fetched to find each top article's passage; top articles missing from
# them are compared with their own few entries directly.
PASSAGE_DEPTH = 32
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class Entry:
    article_id: str
    kind: str  # "title", "question" or "chunk"
    section: str | None
    text: str
    anchor: str | None = None  # the section's GitHub-style slug, for chunks under a heading
    lang: str = "en"


@dataclass(frozen=True, slots=True)
class ArticleInfo:
    """An article (one id) with its translations: the fields are its primary language's
    (the knowledge base's main language when the article has it), `translations` holds
    every language's title, url and lead."""

    id: str
    title: str
    url: str | None
    lead: str
    tags: tuple[str, ...]
    lang: str = "en"
    translations: dict[str, dict[str, str | None]] = field(default_factory=dict)

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self.translations) or (self.lang,)

    def language_for(self, wanted: str | None) -> str:
        """The language to answer in: the customer's when a translation exists (a regional
        tag matching its language, "zh-CN" -> "zh"), else the primary one."""
        if wanted:
            if wanted in self.translations:
                return wanted
            base = primary(wanted)
            for lang in self.translations:
                if primary(lang) == base:
                    return lang
        return self.lang

    def text(self, lang: str) -> dict[str, str | None]:
        own = {"title": self.title, "url": self.url, "lead": self.lead}
        return self.translations.get(lang, own)


@dataclass(frozen=True, slots=True)
class Hit:
    article_id: str
    title: str
    score: float  # the article's probability under the fused scorer
    section: str | None
    snippet: str
    url: str | None
    similarity: float = 0.0  # cosine of the best-matching entry of this article
    anchor: str | None = None  # the section's anchor in the article's page
    lang: str = "en"  # the language of the title and snippet shown
    # The article's fused logit (classifier logit plus weighted BM25, before the softmax and
    # its temperature); the first hit's is the query's maximum. Not in `to_dict`.
    logit: float | None = None

    @property
    def link(self) -> str | None:
        """The article's url, pointing at the section when there is one."""
        if self.url is None or not self.anchor:
            return self.url
        return f"{self.url.split('#', 1)[0]}#{self.anchor}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "article_id": self.article_id,
            "title": self.title,
            "score": self.score,
            "section": self.section,
            "snippet": self.snippet,
            "url": self.link,
        }


def entries_for(article: Article) -> list[Entry]:
    lang = article.lang
    entries = [Entry(article.id, "title", None, article.title, lang=lang)]
    entries += [Entry(article.id, "question", None, q, lang=lang) for q in article.questions]
    anchors = section_anchors([c.section for c in article.chunks])
    entries += [
        # The title gives a chunk the context its section text alone may lack.
        Entry(
            article.id,
            "chunk",
            c.section,
            f"{article.title}. {c.section or ''}\n{c.text}",
            anchor,
            lang,
        )
        for c, anchor in zip(article.chunks, anchors, strict=True)
    ]
    return entries


def _text_key(model: str, text: str) -> str:
    return hashlib.sha256(f"{model}\0{text}".encode()).hexdigest()


def embed_entries(
    texts: Sequence[str],
    encoder: Encoder,
    *,
    reuse: dict[str, np.ndarray] | None = None,
    progress: Progress | None = None,
    batch: int = 256,
) -> tuple[np.ndarray, int]:
    """Vectors for `texts`, taking unchanged ones from `reuse`; returns (vectors, embedded)."""
    reuse = reuse or {}
    keys = [_text_key(encoder.name, t) for t in texts]
    missing = [i for i, k in enumerate(keys) if k not in reuse]
    fresh: dict[int, np.ndarray] = {}
    for start in range(0, len(missing), batch):
        part = missing[start : start + batch]
        for i, vector in zip(part, encoder.encode([texts[i] for i in part]), strict=True):
            fresh[i] = vector
        if progress is not None:
            progress(min(start + batch, len(missing)), len(missing))
    if not texts:
        return np.zeros((0, encoder.dimension), dtype=np.float32), 0
    rows = [fresh[i] if i in fresh else reuse[keys[i]] for i in range(len(texts))]
    return np.asarray(rows, dtype=np.float32), len(missing)


def _top(probabilities: np.ndarray, k: int) -> np.ndarray:
    """The `k` most probable articles, most probable first (a partial sort: at 10k articles
    a full one costs a tenth of a millisecond per query)."""
    if k >= len(probabilities):
        return np.argsort(-probabilities)
    chosen = np.argpartition(-probabilities, k)[:k]
    ordered: np.ndarray = chosen[np.argsort(-probabilities[chosen], kind="stable")]
    return ordered


def _faiss_index(vectors: np.ndarray) -> Any:
    import faiss

    dimension = vectors.shape[1]
    if len(vectors) <= EXACT_INDEX_MAX_ENTRIES:
        index: Any = faiss.IndexFlatIP(dimension)  # inner product of unit vectors = cosine
    else:
        # 8-bit scalar quantisation: a quarter of the memory of float vectors, and the
        # exact vectors stay on disk (memory-mapped) for the few rows a query reads.
        index = faiss.IndexHNSWSQ(
            dimension,
            faiss.ScalarQuantizer.QT_8bit,  # type: ignore[arg-type]
            32,
            faiss.METRIC_INNER_PRODUCT,
        )
        index.train(vectors)
        index.hnsw.efConstruction = 80
    index.add(vectors)
    return _searching(index)


def _searching(index: Any) -> Any:
    """The graph's search breadth: the passages' depth is enough, since an article whose
    entries the approximate search misses is compared with its own entries exactly
    (`_best_entries`); 64 cost twice the time at 100k entries for nothing more."""
    if hasattr(index, "hnsw"):
        index.hnsw.efSearch = PASSAGE_DEPTH
    return index


class KnowledgeIndex:
    def __init__(
        self,
        articles: list[ArticleInfo],
        entries: list[Entry],
        vectors: np.ndarray,
        faiss_index: Any,
        lexical: LexicalIndex,
        weights: np.ndarray,
        bias: np.ndarray,
        manifest: dict[str, Any],
    ) -> None:
        self.articles = articles
        self.article_ids = {a.id: i for i, a in enumerate(articles)}
        self.entries = entries
        self.entry_article = np.array(
            [self.article_ids[e.article_id] for e in entries], dtype=np.int64
        )
        # Entries are stored article by article: each article's entries are one slice, so
        # per-article maxima are one `reduceat` and an article's rows need no search.
        if len(entries) and np.any(np.diff(self.entry_article) < 0):
            raise ValueError("index entries are not grouped by article")
        self.article_starts = np.searchsorted(self.entry_article, np.arange(len(articles)))
        self.article_ends = np.append(self.article_starts[1:], len(entries))
        self.vectors = vectors
        self._faiss = faiss_index
        self.lexical = lexical
        # Column-major: the one-question product `weights @ vector` then reads the matrix in
        # the order OpenBLAS's single-threaded gemv is fastest at (measured on the bench's
        # 10,000 articles: 0.91 ms instead of 1.64 ms with a cold cache, which was half of a
        # search's own time at 100k entries; docs/performance.md, "Fifth round").
        self.weights = np.asfortranarray(weights)
        self.bias = bias
        self.manifest = manifest
        point = manifest.get("operating_point") or {}
        self._temperature = float(point.get("temperature", CONFIDENCE_TEMPERATURE))
        self._lexical_weight = float(point.get("lexical_weight", LEXICAL_WEIGHT))

    @classmethod
    def build(
        cls,
        articles: Sequence[Article],
        encoder: Encoder,
        *,
        source_digest: str = "",
        previous: KnowledgeIndex | None = None,
        progress: Progress | None = None,
        say: Callable[[str], None] | None = None,
        calibrate: bool = True,
        off_topic: Sequence[str] | None = None,
        target_precision: float = calibration.TARGET_PRECISION,
        serve_languages: Sequence[str] = (),
    ) -> KnowledgeIndex:
        """Embed, fit and, with `calibrate`, choose the operating point from the articles'
        own questions and the off-topic questions (default: the shipped ones in the articles'
        languages and in `serve_languages`, those customers also write in). `progress` hears
        of the embedding, `say` of each fine-tune of an encoder tuned to the articles."""
        started = time.perf_counter()
        languages = article_languages(list(articles))
        # Translations share an id: their entries are one article's, side by side.
        articles = sorted(articles, key=_first_seen_order(articles))
        entries = [entry for article in articles for entry in entries_for(article)]
        configured = encoder
        infos = article_infos(articles, languages)
        scripts = entry_scripts(entries)
        positions = {a.id: i for i, a in enumerate(infos)}
        labels = np.array([positions[e.article_id] for e in entries], dtype=np.int64)
        off_texts = (
            (
                list(off_topic)
                if off_topic is not None
                else calibration.off_topic_questions([*languages, *serve_languages])
            )
            if calibrate
            else []
        )
        tuning = TunedBuild.start(
            encoder,
            TuningEntries([e.text for e in entries], [e.kind for e in entries], labels),
            off_texts,
            say,
        )
        if tuning is not None:
            encoder, previous = tuning.final, None  # new weights: no vector is reused
        reuse = previous.vectors_by_text() if previous is not None else None
        vectors, embedded = embed_entries(
            [e.text for e in entries], encoder, reuse=reuse, progress=progress
        )
        weights, bias, kind = classifier.fit(vectors, labels, len(infos))
        entry_tokens = [tokenize(e.text) for e in entries]
        cross_validation = None
        coverage_limits: dict[str, Any] | None = None
        if calibrate:
            # Reused from the previous build like the entries' vectors (saved with the index).
            off_vectors, _ = embed_entries(off_texts, encoder, reuse=reuse)
            cross_validation = calibration.cross_validate(
                [e.text for e in entries],
                [e.kind for e in entries],
                vectors,
                labels,
                len(infos),
                off_texts,
                # Scored as customers' questions in those languages will be.
                alignment.map_questions(encoder, off_texts, off_vectors, scripts),
                fold_vectors=None if tuning is None else tuning.fold_vectors(off_texts),
                entry_tokens=entry_tokens,
                off_topic_folds=None if tuning is None else tuning.off_topic_folds,
            )
            own = (
                None  # given questions, or a tuned encoder (English, which has shipped ones)
                if off_topic is not None or tuning is not None
                else own_off_topic.in_place_of_shipped(
                    cross_validation,
                    languages,
                    [e.text for e in entries],
                    [e.kind for e in entries],
                    vectors,
                    labels,
                    entry_tokens,
                )
            )
            cross_validation = own or cross_validation
            choice = calibration.Choice(target=target_precision)
            point = calibration.choose(cross_validation, choice)
            if point.calibrated:
                limits = calibration.coverage_limits(cross_validation, point, choice)
                if own is not None:  # its own questions: "add it to that article" is no advice
                    limits = dataclasses.replace(limits, closest_off_topic=[])
                coverage_limits = _limits_for_manifest(limits, off_texts, infos)
        else:
            point = calibration.OperatingPoint(
                answer=calibration.FALLBACK["answer"],
                clarify=calibration.FALLBACK["clarify"],
                min_similarity=calibration.FALLBACK["min_similarity"],
                temperature=CONFIDENCE_TEMPERATURE,
                lexical_weight=LEXICAL_WEIGHT,
                calibrated=False,
                target_precision=target_precision,
                note="built without calibration",
            )
        manifest = {
            "format": FORMAT_VERSION,
            "model": encoder.name,
            "dimension": int(vectors.shape[1]),
            "articles": len(infos),
            "languages": languages,
            "serve_languages": list(serve_languages),
            "scripts": scripts,
            "encoder": encoder_details(configured),
            "sections_within_article": bool(getattr(encoder, "sections_within_article", False)),
            "entries": len(entries),
            "embedded": embedded,
            "classifier": kind,
            "dense_index": "flat" if len(entries) <= EXACT_INDEX_MAX_ENTRIES else "hnsw",
            "source_digest": source_digest,
            "article_digests": {_digest_key(a): _article_digest(a) for a in articles},
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "build_seconds": 0.0,
            "operating_point": point.to_dict(),
        }
        if coverage_limits is not None:
            manifest["coverage_limits"] = coverage_limits
        index = cls(
            infos,
            entries,
            vectors,
            _faiss_index(vectors),
            LexicalIndex.from_tokens(entry_tokens),
            weights,
            bias,
            manifest,
        )
        index.cross_validation = cross_validation
        if tuning is not None:
            # The folder lives as long as the index, which copies it into its version when
            # it is saved.
            index.tuned_encoder, index.tuned_folder = tuning.final, tuning.folder
            index._tuning = tuning
            manifest["tuned_encoder"] = tuning.summary()
        if calibrate:
            index.off_topic_vectors = {
                _text_key(encoder.name, t): v for t, v in zip(off_texts, off_vectors, strict=True)
            }
        manifest["build_seconds"] = round(time.perf_counter() - started, 3)
        return index

    # The held-out scores the operating point was chosen from (after a build, not saved).
    cross_validation: calibration.CrossValidation | None = None
    # The off-topic questions' vectors by text key, kept for the next build.
    off_topic_vectors: dict[str, np.ndarray] | None = None
    # The model tuned to this knowledge base (retrieval.tuning) after a build, and its
    # folder, saved with the index; a loaded index's is in its version folder.
    tuned_encoder: Encoder | None = None
    tuned_folder: Path | None = None
    _tuning: TunedBuild | None = None
    # The version folder a loaded index was read from.
    version: Path | None = None

    @property
    def operating_point(self) -> calibration.OperatingPoint | None:
        raw = self.manifest.get("operating_point")
        return calibration.OperatingPoint.from_dict(raw) if raw else None

    def set_operating_point(self, point: calibration.OperatingPoint) -> None:
        self.manifest["operating_point"] = point.to_dict()
        self._temperature, self._lexical_weight = point.temperature, point.lexical_weight

    def question_vectors(
        self, encoder: Encoder, texts: Sequence[str], vectors: np.ndarray
    ) -> np.ndarray:
        """Customers' questions' vectors as this index compares them: one written in a
        script none of its titles and questions is in is mapped towards English
        (`retrieval.alignment`; an index built before `scripts` were recorded maps none)."""
        return alignment.map_questions(encoder, texts, vectors, self.manifest.get("scripts", []))

    def vectors_by_text(self) -> dict[str, np.ndarray]:
        model = str(self.manifest["model"])
        return {
            **(self.off_topic_vectors or {}),
            **{
                _text_key(model, e.text): v for e, v in zip(self.entries, self.vectors, strict=True)
            },
        }

    def probabilities(self, query: str, query_vector: np.ndarray) -> np.ndarray:
        """The fused scorer: classifier logits plus scaled BM25, softmaxed over articles."""
        return self._scores(query, query_vector)[0]

    def _scores(
        self, query: str, query_vector: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """(article probabilities, every entry's BM25 score or None, fused logits)."""
        logits = self.weights @ query_vector + self.bias
        lexical = self.lexical.scores(query)
        if lexical is not None:
            per_article = np.maximum.reduceat(lexical, self.article_starts)
            top = per_article.max()
            if top > 0:
                logits = logits + self._lexical_weight * per_article / top
        shifted = (logits - logits.max()) / self._temperature
        exp = np.exp(shifted)
        result: np.ndarray = exp / exp.sum()
        return result, lexical, logits

    def search(
        self, query: str, query_vector: np.ndarray, k: int = 5, *, language: str | None = None
    ) -> list[Hit]:
        """Best articles for a query, one hit per article, most probable first; each shown
        in `language` when it has that translation, else in its primary language."""
        query_vector = np.asarray(query_vector, dtype=np.float32)
        probabilities, lexical, logits = self._scores(query, query_vector)
        top = _top(probabilities, k)
        passages = self._best_entries(query_vector, set(top.tolist()))
        # Once, not once per hit: a pass over every entry's score (100,000 at the largest).
        lexical_top = float(lexical.max()) if lexical is not None else 0.0
        hits = []
        for article in top:
            info = self.articles[article]
            lang = info.language_for(language)
            shown = info.text(lang)
            _, similarity = passages.get(int(article), (None, 0.0))
            entry = self._best_section(int(article), query_vector, lexical, lexical_top, lang)
            if entry is None:
                section, snippet, anchor = None, str(shown["lead"]), None
            else:
                section, anchor = entry.section, entry.anchor
                snippet = trim_to_sentences(entry.text.split("\n", 1)[-1], SNIPPET_CHARACTERS)
            hits.append(
                Hit(
                    info.id,
                    str(shown["title"]),
                    round(float(probabilities[article]), 4),
                    section,
                    snippet,
                    shown["url"],
                    round(similarity, 4),
                    anchor,
                    lang,
                    round(float(logits[article]), 4),
                )
            )
        return hits

    def _best_section(
        self,
        article: int,
        query_vector: np.ndarray,
        lexical: np.ndarray | None,
        lexical_top: float,
        lang: str | None = None,
    ) -> Entry | None:
        """The article's chunk (in `lang`) that answers: the closest to the query, BM25
        breaking near-ties, the lead unless another section is clearly better. With an
        encoder that asks for it (the multilingual one), a question typical of the article
        gets the lead, and closeness is measured within the article (`_within_article`)."""
        start, end = int(self.article_starts[article]), int(self.article_ends[article])
        chunks = [
            i
            for i in range(start, end)
            if self.entries[i].kind == "chunk" and (lang is None or self.entries[i].lang == lang)
        ]
        if not chunks:
            return None
        if len(chunks) == 1:
            return self.entries[chunks[0]]
        parts = np.asarray(self.vectors[chunks], dtype=np.float32)
        leads = [p for p, i in enumerate(chunks) if self.entries[i].section is None]
        asked = [
            i
            for i in range(start, end)
            if self.entries[i].kind in ("question", "title")
            and (lang is None or self.entries[i].lang == lang)
        ]
        if asked and self.manifest.get(
            "sections_within_article", self.manifest.get("lead_on_own_question")
        ):
            own = np.asarray(self.vectors[asked], dtype=np.float32)
            if leads and _about_the_whole_article(own, query_vector):
                return self.entries[chunks[leads[0]]]
            scores = _within_article(parts, own, query_vector)
        else:
            scores = parts @ query_vector
        if lexical is not None and lexical_top > 0:
            scores = scores + SECTION_LEXICAL_WEIGHT * lexical[chunks] / lexical_top
        for position in leads:
            scores[position] += LEAD_MARGIN
        return self.entries[chunks[int(np.argmax(scores))]]

    def article_hit(self, article_id: str, language: str | None = None) -> Hit | None:
        position = self.article_ids.get(article_id)
        if position is None:
            return None
        info = self.articles[position]
        lang = info.language_for(language)
        shown = info.text(lang)
        return Hit(
            info.id,
            str(shown["title"]),
            1.0,
            None,
            str(shown["lead"]),
            shown["url"],
            1.0,
            lang=lang,
        )

    def _best_entries(
        self, query_vector: np.ndarray, articles: set[int]
    ) -> dict[int, tuple[int, float]]:
        """For each wanted article, its entry closest to the query (the passage to show)."""
        depth = min(len(self.entries), PASSAGE_DEPTH)
        scores, ids = self._faiss.search(query_vector.reshape(1, -1), depth)
        found: dict[int, tuple[int, float]] = {}
        for score, entry_id in zip(scores[0], ids[0], strict=True):
            if entry_id < 0:
                continue
            article = int(self.entry_article[entry_id])
            if article in articles and article not in found:
                found[article] = (int(entry_id), float(score))
        rest = sorted(articles - found.keys())
        if rest:
            # Not among the nearest entries: compare with their own entries directly, in
            # one product (one memory-mapped read instead of one per article).
            spans = [(int(self.article_starts[a]), int(self.article_ends[a])) for a in rest]
            rows = np.concatenate([np.arange(start, end) for start, end in spans])
            sims = np.asarray(self.vectors[rows], dtype=np.float32) @ query_vector
            offset = 0
            for article, (start, end) in zip(rest, spans, strict=True):
                own = sims[offset : offset + end - start]
                best = int(np.argmax(own))
                found[article] = (start + best, float(own[best]))
                offset += end - start
        return found

    # -- persistence -------------------------------------------------------------------

    def save(self, index_dir: Path, *, keep: int = 2) -> Path:
        import faiss

        index_dir.mkdir(parents=True, exist_ok=True)
        stamp = f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{time.time_ns() % 10**6}"
        version = index_dir / f"v{stamp}"
        staging = index_dir / f".staging-{stamp}"
        staging.mkdir()
        faiss.write_index(self._faiss, str(staging / "vectors.faiss"))
        np.save(staging / "vectors.npy", self.vectors)
        np.savez(staging / "classifier.npz", weights=self.weights, bias=self.bias)
        self.lexical.save(staging)
        if self.tuned_folder is not None:
            shutil.copytree(self.tuned_folder, staging / ENCODER_FOLDER)
        if self.off_topic_vectors:
            np.savez(
                staging / "off_topic.npz",
                keys=np.array(list(self.off_topic_vectors)),
                vectors=np.asarray(list(self.off_topic_vectors.values()), dtype=np.float32),
            )
        (staging / "entries.json").write_text(
            json.dumps([asdict(e) for e in self.entries], ensure_ascii=False), encoding="utf-8"
        )
        (staging / "articles.json").write_text(
            json.dumps([asdict(a) for a in self.articles], ensure_ascii=False), encoding="utf-8"
        )
        (staging / "manifest.json").write_text(
            json.dumps(self.manifest, indent=2, ensure_ascii=False), encoding="utf-8"
        )
        staging.rename(version)
        pointer_tmp = index_dir / f".{POINTER}.tmp"
        pointer_tmp.write_text(version.name)
        os.replace(pointer_tmp, index_dir / POINTER)
        _prune(index_dir, keep=keep, current=version.name)
        return version

    @classmethod
    def load(cls, index_dir: Path) -> KnowledgeIndex:
        import faiss

        version = current_version(index_dir)
        if version is None:
            raise FileNotFoundError(f"no index built in {index_dir} (run 'frontline kb build')")
        manifest = json.loads((version / "manifest.json").read_text())
        if manifest.get("format") != FORMAT_VERSION:
            raise ValueError(f"index in {version} has format {manifest.get('format')}; rebuild it")
        entries = [
            Entry(**e) for e in json.loads((version / "entries.json").read_text(encoding="utf-8"))
        ]
        articles = []
        for raw in json.loads((version / "articles.json").read_text(encoding="utf-8")):
            raw["tags"] = tuple(raw["tags"])
            articles.append(ArticleInfo(**raw))
        model = np.load(version / "classifier.npz")
        off_topic = None
        if (version / "off_topic.npz").is_file():
            with np.load(version / "off_topic.npz") as stored:
                off_topic = dict(zip(map(str, stored["keys"]), stored["vectors"], strict=True))
        index = cls(
            articles,
            entries,
            # Memory-mapped: read only for incremental rebuilds and an article's own rows.
            np.load(version / "vectors.npy", mmap_mode="r"),
            _searching(faiss.read_index(str(version / "vectors.faiss"))),
            LexicalIndex.load(version),
            model["weights"],
            model["bias"],
            manifest,
        )
        index.off_topic_vectors = off_topic
        index.version = version
        return index


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return np.asarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)


def _about_the_whole_article(own: np.ndarray, query: np.ndarray) -> bool:
    """Whether the query is at least as close to the centre of the article's own questions
    (and title) as each of them is: a question typical of the article as a whole, which its
    lead answers. (The tolerance is float32 rounding's: an own question asked as it is
    must count.)"""
    centre = _unit(own.mean(axis=0))
    return float(query @ centre) >= float((own @ centre).max()) - 1e-5


def _within_article(parts: np.ndarray, own: np.ndarray, query: np.ndarray) -> np.ndarray:
    """The query's cosine to each of the article's chunks, with what they all share taken
    away: the chunks' mean from each chunk, and the mean of the article's own questions (and
    title) from the query. With the multilingual encoder, the plain cosines follow the
    article's topic more than what tells one section from another ("How do I reset my
    password?" nearer "Change a password you know" than the lead); measured from the
    article's centres, what is left is what the question asks of this article. MiniLM's
    plain cosines did better than these, so its indexes keep them (docs/kb-engine.md, "The
    section that answers")."""
    within: np.ndarray = _unit(parts - parts.mean(axis=0)) @ _unit(query - own.mean(axis=0))
    return within


def _article_digest(article: Article) -> str:
    return hashlib.sha256(
        json.dumps([article.title, article.questions, article.body, article.url]).encode()
    ).hexdigest()[:16]


def _digest_key(article: Article) -> str:
    return article.id if article.lang == "en" else f"{article.id}@{article.lang}"


def _first_seen_order(articles: Sequence[Article]) -> Callable[[Article], int]:
    first: dict[str, int] = {}
    for article in articles:
        first.setdefault(article.id, len(first))
    return lambda article: first[article.id]


def article_infos(articles: Sequence[Article], languages: Sequence[str]) -> list[ArticleInfo]:
    """One ArticleInfo per id (in order of first appearance) with all its translations;
    its primary language is the knowledge base's most used one that it has."""
    by_id: dict[str, list[Article]] = {}
    for article in articles:
        by_id.setdefault(article.id, []).append(article)
    rank = {lang: i for i, lang in enumerate(languages)}
    infos = []
    for article_id, versions in by_id.items():
        main = min(versions, key=lambda a: rank.get(a.lang, len(rank)))
        translations: dict[str, dict[str, str | None]] = {
            a.lang: {"title": a.title, "url": a.url, "lead": a.lead} for a in versions
        }
        tags = tuple(dict.fromkeys(t for a in versions for t in a.tags))
        infos.append(
            ArticleInfo(article_id, main.title, main.url, main.lead, tags, main.lang, translations)
        )
    return infos


def _limits_for_manifest(
    limits: calibration.CoverageLimits, off_texts: Sequence[str], infos: Sequence[ArticleInfo]
) -> dict[str, Any]:
    """`coverage_limits` in the manifest: what binds, with texts and article ids."""
    return {
        "without_bound": limits.without_bound,
        "without_budget": limits.without_budget,
        "off_topic_without_budget": limits.off_topic_without_budget,
        "closest_off_topic": [
            {
                "question": off_texts[question],
                "article": infos[article].id,
                "title": infos[article].title,
                "similarity": round(similarity, 3),
            }
            for question, article, similarity in limits.closest_off_topic
        ],
    }


def entry_scripts(entries: Sequence[Entry]) -> list[str]:
    """The scripts the knowledge base's titles and questions are written in (its sections
    may quote a product name in another script; its questions are how it is asked)."""
    found = {script_of(e.text) for e in entries if e.kind in ("title", "question")}
    return sorted(found - {""})


def encoder_details(encoder: Encoder) -> dict[str, Any]:
    """What the index records about the encoder that built it (beyond its name)."""
    details = getattr(encoder, "details", None)
    return dict(details()) if callable(details) else {}


def current_version(index_dir: Path) -> Path | None:
    pointer = index_dir / POINTER
    if not pointer.is_file():
        return None
    version = index_dir / pointer.read_text().strip()
    return version if version.is_dir() else None


def read_manifest(index_dir: Path) -> dict[str, Any] | None:
    version = current_version(index_dir)
    if version is None:
        return None
    manifest: dict[str, Any] = json.loads((version / "manifest.json").read_text())
    return manifest


def _prune(index_dir: Path, *, keep: int, current: str) -> None:
    # Older versions stay a little while: a reader may have just read the old pointer.
    versions = sorted(
        (p for p in index_dir.iterdir() if p.is_dir() and p.name.startswith("v")),
        key=lambda p: p.stat().st_mtime,
    )
    for old in versions[:-keep]:
        if old.name != current:
            shutil.rmtree(old, ignore_errors=True)
