"""The customer's website for the browser tests: a plain HTTP server whose pages embed the
widget with the README's one `<script>` snippet."""

from __future__ import annotations

import hashlib
import html
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Shop:
    """The customer's website: a plain HTTP server on another origin (`localhost` and its own
    port, while the hub is on 127.0.0.1) whose pages embed the widget. (A page on a public
    origin may not load scripts from a loopback address in Chromium, so the site is local too.)
    """

    def __init__(self, hub_url: str) -> None:
        self.hub_url = hub_url
        self.pages: dict[str, bytes] = {}
        shop = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = shop.pages.get(self.path.lstrip("/"))
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://localhost:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def page_url(self, options: dict[str, str]) -> str:
        """A page embedding the widget with these data- options (the README's snippet)."""
        attributes = "".join(
            f' data-{name}="{html.escape(value)}"' for name, value in sorted(options.items())
        )
        body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Example shop</title>
<style>body {{ font: 16px/1.5 Georgia, serif; margin: 3rem; background: #fbfaf7; }}</style>
</head><body>
<h1>Example shop</h1><p>Handmade things, shipped with care. Questions? Ask in the chat.</p>
<script src="{self.hub_url}/static/widget.js" data-hub="{self.hub_url}"{attributes} defer></script>
</body></html>"""
        name = hashlib.sha256(body.encode()).hexdigest()[:16]
        self.pages[name] = body.encode()
        return f"{self.url}/{name}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
