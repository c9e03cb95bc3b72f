"""Rasa's action endpoint: our custom actions run here, in rasa-sdk's ActionExecutor.

Only Rasa may call it: it sends the shared action token in a header (bot/endpoints.yml),
because the endpoint shares the hub's public port and every call costs encoder CPU.
Compressed bodies (Rasa may deflate them) arrive inflated, with a bound, by api.security."""

from __future__ import annotations

import hmac
import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from rasa_sdk.interfaces import ActionExecutionRejection, ActionNotFoundException

from api.hub import Hub
from api.routes.deps import get_hub

router = APIRouter(tags=["rasa"])
TOKEN_HEADER = "X-Frontline-Action-Token"


@router.post("/actions/webhook")
async def run_action(request: Request, hub: Hub = Depends(get_hub)) -> Any:
    sent = request.headers.get(TOKEN_HEADER, "")
    if not hmac.compare_digest(sent.encode(), hub.settings.action_secret.encode()):
        return JSONResponse({"error": f"missing or wrong {TOKEN_HEADER}"}, status_code=401)
    body = await request.body()
    try:
        action_call = json.loads(body)
    except ValueError:
        return JSONResponse({"error": "body is not JSON"}, status_code=400)
    if not isinstance(action_call, dict):
        return JSONResponse({"error": "body must be an action call object"}, status_code=400)
    # Rasa sends the domain only to the actions that read it (bot/endpoints.yml:
    # enable_selective_domain). rasa-sdk refuses a call with neither a domain nor Rasa Pro's
    # domain digest, so the others get an empty one, which they do not read.
    action_call.setdefault("domain", {})
    try:
        result = await hub.executor.run(action_call)
    except ActionNotFoundException as error:
        return JSONResponse({"error": error.message, "action_name": error.action_name}, 404)
    except ActionExecutionRejection as error:
        return JSONResponse({"error": error.message, "action_name": error.action_name}, 400)
    return result.model_dump() if result else None
