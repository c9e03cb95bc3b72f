"""The demo page with the widget, the agent console, and the widget's script."""

import hashlib
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

router = APIRouter(include_in_schema=False)
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
# One <script> on the customer's site, so its parts are served as one file, in this order.
WIDGET_PARTS = ("markdown.js", "widget-i18n.js", "widget.js")


@router.get("/")
def demo_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html")


@router.get("/console")
def console_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "console.html")


@router.get("/console/dashboard")
def dashboard_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "dashboard.html")


@lru_cache(maxsize=4)
def _bundle(stamps: tuple[tuple[str, int, int], ...]) -> tuple[bytes, str]:
    body = b"\n".join((STATIC_DIR / name).read_bytes() for name, _, _ in stamps)
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def widget_bundle() -> tuple[bytes, str]:
    """The widget script and its ETag; rebuilt when a part changes on disk."""
    stamps = []
    for name in WIDGET_PARTS:
        stat = (STATIC_DIR / name).stat()
        stamps.append((name, stat.st_mtime_ns, stat.st_size))
    return _bundle(tuple(stamps))


# Declared before the /static mount, so this wins over the plain file of the same name.
@router.get("/static/widget.js")
def widget_script(request: Request) -> Response:
    body, etag = widget_bundle()
    # no-cache: sites always revalidate, so a hub upgrade reaches every page at once.
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="text/javascript; charset=utf-8", headers=headers)
