"""Webhooks of the chat channels: /channels/<name> (POST; GET where the platform verifies
with a GET). An exact contract: platforms are pointed at these paths."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse, Response

from api.channels.base import InboundRequest, Refused
from api.hub import Hub
from api.routes.deps import get_hub

log = logging.getLogger(__name__)
router = APIRouter(tags=["channels"])
MAX_BODY = 1024 * 1024  # 1 MiB: more than any platform sends for one event


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        raise Refused(413, "body over 1 MiB")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise Refused(413, "body over 1 MiB")
        chunks.append(chunk)
    return b"".join(chunks)


@router.api_route("/channels/{name}", methods=["GET", "POST"], include_in_schema=False)
async def channel_webhook(name: str, request: Request, hub: Hub = Depends(get_hub)) -> Response:
    try:
        inbound = InboundRequest(
            method=request.method,
            url=str(request.url),
            headers={k.lower(): v for k, v in request.headers.items()},
            query=dict(request.query_params),
            body=await _body(request) if request.method == "POST" else b"",
        )
        answer = await hub.intake.accept(name, inbound)
    except Refused as refusal:
        log.warning(
            "channel %s: %s %s refused: %s", name, request.method, request.url.path, refusal.reason
        )
        return PlainTextResponse(refusal.reason, status_code=refusal.status)
    return Response(answer.body, status_code=answer.status, media_type=answer.content_type)
