"""Knowledge-base search and canned responses for the agent console (read-only)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import yaml
from fastapi import APIRouter, Depends, Query

from api import schemas, serializers
from api.hub import Hub
from api.routes.deps import AgentRef, current_agent, get_hub

router = APIRouter(prefix="/api", tags=["knowledge base"])
log = logging.getLogger(__name__)

# Kept beside the articles, but the index builder only reads *.md, *.csv and *.json.
CANNED_FILE = "canned_responses.yml"
MAX_HITS = 10
_cache: dict[Path, tuple[float, list[dict[str, str]]]] = {}


@router.get("/kb/search", response_model=schemas.KbSearchOut)
def search_kb(
    q: str = Query(min_length=1, max_length=500),
    limit: int = Query(default=5, ge=1, le=MAX_HITS),
    hub: Hub = Depends(get_hub),
    _agent: AgentRef = Depends(current_agent),
) -> dict[str, Any]:
    """The best articles for `q`, as the bot would find them (a sync route: the encoder
    runs in FastAPI's thread pool, off the event loop)."""
    result = hub.knowledge.search(q.strip())
    return {
        "query": q,
        "decision": result.decision,
        "confidence": result.confidence,
        "hits": [serializers.kb_hit(h) for h in result.hits[:limit]],
    }


def load_canned(path: Path) -> list[dict[str, str]]:
    """`[{id, title, text, shortcut?}]` from a YAML list; bad entries are skipped."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    if isinstance(raw, dict):
        raw = raw.get("responses", [])
    if not isinstance(raw, list):
        raise ValueError(f"{path}: expected a list of responses")
    out: list[dict[str, str]] = []
    seen: set[str] = set()
    for n, item in enumerate(raw, start=1):
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            log.warning("%s: response %d has no text; skipped", path, n)
            continue
        rid = str(item.get("id") or f"response-{n}")
        if rid in seen:
            log.warning("%s: duplicate id %r; skipped", path, rid)
            continue
        seen.add(rid)
        out.append(
            {
                "id": rid,
                "title": str(item.get("title") or rid),
                "shortcut": str(item.get("shortcut") or rid),
                "text": item["text"].strip(),
            }
        )
    return out


@router.get(
    "/canned-responses",
    response_model=schemas.CannedResponses,
    response_model_exclude_unset=True,
)
def canned_responses(
    hub: Hub = Depends(get_hub), _agent: AgentRef = Depends(current_agent)
) -> dict[str, Any]:
    """Saved replies agents insert with `/` in the console. `{customer}` and `{agent}` in
    a text stand for the customer's and the agent's names (the console fills them in)."""
    path = Path(hub.settings.kb_dir) / CANNED_FILE
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return {"canned_responses": []}
    cached = _cache.get(path)
    if cached is None or cached[0] != mtime:
        try:
            cached = (mtime, load_canned(path))
        except (OSError, ValueError, yaml.YAMLError) as error:
            log.error("canned responses not loaded: %s", error)
            return {"canned_responses": [], "error": f"{CANNED_FILE} could not be read"}
        _cache[path] = cached
    return {"canned_responses": cached[1]}
