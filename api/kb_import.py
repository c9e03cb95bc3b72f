"""Importing an existing help site into the knowledge base: fetch the pages a sitemap (or a
list) names, keep each page's main text (trafilatura) as a Markdown article with the page as
its `url`, and compare with what an earlier import wrote, so a re-run changes only what
changed on the site."""

from __future__ import annotations

import hashlib
import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import yaml

from retrieval.kb_edit import write_atomically

MAX_PAGE_BYTES = 5_000_000
MAX_PAGES = 2_000
SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
IMPORTED_DIR = "imported"  # under the knowledge base's folder
# Fewer words than this is navigation or an empty page, not an answer.
MIN_WORDS = 12


class SiteImportError(Exception):
    """A site that cannot be imported: says which URL and why."""


@dataclass(frozen=True)
class Page:
    url: str
    html: str


@dataclass(frozen=True)
class Imported:
    id: str
    url: str
    text: str  # the whole Markdown file

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


@dataclass
class Plan:
    new: list[Imported] = field(default_factory=list)
    changed: list[Imported] = field(default_factory=list)
    unchanged: list[Imported] = field(default_factory=list)
    gone: list[Path] = field(default_factory=list)  # imported before, no longer on the site
    skipped: list[str] = field(default_factory=list)  # pages without main text, with why

    @property
    def writes(self) -> list[Imported]:
        return self.new + self.changed


def _fetch(client: httpx.Client, url: str) -> httpx.Response:
    if urlsplit(url).scheme not in ("http", "https"):
        raise SiteImportError(f"{url}: only http(s) addresses can be imported")
    try:
        response = client.get(url, follow_redirects=True)
    except httpx.HTTPError as error:
        raise SiteImportError(f"{url}: {error}") from error
    if response.status_code != 200:
        raise SiteImportError(f"{url}: HTTP {response.status_code}")
    if len(response.content) > MAX_PAGE_BYTES:
        raise SiteImportError(f"{url}: larger than {MAX_PAGE_BYTES} bytes")
    return response


def page_urls(client: httpx.Client, start: str) -> list[str]:
    """The pages of a sitemap (sitemap indexes followed), or `start` itself when it is a page."""
    response = _fetch(client, start)
    kind = response.headers.get("content-type", "")
    if "xml" not in kind and not start.endswith(".xml"):
        return [start]
    try:
        root = ET.fromstring(response.content)
    except ET.ParseError as error:
        raise SiteImportError(f"{start}: not a readable sitemap ({error})") from error
    locs = [(loc.text or "").strip() for loc in root.iter(f"{SITEMAP_NS}loc")]
    if root.tag == f"{SITEMAP_NS}sitemapindex":
        pages: list[str] = []
        for sitemap in locs:
            pages += page_urls(client, urljoin(start, sitemap))
        return pages[:MAX_PAGES]
    return [urljoin(start, loc) for loc in locs if loc][:MAX_PAGES]


def fetch_pages(client: httpx.Client, urls: Iterable[str]) -> list[Page]:
    return [Page(url, _fetch(client, url).text) for url in dict.fromkeys(urls)]


def article_id(url: str) -> str:
    """An id from the page's path: its last segments, letters and digits in any script."""
    path = urlsplit(url).path.rstrip("/")
    path = re.sub(r"\.(html?|php|aspx?)$", "", path, flags=re.IGNORECASE)
    words = re.findall(r"\w+", unicodedata.normalize("NFKC", path).lower())
    return "-".join(words[-6:])[:80] or "home"


def to_article(page: Page) -> Imported | None:
    """The page's main text as an article (None when it has none)."""
    import trafilatura

    document = trafilatura.bare_extraction(page.html, url=page.url, with_metadata=True)
    body = trafilatura.extract(
        page.html, url=page.url, output_format="markdown", include_formatting=True,
        include_links=True, include_tables=True, favor_recall=True,
    )  # fmt: skip
    if not body or not body.strip():
        return None
    title = (getattr(document, "title", None) or "").strip()
    lines = body.strip().splitlines()
    if lines and lines[0].startswith("# "):  # the page's own title heading
        title = title or lines[0][2:].strip()
        lines = lines[1:]
    text = "\n".join(lines).strip()
    if len(text.split()) < MIN_WORDS:
        return None
    title = title or article_id(page.url).replace("-", " ").capitalize()
    identifier = article_id(page.url)
    meta = {
        "id": identifier,
        "title": title,
        "questions": [title],
        "tags": ["imported"],
        "url": page.url,
    }
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False).strip()
    return Imported(identifier, page.url, f"---\n{front}\n---\n{text}\n")


def plan(kb_dir: Path, pages: Iterable[Page]) -> Plan:
    """What an import would do to `kb_dir/imported/`, without doing it."""
    target = kb_dir / IMPORTED_DIR
    result = Plan()
    seen: set[str] = set()
    for page in pages:
        article = to_article(page)
        if article is None:
            result.skipped.append(f"{page.url}: no main text found")
            continue
        if article.id in seen:
            result.skipped.append(f"{page.url}: same id {article.id!r} as another page")
            continue
        seen.add(article.id)
        path = target / f"{article.id}.md"
        if not path.exists():
            result.new.append(article)
        elif path.read_text(encoding="utf-8") != article.text:
            result.changed.append(article)
        else:
            result.unchanged.append(article)
    if target.is_dir():
        result.gone = sorted(p for p in target.glob("*.md") if p.stem not in seen)
    return result


def apply(kb_dir: Path, result: Plan, *, prune: bool = False) -> None:
    target = kb_dir / IMPORTED_DIR
    target.mkdir(parents=True, exist_ok=True)
    for article in result.writes:
        path = target / f"{article.id}.md"
        write_atomically(path, article.text)
    if prune:
        for path in result.gone:
            path.unlink()


def describe(result: Plan, say: Callable[[str], None]) -> None:
    say(
        f"{len(result.new)} new, {len(result.changed)} changed, {len(result.unchanged)} "
        f"unchanged, {len(result.gone)} no longer on the site, {len(result.skipped)} skipped"
    )
    for label, items in (("new", result.new), ("changed", result.changed)):
        for article in items:
            say(f"  {label:<8} {article.id}  {article.url}")
    for path in result.gone:
        say(f"  gone     {path.stem}  (kept; --prune removes it)")
    for reason in result.skipped:
        say(f"  skipped  {reason}")
