"""The knowledge-base editor's API (leads): list, read, create or change an article, its
history, and restoring a version. "Try it" is `GET /api/kb/search`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api import kb_editor, schemas
from api.hub import Hub
from api.knowledge_edit import KbEditError
from api.routes.deps import AgentRef, get_hub, require
from api.routes.params import PathId
from handoff import kb_history
from handoff.states import AgentRole
from retrieval.articles import SourceError
from retrieval.sources import load_articles

router = APIRouter(prefix="/api/kb", tags=["knowledge base"])
ID_PATTERN = r"^[^\s/\\]{1,200}$"
LANG_PATTERN = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$"


class ArticleBody(BaseModel):
    title: str = Field(min_length=1, max_length=300)
    body: str = Field(min_length=1, max_length=kb_editor.MAX_ARTICLE_CHARS)
    questions: list[str] = Field(default_factory=list, max_length=200)
    tags: list[str] = Field(default_factory=list, max_length=30)
    url: str | None = Field(default=None, max_length=2000)


def _relative(hub: Hub, path: str | None) -> str:
    if path is None:
        return ""
    try:
        return str(Path(path).relative_to(hub.settings.kb_dir))
    except ValueError:
        return Path(path).name


def _load(hub: Hub) -> list[Any]:
    try:
        return load_articles(hub.settings.kb_dir)
    except SourceError as error:
        raise HTTPException(409, f"the knowledge base has an error: {error}") from error


@router.get("/articles", response_model=schemas.KbArticleList)
def list_articles(
    hub: Hub = Depends(get_hub), _lead: AgentRef = Depends(require(AgentRole.LEAD))
) -> dict[str, Any]:
    return {
        "articles": [
            {
                "id": a.id,
                "lang": a.lang,
                "title": a.title,
                "tags": list(a.tags),
                "questions": len(a.questions),
                "url": a.url,
                "updated": a.updated,
                "path": _relative(hub, a.path),
            }
            for a in sorted(_load(hub), key=lambda a: (a.title.lower(), a.lang))
        ]
    }


@router.get("/articles/{article_id}", response_model=schemas.KbArticleOut)
def read_article(
    article_id: str,
    lang: str = Query(default="en", pattern=LANG_PATTERN),
    hub: Hub = Depends(get_hub),
    _lead: AgentRef = Depends(require(AgentRole.LEAD)),
) -> dict[str, Any]:
    article = next((a for a in _load(hub) if a.id == article_id and a.lang == lang), None)
    if article is None:
        raise HTTPException(404, f"no article {article_id!r} in {lang!r}")
    return {
        "id": article.id, "lang": article.lang, "title": article.title, "body": article.body,
        "questions": list(article.questions), "tags": list(article.tags), "url": article.url,
        "updated": article.updated, "path": _relative(hub, article.path),
    }  # fmt: skip


@router.put("/articles/{article_id}", response_model=schemas.KbSaved)
async def save_article(
    body: ArticleBody,
    article_id: str = PathParam(pattern=ID_PATTERN),
    lang: str = Query(default="en", pattern=LANG_PATTERN),
    hub: Hub = Depends(get_hub),
    lead: AgentRef = Depends(require(AgentRole.LEAD)),
) -> Any:
    """Create or change the article, check the whole knowledge base, write, publish."""
    fields = kb_editor.ArticleFields(body.title, body.body, body.questions, body.tags, body.url)
    try:
        return await kb_editor.save(
            hub, article_id=article_id, lang=lang, author_id=lead.id, ip=lead.ip, fields=fields
        )
    except SourceError as error:
        return JSONResponse(
            status_code=422,
            content={"detail": str(error), "line": error.line, "problem": error.problem},
        )
    except KbEditError as error:
        raise HTTPException(error.status, str(error)) from error


@router.get("/build", response_model=schemas.KbBuildOut)
def index_build(
    hub: Hub = Depends(get_hub), _lead: AgentRef = Depends(require(AgentRole.LEAD))
) -> dict[str, Any]:
    """The index builds after edits ("building" until the last edit's index is published)."""
    status = hub.index_builds.status()
    kb = hub.knowledge.kb
    return {
        "state": status.state,
        "pending": status.pending,
        "started_at": status.started_at.isoformat() if status.started_at else None,
        "finished_at": status.finished_at.isoformat() if status.finished_at else None,
        "seconds": status.seconds,
        "error": status.error,
        "served_built_at": kb.index.manifest.get("built_at") if kb is not None else None,
    }


@router.get("/articles/{article_id}/history", response_model=schemas.KbHistory)
def article_history(
    article_id: str,
    lang: str = Query(default="en", pattern=LANG_PATTERN),
    hub: Hub = Depends(get_hub),
    _lead: AgentRef = Depends(require(AgentRole.LEAD)),
) -> dict[str, Any]:
    with hub.sessions() as session:
        revisions = kb_history.history(session, article_id=article_id, lang=lang)
        return {
            "revisions": [
                {
                    "id": r.id,
                    "action": r.action,
                    "at": r.at.isoformat(),
                    "author": r.author.name if r.author else None,
                    "text": r.text_after,
                    "previous": r.text_before,
                }
                for r in revisions
            ]
        }


@router.post("/revisions/{revision_id}/restore", response_model=schemas.KbSaved)
async def restore_revision(
    revision_id: PathId,
    hub: Hub = Depends(get_hub),
    lead: AgentRef = Depends(require(AgentRole.LEAD)),
) -> Any:
    """Put the article back as it was after that change (a new change in the history)."""
    with hub.sessions() as session:
        revision = kb_history.get_revision(session, revision_id)
        article_id, lang, text = revision.article_id, revision.lang, revision.text_after
    try:
        return await kb_editor.save(
            hub, article_id=article_id, lang=lang, author_id=lead.id, ip=lead.ip, text=text,
            action="restore",
        )  # fmt: skip
    except SourceError as error:
        return JSONResponse(
            status_code=422,
            content={"detail": str(error), "line": error.line, "problem": error.problem},
        )
    except KbEditError as error:
        raise HTTPException(error.status, str(error)) from error
