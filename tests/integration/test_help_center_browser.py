"""The help center in real Chromium against the real hub and Rasa: a customer searches,
opens the best answer, votes, and opens the chat from the article, which knows what they
were reading; the bot answers there as in the widget anywhere else."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakes.paths import ARTIFACTS
from tests.fakes.stack import Stack

pytestmark = pytest.mark.integration


def test_a_customer_searches_reads_votes_and_asks(stack: Stack, browser: Any) -> None:
    page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()  # a phone
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_default_timeout(60_000)
    try:
        page.goto(f"{stack.hub_url}/help/")
        assert page.title() == "Help center"
        page.get_by_role("link", name="Reset your password").first.wait_for()
        search = page.get_by_role("searchbox", name="Search the help center")
        search.fill("I forgot my password")
        search.press("Enter")
        best = page.locator("section[aria-labelledby=best] a").first
        assert best.inner_text() == "Reset your password"
        best.click()
        page.get_by_role("heading", level=1, name="Reset your password").wait_for()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "help-center-article.png"), full_page=True)

        page.get_by_role("button", name="Yes").click()
        page.get_by_text("Thanks for your feedback").wait_for()

        page.get_by_role("button", name="Chat with us").click()
        box = page.locator("#fl-input")
        box.wait_for(state="visible")
        assert box.input_value() == "About “Reset your password”: "
        box.press_sequentially("the link expired, how do I reset my password?")
        box.press("Enter")
        answer = page.locator("#fl-log .fl-msg[data-role=bot]").last
        answer.wait_for()
        page.locator(
            "#fl-log .fl-msg[data-role=bot] a", has_text="Reset your password"
        ).first.wait_for()
        page.screenshot(path=str(ARTIFACTS / "help-center-chat.png"))
        assert errors == []
    finally:
        page.context.close()
