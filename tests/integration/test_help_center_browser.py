"""The help center in real Chromium against the real hub and Rasa: a customer searches,
opens the best answer, votes, and opens the chat from the article, which knows what they
were reading; the bot answers there as in the widget anywhere else."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakes.paths import ARTIFACTS, ROOT
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


AXE = ROOT / "var" / "axe" / "axe-core-4.11.0" / "axe.min.js"


def test_help_center_pages_pass_an_accessibility_check(stack: Stack, browser: Any) -> None:
    """axe-core (`make axe`) on the home, a search and an article: no serious or critical
    violation. The checker is injected past the pages' CSP (Playwright's bypass_csp)."""
    if not AXE.exists():
        pytest.fail("axe-core is missing: `make test` fetches it (make axe)")
    page = browser.new_context(bypass_csp=True).new_page()
    try:
        for path in ("/help/", "/help/search?q=export+my+data", "/help/articles/billing-invoices"):
            page.goto(stack.hub_url + path)
            page.add_script_tag(path=str(AXE))
            result = page.evaluate("async () => await axe.run(document)")
            bad = [
                f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
                for v in result["violations"]
                if v["impact"] in ("serious", "critical")
            ]
            assert bad == [], (path, bad)
    finally:
        page.context.close()
