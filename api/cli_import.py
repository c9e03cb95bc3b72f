"""`frontline kb import URL`: bring an existing help site into the knowledge base."""

from __future__ import annotations

from pathlib import Path

import httpx
import typer

from api import kb_import
from api.cli_common import build_kb_index, fail
from api.settings import Settings


def kb_import_site(
    url: str = typer.Argument(None, help="A sitemap (sitemap.xml) or one page."),
    pages: Path = typer.Option(None, help="A file with one page URL per line, instead of URL."),
    kb: Path = typer.Option(None, help="The knowledge base's folder (default: FRONTLINE_KB_DIR)."),
    yes: bool = typer.Option(False, "--yes", help="Write without asking."),
    prune: bool = typer.Option(
        False, "--prune", help="Remove imported articles gone from the site."
    ),
    build: bool = typer.Option(True, "--build/--no-build", help="Rebuild the index afterwards."),
) -> None:
    """Fetch the pages, keep each one's main text as an article (its `url` is the page), show
    what is new, changed, unchanged or gone, then write `imported/*.md` and rebuild the index.
    Re-running changes only what changed on the site."""
    settings = Settings()
    kb_dir = kb or settings.kb_dir
    urls: list[str] = []
    try:
        with httpx.Client(timeout=20, headers={"User-Agent": "Frontline-import"}) as client:
            if pages is not None:
                urls = [
                    u.strip() for u in pages.read_text(encoding="utf-8").splitlines() if u.strip()
                ]
            elif url:
                urls = kb_import.page_urls(client, url)
            else:
                fail("give a URL (a sitemap or a page) or --pages FILE")
            fetched = kb_import.fetch_pages(client, urls)
    except (kb_import.SiteImportError, OSError) as error:
        fail(str(error))
        return
    result = kb_import.plan(kb_dir, fetched)
    kb_import.describe(result, typer.echo)
    if not result.writes and not (prune and result.gone):
        typer.echo("Nothing to write.")
        return
    if not yes and not typer.confirm(f"Write these to {kb_dir / kb_import.IMPORTED_DIR}?"):
        typer.echo("Nothing written.")
        raise typer.Exit(1)
    kb_import.apply(kb_dir, result, prune=prune)
    typer.echo(f"Wrote {len(result.writes)} article(s).")
    if build:
        build_kb_index(settings, kb_dir, settings.index_path, force=False)
