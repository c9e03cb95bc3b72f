"""The help center (`FRONTLINE_HELP_PATH`, default /help): home, search with the bot's engine,
article pages with their sections linkable, "Was this article helpful?", a sitemap. Pages are
rendered from the knowledge base's files as the served index knows them, cached in memory per
published index, and sent with ETags."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.exc import IntegrityError

from api.help_center import pages
from api.help_center.library import HelpLibrary
from api.hub import Hub
from api.routes.deps import get_hub
from handoff import help_feedback
from handoff.models import utcnow

log = logging.getLogger(__name__)

HELP_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'self'"
)
POPULAR_DAYS = 30


def _html(request: Request, body: str, *, cache: bool = True) -> Response:
    etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'
    headers = {
        "ETag": etag,
        "Cache-Control": "public, max-age=60" if cache else "no-store",
        "Content-Security-Policy": HELP_CSP,
    }
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="text/html; charset=utf-8", headers=headers)


async def _count(hub: Hub, **kwargs: Any) -> None:
    """Counting must never cost the reader their page."""
    try:
        await hub.flow.run(help_feedback.count, **kwargs)
    except IntegrityError:  # two first views of the day at once: count again, once
        try:
            await hub.flow.run(help_feedback.count, **kwargs)
        except Exception:
            log.exception("help center counter not updated")
    except Exception:
        log.exception("help center counter not updated")


def help_router(library_of: Callable[[Hub], HelpLibrary], base: str) -> APIRouter:
    router = APIRouter(prefix=base, include_in_schema=False)

    def library(hub: Hub = Depends(get_hub)) -> HelpLibrary:
        return library_of(hub)

    @router.get("/theme.css")
    def theme(hub: Hub = Depends(get_hub)) -> Response:
        css = f":root {{ --brand: {hub.settings.help_color}; }}\n"
        return Response(
            css, media_type="text/css", headers={"Cache-Control": "public, max-age=300"}
        )

    @router.get("/")
    def home(
        request: Request,
        lang: str | None = Query(default=None, max_length=16),
        hub: Hub = Depends(get_hub),
        lib: HelpLibrary = Depends(library),
    ) -> Response:
        chosen = lib.language(lang, request.headers.get("accept-language", ""))
        with hub.sessions() as session:
            viewed = help_feedback.most_viewed(
                session, since=utcnow().date() - timedelta(days=POPULAR_DAYS)
            )
        popular = [a for a in (lib.version(i, chosen) for i, _ in viewed) if a is not None]
        return _html(request, pages.home(lib.site, lib.categories(chosen), popular, chosen))

    @router.get("/search")
    def search(
        request: Request,
        q: str = Query(default="", max_length=500),
        lang: str | None = Query(default=None, max_length=16),
        hub: Hub = Depends(get_hub),
        lib: HelpLibrary = Depends(library),
    ) -> Response:
        chosen = lib.language(lang, request.headers.get("accept-language", ""))
        query = " ".join(q.split())
        if not query:
            return RedirectResponse(f"{base}/", status_code=303)
        result = hub.knowledge.search(query, language=chosen)
        offered = hub.knowledge.worth_offering(result, 4)
        best = offered[0] if result.decision == "answer" and offered else None
        related = [h for h in offered if best is None or h.article_id != best.article_id]
        return _html(
            request,
            pages.search(
                lib.site, query, lib.found(best), [f for f in map(lib.found, related) if f], chosen
            ),
            cache=False,
        )

    @router.get("/articles/{article_id}")
    async def article(
        request: Request,
        article_id: str,
        lang: str | None = Query(default=None, max_length=16),
        voted: str | None = Query(default=None, max_length=8),
        hub: Hub = Depends(get_hub),
        lib: HelpLibrary = Depends(library),
    ) -> Response:
        chosen = lib.language(lang, request.headers.get("accept-language", ""))
        art = lib.version(article_id, chosen)
        if art is None:
            return Response(
                pages.not_found(lib.site, chosen), status_code=404,
                media_type="text/html; charset=utf-8",
                headers={"Content-Security-Policy": HELP_CSP},
            )  # fmt: skip
        await _count(hub, article_id=art.id, lang=art.lang, counter="views")
        body = pages.article(lib.site, art, lib.body_html(art), lib.languages_of(art.id), voted)
        return _html(request, body)

    @router.post("/articles/{article_id}/vote")
    async def vote(
        article_id: str,
        helpful: str = Form(pattern="^(yes|no)$"),
        lang: str = Form(default="", max_length=16),
        hub: Hub = Depends(get_hub),
        lib: HelpLibrary = Depends(library),
    ) -> Response:
        art = lib.version(article_id, lang or None)
        if art is None:
            return Response("no such article", status_code=404)
        counter = "helpful" if helpful == "yes" else "not_helpful"
        await _count(hub, article_id=art.id, lang=art.lang, counter=counter)
        target = pages.article_href(lib.site, art.id, art.lang) + "&voted=1#main"
        return RedirectResponse(target, status_code=303)

    @router.get("/sitemap.xml")
    def sitemap(
        request: Request, hub: Hub = Depends(get_hub), lib: HelpLibrary = Depends(library)
    ) -> Response:
        origin = (hub.settings.public_url or str(request.base_url)).rstrip("/")
        entries = []
        for article_id, versions in lib.by_id().items():
            locs = {
                v.lang: xml_escape(origin + pages.article_href(lib.site, article_id, v.lang))
                for v in versions
            }
            alternates = "".join(
                f'<xhtml:link rel="alternate" hreflang="{xml_escape(lang)}" href="{loc}"/>'
                for lang, loc in locs.items()
            )
            for v in versions:
                lastmod = f"<lastmod>{xml_escape(v.updated)}</lastmod>" if v.updated else ""
                loc = locs[v.lang]
                entries.append(f"<url><loc>{loc}</loc>{lastmod}{alternates}</url>")
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            'xmlns:xhtml="http://www.w3.org/1999/xhtml">' + "".join(entries) + "</urlset>\n"
        )
        return Response(
            xml, media_type="application/xml", headers={"Cache-Control": "public, max-age=300"}
        )

    return router
