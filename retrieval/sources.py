"""Where a knowledge base comes from: the source folder's files (Markdown articles, FAQ
files), loaded into articles, and a digest that tells whether a built index is stale."""

from __future__ import annotations

import hashlib
from pathlib import Path

from retrieval.articles import Article, SourceError, parse_article, read_source
from retrieval.faq import load_faq

SOURCE_SUFFIXES = (".md", ".csv", ".json")


def source_files(directory: Path) -> list[Path]:
    """Markdown articles and FAQ files (CSV, JSON), in a stable order."""
    return sorted(
        p for p in directory.rglob("*") if p.is_file() and p.suffix.lower() in SOURCE_SUFFIXES
    )


def load_articles(directory: Path) -> list[Article]:
    """Load every article under `directory`; refuse bad files and an id twice in one
    language (translations share an id, each with its own `lang`)."""
    if not directory.is_dir():
        raise FileNotFoundError(f"knowledge base folder not found: {directory}")
    articles: list[Article] = []
    seen: dict[tuple[str, str], Path] = {}
    for path in source_files(directory):
        if path.suffix.lower() == ".md":
            found = [parse_article(path, read_source(path))]
        else:
            found = load_faq(path)
        for article in found:
            key = (article.id, article.lang)
            if key in seen:
                raise SourceError(
                    path,
                    2,
                    f"duplicate id {article.id!r} in language {article.lang!r} "
                    f"(also in {seen[key]})",
                )
            seen[key] = path
            articles.append(article)
    if not articles:
        raise SourceError(directory, 0, "no articles (*.md) or FAQ files (*.csv, *.json) found")
    return articles


def article_languages(articles: list[Article]) -> list[str]:
    """The languages a knowledge base's articles are written in, most articles first."""
    counts: dict[str, int] = {}
    for article in articles:
        counts[article.lang] = counts.get(article.lang, 0) + 1
    return sorted(counts, key=lambda lang: (-counts[lang], lang))


def sources_digest(directory: Path) -> str:
    """A hash of every source file, to tell whether the index is stale."""
    digest = hashlib.sha256()
    for path in source_files(directory):
        digest.update(str(path.relative_to(directory)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()
