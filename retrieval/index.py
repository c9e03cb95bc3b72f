"""The knowledge index: article texts embedded into FAISS, persisted with a manifest.

Each article contributes several entries (its title, each of its alternative questions,
each chunk of its body); a query's score for an article is its best entry's. Builds are
written to a fresh version folder and published by atomically replacing the `CURRENT`
pointer, so a reader never sees half an index.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.articles import Article
from retrieval.encoder import Encoder

FORMAT_VERSION = 1
POINTER = "CURRENT"


@dataclass(frozen=True)
class Entry:
    article_id: str
    kind: str  # "title", "question" or "chunk"
    section: str | None
    text: str


@dataclass(frozen=True)
class ArticleInfo:
    id: str
    title: str
    url: str | None
    lead: str
    tags: tuple[str, ...]


@dataclass(frozen=True)
class Hit:
    article_id: str
    title: str
    score: float
    section: str | None
    snippet: str
    url: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def entries_for(article: Article) -> list[Entry]:
    entries = [Entry(article.id, "title", None, article.title)]
    entries += [Entry(article.id, "question", None, q) for q in article.questions]
    entries += [
        # The title gives a chunk the context its section text alone may lack.
        Entry(article.id, "chunk", c.section, f"{article.title}. {c.section or ''}\n{c.text}")
        for c in article.chunks
    ]
    return entries


class KnowledgeIndex:
    def __init__(
        self,
        articles: dict[str, ArticleInfo],
        entries: list[Entry],
        faiss_index: Any,
        manifest: dict[str, Any],
    ) -> None:
        self.articles = articles
        self.entries = entries
        self._faiss = faiss_index
        self.manifest = manifest

    @classmethod
    def build(
        cls, articles: Sequence[Article], encoder: Encoder, *, source_digest: str = ""
    ) -> KnowledgeIndex:
        import faiss

        entries = [entry for article in articles for entry in entries_for(article)]
        started = time.perf_counter()
        vectors = encoder.encode([e.text for e in entries])
        index = faiss.IndexFlatIP(vectors.shape[1])  # inner product of unit vectors = cosine
        index.add(vectors)
        infos = {a.id: ArticleInfo(a.id, a.title, a.url, a.lead, a.tags) for a in articles}
        manifest = {
            "format": FORMAT_VERSION,
            "model": encoder.name,
            "dimension": int(vectors.shape[1]),
            "articles": len(infos),
            "entries": len(entries),
            "source_digest": source_digest,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "build_seconds": round(time.perf_counter() - started, 3),
        }
        return cls(infos, entries, index, manifest)

    def search(self, query_vector: np.ndarray, k: int = 5) -> list[Hit]:
        """Best articles for an encoded query, one hit per article, best first."""
        depth = min(len(self.entries), max(k * 8, 32))
        scores, ids = self._faiss.search(query_vector.reshape(1, -1).astype(np.float32), depth)
        best: dict[str, tuple[float, Entry]] = {}
        for score, entry_id in zip(scores[0], ids[0], strict=True):
            if entry_id < 0:
                continue
            entry = self.entries[int(entry_id)]
            if entry.article_id not in best or score > best[entry.article_id][0]:
                best[entry.article_id] = (float(score), entry)
        ranked = sorted(best.values(), key=lambda pair: pair[0], reverse=True)[:k]
        hits = []
        for score, entry in ranked:
            info = self.articles[entry.article_id]
            snippet = info.lead if entry.kind != "chunk" else entry.text.split("\n", 1)[-1]
            hits.append(Hit(info.id, info.title, round(score, 4), entry.section, snippet, info.url))
        return hits

    # -- persistence -------------------------------------------------------------------

    def save(self, index_dir: Path, *, keep: int = 2) -> Path:
        import faiss

        index_dir.mkdir(parents=True, exist_ok=True)
        version = (
            index_dir / f"v{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{time.time_ns() % 10**6}"
        )
        staging = version.with_name(version.name + ".tmp")
        staging.mkdir()
        faiss.write_index(self._faiss, str(staging / "vectors.faiss"))
        (staging / "entries.json").write_text(
            json.dumps([asdict(e) for e in self.entries], ensure_ascii=False)
        )
        (staging / "articles.json").write_text(
            json.dumps([asdict(a) for a in self.articles.values()], ensure_ascii=False)
        )
        (staging / "manifest.json").write_text(json.dumps(self.manifest, indent=2))
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
        entries = [Entry(**e) for e in json.loads((version / "entries.json").read_text())]
        articles = {}
        for raw in json.loads((version / "articles.json").read_text()):
            raw["tags"] = tuple(raw["tags"])
            articles[raw["id"]] = ArticleInfo(**raw)
        return cls(articles, entries, faiss.read_index(str(version / "vectors.faiss")), manifest)


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
