"""Rasa's action endpoint: our custom actions run here, in rasa-sdk's ActionExecutor."""

from __future__ import annotations

import json
import zlib
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from rasa_sdk.interfaces import ActionExecutionRejection, ActionNotFoundException

from api.hub import Hub
from api.routes.deps import get_hub

router = APIRouter(tags=["rasa"])


@router.post("/actions/webhook")
async def run_action(request: Request, hub: Hub = Depends(get_hub)) -> Any:
    body = await request.body()
    if request.headers.get("content-encoding") == "deflate":
        body = zlib.decompress(body)
    try:
        action_call = json.loads(body)
    except ValueError:
        return JSONResponse({"error": "body is not JSON"}, status_code=400)
    if not isinstance(action_call, dict):
        return JSONResponse({"error": "body must be an action call object"}, status_code=400)
    try:
        result = await hub.executor.run(action_call)
    except ActionNotFoundException as error:
        return JSONResponse({"error": error.message, "action_name": error.action_name}, 404)
    except ActionExecutionRejection as error:
        return JSONResponse({"error": error.message, "action_name": error.action_name}, 400)
    return result.model_dump() if result else None
