"""Help for agents in the console (real Chromium, real hub and Rasa, the real encoder): the
customer's latest message brings the knowledge base's sections and a colleague's reply that a
customer rated 5, one click from the reply box, and they follow the customer's next message."""

from __future__ import annotations

import re
from typing import Any

import pytest

from handoff.db import make_engine, make_sessionmaker, transaction
from tests.fakes.paths import ARTIFACTS
from tests.fakes.seed import rated_conversation
from tests.fakes.stack import Stack
from tests.fakes.widget_client import WidgetClient

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("agent_online")]

COLLEAGUE_REPLY = (
    "I have corrected the VAT number on your company account; the next invoice will show it, "
    "and I re-issued the last one."
)


def test_console_suggests_articles_and_rated_replies_as_the_customer_writes(
    stack: Stack, browser: Any
) -> None:
    settings = stack.settings
    engine = make_engine(settings.database_url)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            rated_conversation(
                session, [("The VAT number on my invoices is wrong", COLLEAGUE_REPLY)], 5
            )
    finally:
        engine.dispose()

    # The customer asks for a person, then explains while waiting in the queue.
    widget = WidgetClient(stack.widget_ws)
    page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    try:
        widget.say("I want to talk to a person")
        widget.wait_state("queued")
        widget.say("my invoice shows the wrong VAT number for my company, can you fix it?")

        page.set_default_timeout(60_000)
        page.goto(f"{stack.hub_url}/console")
        page.get_by_label("Email").fill(settings.demo_agent_email)
        page.get_by_label("Password").fill(settings.demo_agent_password)
        page.get_by_role("button", name="Sign in").click()
        page.locator(f".queue-item[data-id='{widget.conversation_id}']").click()

        assist = page.locator("#assist")
        assist.locator("#assist-for", has_text="wrong VAT number").wait_for()
        assist.locator("#assist-articles .kb-hit[data-article='billing-invoices']").wait_for()
        suggested = assist.locator("#assist-replies .assist-reply", has_text="corrected the VAT")
        suggested.wait_for()
        assert "rated 5/5" in suggested.inner_text()
        assist.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "console-agent-assist.png"))

        page.get_by_role("button", name="Take over").click()
        suggested.get_by_role("button", name="Insert this reply").click()
        assert page.locator("#reply").input_value() == COLLEAGUE_REPLY

        # The customer's next message brings new suggestions, without a reload.
        widget.say("and how do I install the app on my phone?")
        assist.locator("#assist-for", has_text="install the app").wait_for()
        assist.locator("#assist-articles .kb-hit[data-article='install-mobile-app']").wait_for()
        assert not re.search("corrected the VAT", assist.locator("#assist-replies").inner_text())
    finally:
        widget.close()
        page.context.close()
