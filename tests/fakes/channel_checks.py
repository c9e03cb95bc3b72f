"""Checks the channel integration tests share: wait for something to happen, and read a
customer's conversation back through the agents' API (as the console would)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from tests.fakes.stack import Stack
from tests.fakes.widget_client import agent_headers

T = TypeVar("T")


def eventually(check: Callable[[], T | None], what: str | None = None, timeout: float = 30.0) -> T:
    """`check()`'s first truthy result, polled every 0.2 s; AssertionError after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out waiting for {what}" if what else "the condition never held"
            )
        time.sleep(0.2)


def conversation(stack: Stack, channel: str, name: str) -> dict[str, Any]:
    """The detail of the conversation on `channel` whose contact is called `name`, once the
    agents' list shows it."""
    headers = agent_headers(stack)

    def find() -> dict[str, Any] | None:
        listed = httpx.get(f"{stack.hub_url}/api/conversations", headers=headers).json()
        for c in listed["conversations"]:
            if c["channel"] == channel and c["contact"]["name"] == name:
                detail = httpx.get(f"{stack.hub_url}/api/conversations/{c['id']}", headers=headers)
                return dict(detail.json())
        return None

    return dict(eventually(find))


def customer_texts(stack: Stack, channel: str, name: str) -> list[str]:
    """What the customer wrote in that conversation, in order."""
    messages = conversation(stack, channel, name)["messages"]
    return [m["text"] for m in messages if m["role"] == "customer"]
