"""The demo page with the widget, the agent console, the widget's script, and the /static
files (the console's ES modules among them)."""

import hashlib
import os
import re
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import Scope

router = APIRouter(include_in_schema=False)
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
# One <script> on the customer's site, so its parts are served as one file, in this order.
WIDGET_PARTS = ("lib/markdown.js", "widget-i18n.js", "widget.js")
# The one Markdown renderer is an ES module (the console imports it); the widget is a classic
# script, so the hub turns the module into the global `FrontlineMarkdown` in its bundle.
MARKDOWN_MODULE = "lib/markdown.js"
JAVASCRIPT = "text/javascript; charset=utf-8"


class StaticAssets(StaticFiles):
    """The /static mount. JavaScript always goes out as text/javascript, whatever the
    platform's MIME table says: browsers refuse to run an ES module served as anything else."""

    def file_response(
        self,
        full_path: "str | os.PathLike[str]",
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        if "content-type" in response.headers and str(full_path).endswith((".js", ".mjs")):
            response.headers["content-type"] = JAVASCRIPT
        return response


def markdown_as_global(module: str) -> str:
    """lib/markdown.js as a classic script defining the global `FrontlineMarkdown` with the
    module's exports. The module keeps to what this needs: no imports, and only top-level
    `export function name(` declarations."""
    names = re.findall(r"^export function (\w+)\(", module, flags=re.MULTILINE)
    body = re.sub(r"^export function ", "function ", module, flags=re.MULTILINE)
    if not names or re.search(r"^\s*(export|import)\b", body, flags=re.MULTILINE):
        raise RuntimeError(f"{MARKDOWN_MODULE}: the widget takes only top-level `export function`")
    exports = ", ".join(f"{name}: {name}" for name in names)
    return (
        "(function (global) {\n"
        '  "use strict";\n'
        "  if (global.FrontlineMarkdown) return;\n"
        f"{body}\n"
        f"  global.FrontlineMarkdown = Object.freeze({{ {exports} }});\n"
        "})(window);\n"
    )


def _part(name: str) -> bytes:
    if name == MARKDOWN_MODULE:
        return markdown_as_global((STATIC_DIR / name).read_text(encoding="utf-8")).encode("utf-8")
    return (STATIC_DIR / name).read_bytes()


@router.get("/")
def demo_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html")


@router.get("/console")
def console_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "console.html")


@router.get("/console/dashboard")
def dashboard_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "dashboard.html")


@router.get("/console/admin")
def admin_page() -> FileResponse:
    """Agent accounts (admins; the API refuses everyone else)."""
    return FileResponse(STATIC_DIR / "admin.html")


@router.get("/console/kb")
def kb_page() -> FileResponse:
    """The knowledge-base editor (leads and admins; the API refuses everyone else)."""
    return FileResponse(STATIC_DIR / "kb.html")


@router.get("/console/gaps")
def gaps_page() -> FileResponse:
    """Knowledge gaps (leads and admins; the API refuses everyone else)."""
    return FileResponse(STATIC_DIR / "gaps.html")


@router.get("/console/audit")
def audit_page() -> FileResponse:
    """The audit log (admins; the API refuses everyone else)."""
    return FileResponse(STATIC_DIR / "audit.html")


@lru_cache(maxsize=4)
def _bundle(stamps: tuple[tuple[str, int, int], ...]) -> tuple[bytes, str]:
    body = b"\n".join(_part(name) for name, _, _ in stamps)
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
    return Response(body, media_type=JAVASCRIPT, headers=headers)
