"""The demo page with the widget, and the agent console."""

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

router = APIRouter(include_in_schema=False)
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


@router.get("/")
def demo_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html")


@router.get("/console")
def console_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "console.html")


@router.get("/console/dashboard")
def dashboard_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "dashboard.html")
