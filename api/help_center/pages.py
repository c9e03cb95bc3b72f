"""The help center's HTML pages. Every text from the knowledge base or the visitor is
escaped; the only markup from an article is its Markdown rendered by `markdown.render`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from urllib.parse import quote, urlencode

from api.i18n import is_rtl
from api.i18n.catalogs import shared_catalogs
from handoff.texts import N_
from retrieval.articles import Article
from retrieval.languages import language_name

CURRENT = ' aria-current="page"'
# The pages' own words (the hub's catalogs translate them; N_ marks them for extraction,
# which does not look inside f-strings).
SKIP = N_("Skip to content")
SEARCH = N_("Search")
STILL_NEED_HELP = N_("Still need help?")
CHAT_WITH_US = N_("Chat with us")
MOST_READ = N_("Most read")
RESULTS_FOR = N_("Results for “{query}”")
BEST_ANSWER = N_("Best answer")
RELATED = N_("Related")
UPDATED = N_("Updated {date}")
WAS_IT_HELPFUL = N_("Was this article helpful?")
YES = N_("Yes")
NO = N_("No")
NO_SUCH_ARTICLE = N_("This article does not exist")
BACK_HOME = N_("Back to the help center")
CHAT_PITCH = N_(
    "Chat with our support team: the assistant answers at once, and a person takes over when "
    "it cannot."
)
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


# The default of FRONTLINE_HELP_TITLE: shown in the page's language (a title of one's own is
# shown as written).
DEFAULT_TITLE = N_("Help center")
# Where markup goes into a translated sentence once it is escaped (a private-use character).
_SLOT = "\ue000"


def _t(lang: str, msgid: str, **values: str) -> str:
    """`msgid` in `lang` from the hub's catalogs (English where it has none), filled in."""
    text = shared_catalogs().gettext(lang, msgid)
    return text.format(**values) if values else text


def _title(site: Site, lang: str) -> str:
    return _t(lang, site.title)


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
    """The shell: skip link, header with search, main, "Still need help?" with the widget,
    its words in `lang`."""
    searching = _t(lang, N_("Search the help center"))
    # What the chat's message box starts with, from an article's page.
    draft = _t(lang, N_("About “{title}”: "), title=context) if context else ""
    return (
        f'<!doctype html><html lang="{escape(lang)}" dir="{direction(lang)}"><head>'
        '<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title>"
        f'<meta name="description" content="{escape(description[:200])}">'
        '<link rel="icon" href="data:,">'
        f'<link rel="stylesheet" href="/static/help.css"><link rel="stylesheet" href="{site.base}/theme.css">'
        f"{head}</head><body>"
        f'<a class="skip" href="#main">{escape(_t(lang, SKIP))}</a>'
        f'<header class="help-top"><a class="help-home" href="{site.base}/">'
        f"{escape(_title(site, lang))}</a>"
        f'<form class="help-search" role="search" action="{site.base}/search" method="get">'
        f'<label for="q" class="visually-hidden">{escape(searching)}</label>'
        f'<input id="q" name="q" type="search" maxlength="500" value="{escape(query)}" '
        f'placeholder="{escape(searching)}">'
        f'<input type="hidden" name="lang" value="{escape(lang)}">'
        f'<button type="submit">{escape(_t(lang, SEARCH))}</button></form></header>'
        f'<main id="main" tabindex="-1">{main}</main>'
        '<aside class="help-more" aria-labelledby="more-title"><h2 id="more-title">'
        f"{escape(_t(lang, STILL_NEED_HELP))}</h2>"
        f"<p>{escape(_t(lang, CHAT_PITCH))}</p>"
        f'<button type="button" id="help-chat" data-draft="{escape(draft)}">'
        f"{escape(_t(lang, CHAT_WITH_US))}</button></aside>"
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
        '<section class="help-popular" aria-labelledby="popular"><h2 id="popular">'
        f"{escape(_t(lang, MOST_READ))}</h2>"
        f"{_list(site, popular, lang)}</section>"
        if popular
        else ""
    )
    title = _title(site, lang)
    main = f'<h1>{escape(title)}</h1>{most}<div class="help-categories">{blocks}</div>'
    return page(
        site, title=title, description=_t(lang, N_("{title}: answers to common questions."),
        title=title), main=main, lang=lang,
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
    parts = [f"<h1>{escape(_t(lang, RESULTS_FOR, query=query))}</h1>"]
    if best is not None:
        parts.append(
            '<section aria-labelledby="best"><h2 id="best">'
            f"{escape(_t(lang, BEST_ANSWER))}</h2>"
            f'<ul class="help-results help-best">{_found(site, best, lang)}</ul></section>'
        )
    if related:
        items = "".join(_found(site, hit, lang) for hit in related)
        parts.append(
            '<section aria-labelledby="related"><h2 id="related">'
            f"{escape(_t(lang, RELATED))}</h2>"
            f'<ul class="help-results">{items}</ul></section>'
        )
    if best is None and not related:
        nothing = _t(lang, N_("No article matches. Try other words, or chat with us below."))
        parts.append(f"<p>{escape(nothing)}</p>")
    return page(
        site, title=f"{query} · {_title(site, lang)}",
        description=_t(lang, N_("Search results for {query}"), query=query),
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
            f'lang="{escape(lang)}"{CURRENT if lang == art.lang else ""}>'
            f"{escape(language_name(lang))}</a></li>"
            for lang in languages
        )
        label = escape(_t(art.lang, N_("Languages")))
        switch = f'<nav class="help-langs" aria-label="{label}"><ul>{links}</ul></nav>'
    updated = ""
    if art.updated:
        # The date stays left to right inside a Persian sentence (2026-10-01, not 01-10-2026).
        day = escape(art.updated)
        when = f'<time datetime="{day}" dir="ltr">{day}</time>'
        sentence = escape(_t(art.lang, UPDATED, date=_SLOT)).replace(_SLOT, when)
        updated = f'<p class="help-updated">{sentence}</p>'
    if voted:
        thanks = escape(_t(art.lang, N_("Thanks for your feedback.")))
        feedback = f'<p class="help-thanks" role="status">{thanks}</p>'
    else:
        action = f"{site.base}/articles/{quote(art.id, safe='')}/vote"
        feedback = (
            f'<form class="help-vote" method="post" action="{escape(action)}">'
            f'<input type="hidden" name="lang" value="{escape(art.lang)}">'
            f"<fieldset><legend>{escape(_t(art.lang, WAS_IT_HELPFUL))}</legend>"
            '<button type="submit" name="helpful" value="yes">'
            f"{escape(_t(art.lang, YES))}</button> "
            '<button type="submit" name="helpful" value="no">'
            f"{escape(_t(art.lang, NO))}</button></fieldset></form>"
        )
    crumbs = escape(_t(art.lang, N_("Breadcrumb")))
    main = (
        f'<nav class="help-crumbs" aria-label="{crumbs}"><a href="{site.base}/">'
        f"{escape(_title(site, art.lang))}</a></nav>"
        f"{switch}<article><h1>{escape(art.title)}</h1>{updated}"
        f'<div class="help-body">{body_html}</div></article>{feedback}'
    )
    return page(
        site, title=f"{art.title} · {_title(site, art.lang)}", description=art.lead, main=main,
        lang=art.lang, head=_alternates(site, art.id, languages), context=art.title,
    )  # fmt: skip


def not_found(site: Site, lang: str = "en") -> str:
    missing = _t(lang, N_("Not found"))
    return page(
        site, title=f"{missing} · {_title(site, lang)}", description=missing,
        main=f"<h1>{escape(_t(lang, NO_SUCH_ARTICLE))}</h1>"
        f'<p><a href="{site.base}/">{escape(_t(lang, BACK_HOME))}</a></p>',
        lang=lang,
    )  # fmt: skip
