"""The help center's HTML pages. Every text from the knowledge base or the visitor is
escaped; the only markup from an article is its Markdown rendered by `markdown.render`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from urllib.parse import quote, urlencode

from api.i18n import is_rtl
from retrieval.articles import Article

CURRENT = ' aria-current="page"'
SEPARATOR = "\u203a"  # the single right-pointing angle quotation mark between crumbs


@dataclass(frozen=True)
class Site:
    base: str  # e.g. "/help"
    title: str
    hub: str  # the hub's address for the widget ("" = this origin)


@dataclass(frozen=True)
class Found:
    """A search result as the help center shows it."""

    article_id: str
    title: str
    section: str | None
    anchor: str | None
    snippet: str


def direction(lang: str) -> str:
    return "rtl" if is_rtl(lang) else "ltr"


def article_href(
    site: Site, article_id: str, lang: str | None = None, anchor: str | None = None
) -> str:
    href = f"{site.base}/articles/{quote(article_id, safe='')}"
    if lang:
        href += "?" + urlencode({"lang": lang})
    return href + (f"#{quote(anchor, safe='')}" if anchor else "")


def _alternates(site: Site, article_id: str, languages: Sequence[str]) -> str:
    return "".join(
        f'<link rel="alternate" hreflang="{escape(lang)}" '
        f'href="{escape(article_href(site, article_id, lang))}">'
        for lang in languages
    )


def page(
    site: Site,
    *,
    title: str,
    description: str,
    main: str,
    lang: str = "en",
    head: str = "",
    query: str = "",
    context: str = "",
) -> str:
    """The shell: skip link, header with search, main, "Still need help?" with the widget."""
    return (
        f'<!doctype html><html lang="{escape(lang)}" dir="{direction(lang)}"><head>'
        '<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title>"
        f'<meta name="description" content="{escape(description[:200])}">'
        '<link rel="icon" href="data:,">'
        f'<link rel="stylesheet" href="/static/help.css"><link rel="stylesheet" href="{site.base}/theme.css">'
        f"{head}</head><body>"
        '<a class="skip" href="#main">Skip to content</a>'
        f'<header class="help-top"><a class="help-home" href="{site.base}/">{escape(site.title)}</a>'
        f'<form class="help-search" role="search" action="{site.base}/search" method="get">'
        '<label for="q" class="visually-hidden">Search the help center</label>'
        f'<input id="q" name="q" type="search" maxlength="500" value="{escape(query)}" '
        'placeholder="Search the help center">'
        f'<input type="hidden" name="lang" value="{escape(lang)}">'
        '<button type="submit">Search</button></form></header>'
        f'<main id="main" tabindex="-1">{main}</main>'
        '<aside class="help-more" aria-labelledby="more-title"><h2 id="more-title">Still need help?</h2>'
        "<p>Chat with our support team: the assistant answers at once, and a person takes over "
        "when it cannot.</p>"
        f'<button type="button" id="help-chat" data-context="{escape(context)}">Chat with us</button></aside>'
        '<script type="module" src="/static/help.js"></script>'
        f'<script src="/static/widget.js" data-hub="{escape(site.hub)}" data-lang="{escape(lang)}" defer></script>'
        "</body></html>"
    )


def _list(site: Site, articles: Iterable[Article], lang: str | None = None) -> str:
    items = "".join(
        f'<li><a href="{escape(article_href(site, a.id, lang))}">{escape(a.title)}</a></li>'
        for a in articles
    )
    return f'<ul class="help-list">{items}</ul>'


def home(
    site: Site, categories: dict[str, list[Article]], popular: list[Article], lang: str
) -> str:
    blocks = "".join(
        f'<section class="help-category" aria-labelledby="cat-{i}"><h2 id="cat-{i}">'
        f"{escape(name)}</h2>{_list(site, articles, lang)}</section>"
        for i, (name, articles) in enumerate(categories.items())
    )
    most = (
        '<section class="help-popular" aria-labelledby="popular"><h2 id="popular">Most read</h2>'
        f"{_list(site, popular, lang)}</section>"
        if popular
        else ""
    )
    main = f'<h1>{escape(site.title)}</h1>{most}<div class="help-categories">{blocks}</div>'
    return page(
        site, title=site.title, description=f"{site.title}: answers to common questions.",
        main=main, lang=lang,
    )  # fmt: skip


def _found(site: Site, hit: Found, lang: str) -> str:
    where = (
        f' <span class="help-section">{SEPARATOR} {escape(hit.section)}</span>'
        if hit.section
        else ""
    )
    href = article_href(site, hit.article_id, lang, hit.anchor)
    return (
        f'<li><a href="{escape(href)}">{escape(hit.title)}</a>{where}'
        f'<p class="help-snippet">{escape(hit.snippet)}</p></li>'
    )


def search(site: Site, query: str, best: Found | None, related: list[Found], lang: str) -> str:
    parts = [f"<h1>Results for “{escape(query)}”</h1>"]
    if best is not None:
        parts.append(
            '<section aria-labelledby="best"><h2 id="best">Best answer</h2>'
            f'<ul class="help-results help-best">{_found(site, best, lang)}</ul></section>'
        )
    if related:
        items = "".join(_found(site, hit, lang) for hit in related)
        parts.append(
            '<section aria-labelledby="related"><h2 id="related">Related</h2>'
            f'<ul class="help-results">{items}</ul></section>'
        )
    if best is None and not related:
        parts.append("<p>No article matches. Try other words, or chat with us below.</p>")
    return page(
        site, title=f"{query} · {site.title}", description=f"Search results for {query}",
        main="".join(parts), lang=lang, query=query,
        head='<meta name="robots" content="noindex">',
    )  # fmt: skip


def article(
    site: Site, art: Article, body_html: str, languages: Sequence[str], voted: str | None
) -> str:
    switch = ""
    if len(languages) > 1:
        links = "".join(
            f'<li><a href="{escape(article_href(site, art.id, lang))}" hreflang="{escape(lang)}" '
            f'lang="{escape(lang)}"{CURRENT if lang == art.lang else ""}>{escape(lang)}</a></li>'
            for lang in languages
        )
        switch = f'<nav class="help-langs" aria-label="Languages"><ul>{links}</ul></nav>'
    updated = f'<p class="help-updated">Updated {escape(art.updated)}</p>' if art.updated else ""
    if voted:
        feedback = '<p class="help-thanks" role="status">Thanks for your feedback.</p>'
    else:
        action = f"{site.base}/articles/{quote(art.id, safe='')}/vote"
        feedback = (
            f'<form class="help-vote" method="post" action="{escape(action)}">'
            f'<input type="hidden" name="lang" value="{escape(art.lang)}">'
            "<fieldset><legend>Was this article helpful?</legend>"
            '<button type="submit" name="helpful" value="yes">Yes</button> '
            '<button type="submit" name="helpful" value="no">No</button></fieldset></form>'
        )
    main = (
        f'<nav class="help-crumbs" aria-label="Breadcrumb"><a href="{site.base}/">{escape(site.title)}</a></nav>'
        f"{switch}<article><h1>{escape(art.title)}</h1>{updated}"
        f'<div class="help-body">{body_html}</div></article>{feedback}'
    )
    return page(
        site, title=f"{art.title} · {site.title}", description=art.lead, main=main,
        lang=art.lang, head=_alternates(site, art.id, languages), context=art.title,
    )  # fmt: skip


def not_found(site: Site) -> str:
    return page(
        site, title=f"Not found · {site.title}", description="Not found",
        main="<h1>This article does not exist</h1>"
        f'<p><a href="{site.base}/">Back to the help center</a></p>',
    )  # fmt: skip
