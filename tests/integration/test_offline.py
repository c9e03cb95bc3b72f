"""Nobody online: the bot collects an email (a Rasa form) before opening the ticket."""

from __future__ import annotations

import pytest

from tests.fakes.stack import Stack
from tests.fakes.widget_client import WidgetClient, conversation

pytestmark = pytest.mark.integration


def test_without_agents_the_bot_asks_for_an_email_then_opens_the_ticket(stack: Stack) -> None:
    widget = WidgetClient(stack.widget_ws)
    try:
        widget.say("I want to talk to a person")
        assert "Nobody from our team is online" in widget.next_message("bot")["text"]
        assert "email address" in widget.next_message("bot")["text"]
        widget.say("skip")  # the widget does not know who this is: skipping is not allowed
        assert "can't see who you are" in widget.next_message("bot")["text"]
        assert "email address" in widget.next_message("bot")["text"]  # asked again
        widget.say("not an address")
        assert "doesn't look like an email" in widget.next_message("bot")["text"]
        assert "email address" in widget.next_message("bot")["text"]
        widget.say("ann@example.com")
        queued = widget.wait_state("queued")
        notice = widget.next_message("system")
        assert f"#{queued['ticket_number']}" in notice["text"]
        assert "reply by email at ann@example.com" in notice["text"]
        detail = conversation(stack, widget)
        assert detail["conversation"]["contact"]["email"] == "ann@example.com"
        assert detail["conversation"]["ticket"]["reason"] == "customer_request"
    finally:
        widget.close()


def test_urgent_without_agents_keeps_its_priority_through_the_form(stack: Stack) -> None:
    widget = WidgetClient(stack.widget_ws)
    try:
        widget.say("We were hacked, someone changed all our passwords")
        widget.next_message("bot")
        widget.say("ops@example.com")
        widget.wait_state("queued")
        detail = conversation(stack, widget)
        ticket = detail["conversation"]["ticket"]
        assert (ticket["reason"], ticket["priority"]) == ("urgent", "high")
    finally:
        widget.close()
