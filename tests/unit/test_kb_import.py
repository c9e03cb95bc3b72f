"""`frontline kb import`: a small help site served on 127.0.0.1 with a sitemap index, imported,
changed, imported again (only the change is written), and articles gone from the site."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from api.kb_import import article_id
from retrieval.sources import load_articles
from tests.fakes._http import BackgroundHttpServer, Reply, Request


def html(title: str, body: str) -> str:
    return (
        f"<html><head><title>{title} - Acme Help</title></head><body>"
        "<nav><a href='/'>Home</a> | <a href='/pricing'>Pricing</a></nav>"
        f"<main><article><h1>{title}</h1>{body}</article></main>"
        "<footer>Copyright Acme Inc. All rights reserved.</footer></body></html>"
    )


class HelpSite:
    def __init__(self) -> None:
        self.pages = {
            "/articles/reset-password.html": html(
                "Reset your password",
                "<p>Open the sign-in page and choose Forgot password, then follow the link we "
                "send you by email. The link works for one hour.</p><h2>If no email comes</h2>"
                "<p>Check your spam folder and wait five minutes before asking again.</p>",
            ),
            "/articles/export/": html(
                "Export your data",
                "<p>Go to Settings, then Export, and choose CSV or JSON. Large accounts get "
                "an email with a download link when the export is ready.</p>",
            ),
            "/articles/empty": "<html><body><nav>Home</nav></body></html>",
        }

    def sitemap(self, base: str) -> str:
        urls = "".join(f"<url><loc>{base}{path}</loc></url>" for path in self.pages)
        return (
            '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"{urls}</urlset>"
        )

    def __call__(self, request: Request) -> Reply:
        host = {k.lower(): v for k, v in request.headers.items()}["host"]
        base = f"http://{host}"
        if request.path == "/sitemap_index.xml":
            body = (
                '<?xml version="1.0"?><sitemapindex '
                'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                "<sitemap><loc>/sitemap.xml</loc></sitemap></sitemapindex>"
            )
            return Reply(200, body.encode(), {"Content-Type": "application/xml"})
        if request.path == "/sitemap.xml":
            return Reply(200, self.sitemap(base).encode(), {"Content-Type": "application/xml"})
        if request.path in self.pages:
            return Reply(200, self.pages[request.path].encode(), {"Content-Type": "text/html"})
        return Reply(404, b"not found")


@pytest.fixture
def site() -> HelpSite:
    return HelpSite()


def run(*args: str) -> str:
    result = CliRunner().invoke(app, ["kb", "import", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_import_a_site_then_only_what_changed(site: HelpSite, tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    (kb / "imported").mkdir(parents=True)
    (kb / "imported" / "old-page.md").write_text("---\ntitle: Old\n---\nOld text.\n")
    with BackgroundHttpServer(site) as server:
        start = f"{server.base_url}/sitemap_index.xml"
        first = run(start, "--kb", str(kb), "--yes", "--no-build")
        assert "2 new, 0 changed, 0 unchanged, 1 no longer on the site, 1 skipped" in first
        assert "no main text found" in first
        imported = {a.id: a for a in load_articles(kb / "imported") if a.id != "old-page"}
        assert set(imported) == {"articles-reset-password", "articles-export"}
        reset = imported["articles-reset-password"]
        assert reset.title == "Reset your password"
        assert reset.url == f"{server.base_url}/articles/reset-password.html"
        assert "spam folder" in reset.body and "Copyright" not in reset.body
        assert "If no email comes" in [c.section for c in reset.chunks]

        assert "0 new, 0 changed, 2 unchanged" in run(start, "--kb", str(kb), "--no-build")
        site.pages["/articles/export/"] = html(
            "Export your data",
            "<p>Exports now include attachments, as a ZIP file sent by email.</p>",
        )
        del site.pages["/articles/reset-password.html"]
        second = run(start, "--kb", str(kb), "--yes", "--prune", "--no-build")
        assert "0 new, 1 changed, 0 unchanged, 2 no longer on the site" in second
    assert sorted(p.stem for p in (kb / "imported").glob("*.md")) == ["articles-export"]
    assert "ZIP file" in (kb / "imported" / "articles-export.md").read_text()


def test_import_refuses_what_it_cannot_read(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["kb", "import", "file:///etc/passwd", "--kb", str(tmp_path)])
    assert result.exit_code != 0 and "only http(s)" in result.output
    with BackgroundHttpServer(HelpSite()) as server:
        missing = CliRunner().invoke(
            app, ["kb", "import", f"{server.base_url}/nope.xml", "--kb", str(tmp_path)]
        )
    assert missing.exit_code != 0 and "HTTP 404" in missing.output


def test_ids_come_from_the_page_path_in_any_script() -> None:
    assert article_id("https://help.example/en/articles/Reset-Password.html") == (
        "en-articles-reset-password"
    )
    assert article_id("https://help.example/zh/文章/重置密码") == "zh-文章-重置密码"
    assert article_id("https://help.example/") == "home"
