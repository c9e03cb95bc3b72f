"""The generic signed webhook (Standard Webhooks both ways) through the real hub and the real
Rasa server: a platform we have no adapter for posts signed messages and receives signed
callbacks (tests/fakes/webhook_receiver.py verifies them with the `standardwebhooks` package)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
import pytest

from tests.fakes.channel_checks import eventually
from tests.fakes.stack import Stack
from tests.fakes.webhook_receiver import Callback, WebhookReceiver, sign
from tests.fakes.widget_client import agent_headers

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("agent_online")]
SECRET = "whsec_" + "ZnJvbnRsaW5lLWludGVncmF0aW9uLXdlYmhvb2stMzI="  # as in conftest's channels.yml


def post(stack: Stack, body: dict[str, Any], msg_id: str | None = None) -> httpx.Response:
    raw = json.dumps(body)
    headers = sign(SECRET, msg_id or f"msg_{uuid.uuid4().hex}", None, raw)
    headers["content-type"] = "application/json"
    return httpx.post(f"{stack.hub_url}/channels/webhook", content=raw.encode(), headers=headers)


def to(receiver: WebhookReceiver, conversation: str) -> list[Callback]:
    return [
        c for c in receiver.verified() if (c.json() or {}).get("conversation_id") == conversation
    ]


def message(conversation: str, text: str, *, message_id: str | None = None) -> dict[str, Any]:
    return {
        "conversation_id": conversation,
        "message_id": message_id or uuid.uuid4().hex,
        "text": text,
        "payload": None,
        "user": {"id": f"user-{conversation}", "name": "Ada Lovelace", "email": "ada@example.org"},
    }


def test_answer_hand_off_and_agent_reply_as_signed_callbacks(
    stack: Stack, webhook_receiver: WebhookReceiver
) -> None:
    thread = f"crm-{uuid.uuid4().hex[:8]}"
    body = message(thread, "How do I reset my password?")
    assert post(stack, body, "msg_first").status_code == 200
    answer = eventually(
        lambda: [c for c in to(webhook_receiver, thread) if c.json()["role"] == "bot"]
    )
    sent = answer[0].json()
    assert sent["sources"] and sent["sources"][0]["article_id"] == "reset-password"
    assert sent["conversation_id"] == thread and sent["message_id"]
    # The platform retries with the same webhook-id: stored once, answered once.
    assert post(stack, body, "msg_first").status_code == 200
    time.sleep(1.5)
    assert len([c for c in to(webhook_receiver, thread) if c.json()["text"] == sent["text"]]) == 1

    # A choice comes back as the payload of an offered button.
    offered = [b for c in to(webhook_receiver, thread) for b in c.json()["buttons"]]
    assert offered, "the bot offers did-this-help buttons"
    choice = message(thread, offered[0]["title"]) | {"payload": offered[0]["payload"]}
    assert post(stack, choice).status_code == 200

    # A person, please: a ticket, and the agent's reply as a signed callback.
    assert post(stack, message(thread, "I want to talk to a person")).status_code == 200
    eventually(lambda: [c for c in to(webhook_receiver, thread) if "ticket #" in c.json()["text"]])
    headers = agent_headers(stack)
    listed = httpx.get(f"{stack.hub_url}/api/conversations", headers=headers).json()
    cid = next(
        c["id"]
        for c in listed["conversations"]
        if c["channel"] == "webhook"
        and c["state"] == "queued"
        and c["contact"]["name"] == "Ada Lovelace"
    )
    assert (
        httpx.post(f"{stack.hub_url}/api/conversations/{cid}/takeover", headers=headers).status_code
        == 200
    )
    # The receiver is briefly down: the outbox retries until it takes the callback.
    webhook_receiver.fail_next(503, count=2)
    reply = {"text": "Hello Ada, Dana here."}
    assert (
        httpx.post(
            f"{stack.hub_url}/api/conversations/{cid}/messages", json=reply, headers=headers
        ).status_code
        == 200
    )
    agent = eventually(
        lambda: [c for c in to(webhook_receiver, thread) if c.json()["role"] == "agent"]
    )
    assert agent[0].json()["author"] and agent[0].json()["text"] == "Hello Ada, Dana here."
    # Every retry carries the same webhook-id, so a receiver can deduplicate.
    ids = {
        c.msg_id
        for c in webhook_receiver.callbacks
        if (c.json() or {}).get("text") == "Hello Ada, Dana here."
    }
    assert len(ids) == 1


def test_unsigned_stale_or_malformed_requests_are_refused(stack: Stack) -> None:
    body = json.dumps(message("crm-forged", "let me in"))
    url = f"{stack.hub_url}/channels/webhook"
    assert httpx.post(url, content=body.encode()).status_code == 401
    stale = sign(SECRET, "msg_old", time.time() - 600, body)
    assert httpx.post(url, content=body.encode(), headers=stale).status_code == 401
    forged = sign(SECRET, "msg_forged", None, body)
    assert (
        httpx.post(
            url, content=body.replace("let me in", "let me In").encode(), headers=forged
        ).status_code
        == 401
    )
    bad = '{"text": "no ids"}'
    assert (
        httpx.post(
            url, content=bad.encode(), headers=sign(SECRET, "msg_bad", None, bad)
        ).status_code
        == 400
    )
