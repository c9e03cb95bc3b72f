"""The widget and the agent console in real headless Chromium (Debian's /usr/bin/chromium,
driven by Playwright), against the real hub and Rasa server."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakes.paths import ARTIFACTS
from tests.fakes.stack import Stack

pytestmark = pytest.mark.integration


def test_question_handoff_takeover_reply_and_harmless_html(stack: Stack, browser: Any) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    customer = browser.new_context(viewport={"width": 1200, "height": 860}).new_page()
    agent = browser.new_context(viewport={"width": 1300, "height": 860}).new_page()
    dialogs: list[str] = []
    for page in (customer, agent):
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    agent.goto(f"{stack.hub_url}/console")
    agent.fill("#login-email", stack.settings.demo_agent_email)
    agent.fill("#login-password", stack.settings.demo_agent_password)
    agent.press("#login-password", "Enter")
    agent.wait_for_selector("#queue")

    customer.goto(f"{stack.hub_url}/")
    customer.fill("#fl-input", "How do I reset my password?")
    customer.press("#fl-input", "Enter")
    source = customer.wait_for_selector(".fl-msg[data-role=bot] .fl-source")
    assert source.get_attribute("href") == stack.link(stack.article("reset-password"))

    hostile = "<img src=x onerror=alert(1)> [click](javascript:alert(2))"
    customer.fill("#fl-input", hostile)
    customer.press("#fl-input", "Enter")
    customer.fill("#fl-input", "I want to talk to a person")
    customer.press("#fl-input", "Enter")
    customer.wait_for_selector("#fl-status:has-text('Waiting for an agent')")

    agent.click(".queue-item[data-state=queued]")
    agent.wait_for_selector("#transcript .msg[data-role=customer]")
    agent.click("#takeover")
    customer.wait_for_selector("#fl-status:has-text('joined')")
    agent.fill("#reply", "Hi, Dana here. I'll reset it for you.")
    agent.press("#reply", "Enter")
    reply = customer.wait_for_selector(".fl-msg[data-role=agent]")
    assert "Dana here" in reply.inner_text()

    # The hostile message is plain text in both pages, and nothing ran.
    for page, selector in ((customer, "#fl-log"), (agent, "#transcript")):
        assert hostile in page.inner_text(selector)
        assert page.query_selector(f"{selector} img") is None
        assert page.query_selector(f"{selector} a[href^='javascript']") is None
    assert dialogs == []
    customer.screenshot(path=str(ARTIFACTS / "widget.png"))
    agent.screenshot(path=str(ARTIFACTS / "console.png"))
