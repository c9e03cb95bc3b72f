"""GET /health: is the Rasa server answering, is the index loaded."""

from typing import Any

from fastapi import APIRouter, Depends

from api.hub import Hub
from api.routes.deps import get_hub
from api.schemas import HealthOut

router = APIRouter()


@router.get("/health", response_model=HealthOut, response_model_exclude_unset=True)
async def health(hub: Hub = Depends(get_hub)) -> dict[str, Any]:
    rasa_ok, detail = await hub.rasa.status()
    index = hub.knowledge.status()
    return {
        "status": "ok" if rasa_ok and index["ok"] else "degraded",
        "rasa": {"ok": rasa_ok, "url": ",".join(hub.rasa.base_urls), "detail": detail},
        "index": index,
    }
