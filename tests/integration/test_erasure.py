"""Erasing a contact reaches into the real Rasa server: the tracker events of its
conversations are deleted through Rasa's HTTP API, which refuses anyone without the hub's key."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from api.rasa_client import RasaClient
from tests.fakes.stack import Stack
from tests.fakes.widget_client import WidgetClient, agent_headers, conversation

pytestmark = pytest.mark.integration

SECRET = "my licence is ZX-4411-QQ"


def tracker_events(stack: Stack, sender: str) -> list[dict[str, Any]]:
    async def read() -> list[dict[str, Any]]:
        rasa = RasaClient(stack.rasa_url, timeout=10, api_key=stack.settings.rasa_api_key)
        try:
            return await rasa.tracker_events(sender)
        finally:
            await rasa.aclose()

    return asyncio.run(read())


def test_erasure_deletes_the_conversation_from_rasas_tracker_store(stack: Stack) -> None:
    widget = WidgetClient(stack.widget_ws)
    try:
        widget.say(f"How do I activate my licence key? {SECRET}")
        widget.next_message("bot")
    finally:
        widget.close()
    sender = f"conversation-{widget.conversation_id}"
    assert SECRET in json.dumps(tracker_events(stack, sender))

    # Rasa's API is closed to anyone without the hub's key.
    anonymous = httpx.get(f"{stack.rasa_url}/conversations/{sender}/tracker", timeout=10)
    assert anonymous.status_code == 401, anonymous.text

    contact_id = conversation(stack, widget)["contact"]["id"]
    erased = httpx.delete(
        f"{stack.hub_url}/api/contacts/{contact_id}", headers=agent_headers(stack), timeout=30
    )
    assert erased.status_code == 200, erased.text
    assert erased.json()["bot_trackers_reset"] >= 1
    assert SECRET not in json.dumps(tracker_events(stack, sender))
