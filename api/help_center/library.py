"""The articles the help center shows: the knowledge base's files, read again whenever the
hub serves a newly published index, so the help center and the bot show the same version."""

from __future__ import annotations

import logging
import threading
from typing import Any

from api.help_center import pages
from api.help_center.markdown import plain_text, render
from retrieval.articles import Article
from retrieval.index import Hit
from retrieval.sources import load_articles

log = logging.getLogger(__name__)
GENERAL = "General"


def _accepted(header: str) -> list[str]:
    """Accept-Language's languages, most wanted first (no q-value parsing beyond order)."""
    ranked = []
    for i, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if tag and tag != "*":
            ranked.append((-q, i, tag.lower()))
    return [tag for _, _, tag in sorted(ranked)]


class HelpLibrary:
    def __init__(self, site: pages.Site, kb_dir: Any) -> None:
        self.site = site
        self.kb_dir = kb_dir
        self._version: object = None
        self._articles: dict[str, dict[str, Article]] = {}
        self._html: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def refresh(self, version: object) -> HelpLibrary:
        """Read the files again when `version` (the served index's build time) changed; a
        broken file keeps the pages as they were."""
        if version == self._version and self._articles:
            return self
        with self._lock:
            if version == self._version and self._articles:
                return self
            try:
                articles = load_articles(self.kb_dir)
            except (OSError, ValueError) as error:
                log.error("help center kept its articles: %s", error)
                self._version = version
                return self
            by_id: dict[str, dict[str, Article]] = {}
            for article in articles:
                by_id.setdefault(article.id, {})[article.lang] = article
            self._articles, self._html, self._version = by_id, {}, version
        return self

    def by_id(self) -> dict[str, list[Article]]:
        return {i: list(v.values()) for i, v in self._articles.items()}

    def languages(self) -> list[str]:
        return sorted({lang for versions in self._articles.values() for lang in versions})

    def languages_of(self, article_id: str) -> list[str]:
        return sorted(self._articles.get(article_id, {}))

    def language(self, asked: str | None, accept_language: str) -> str:
        """The page's language: `?lang=` when the KB has it, else the browser's first one the
        KB has, else the KB's most common language."""
        available = self.languages()
        for wanted in ([asked] if asked else []) + _accepted(accept_language):
            for lang in available:
                if lang.lower() == wanted.lower() or lang.lower() == wanted.split("-")[0].lower():
                    return lang
        counts: dict[str, int] = {}
        for versions in self._articles.values():
            for lang in versions:
                counts[lang] = counts.get(lang, 0) + 1
        return max(counts, key=lambda k: (counts[k], k == "en")) if counts else "en"

    def version(self, article_id: str, lang: str | None) -> Article | None:
        """The article in `lang`, else in its first language."""
        versions = self._articles.get(article_id)
        if not versions:
            return None
        if lang in versions:
            return versions[lang]
        return versions.get("en") or next(iter(versions.values()))

    def categories(self, lang: str) -> dict[str, list[Article]]:
        """Articles by their first tag, categories and articles in alphabetical order."""
        grouped: dict[str, list[Article]] = {}
        for article_id in self._articles:
            article = self.version(article_id, lang)
            if article is None or "draft" in article.tags:
                continue
            name = article.tags[0].replace("-", " ").capitalize() if article.tags else GENERAL
            grouped.setdefault(name, []).append(article)
        return {k: sorted(v, key=lambda a: a.title.lower()) for k, v in sorted(grouped.items())}

    def body_html(self, article: Article) -> str:
        key = (article.id, article.lang)
        if key not in self._html:
            self._html[key] = render(article.body)
        return self._html[key]

    def found(self, hit: Hit | None) -> pages.Found | None:
        if hit is None:
            return None
        return pages.Found(
            hit.article_id, hit.title, hit.section, hit.anchor, plain_text(hit.snippet)
        )
