"""The agent console and the leads' dashboard in real headless Chromium (Debian's
/usr/bin/chromium, driven by Playwright), against the real hub and Rasa server: a customer
in the widget and an agent in the console, side by side."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import httpx
import pytest

from tests.fakes.paths import ARTIFACTS
from tests.fakes.stack import Stack
from tests.fakes.widget_client import agent_headers

pytestmark = pytest.mark.integration
HOSTILE = "<img src=x onerror=alert(1)> [x](javascript:alert(1))"


def say(page: Any, text: str) -> None:
    box = page.get_by_role("textbox", name="Message")
    box.fill(text)
    box.press("Enter")


def wait_until(check: Any, timeout: float = 30, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def test_kb_search_and_canned_responses_for_agents(stack: Stack) -> None:
    url = stack.hub_url
    assert httpx.get(f"{url}/api/kb/search", params={"q": "password"}).status_code == 401
    assert httpx.get(f"{url}/api/canned-responses").status_code == 401
    headers = agent_headers(stack)

    found = httpx.get(
        f"{url}/api/kb/search", params={"q": "How do I reset my password?"}, headers=headers
    ).json()
    best = found["hits"][0]
    article_url = stack.link(stack.article("reset-password"))
    assert best["article_id"] == "reset-password" and best["url"] == article_url
    assert best["title"] and best["snippet"] and 0 < best["score"] <= 1
    assert httpx.get(f"{url}/api/kb/search", params={"q": ""}, headers=headers).status_code == 422

    canned = httpx.get(f"{url}/api/canned-responses", headers=headers).json()["canned_responses"]
    assert len(canned) >= 3
    assert all(c["id"] and c["title"] and c["text"] for c in canned)


def test_console_queue_takeover_reply_note_resolve_and_dashboard(
    stack: Stack, browser: Any
) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    settings = stack.settings
    article_url = stack.link(stack.article("reset-password"))
    agent_name = settings.demo_agent_name
    marker = f"ref {uuid.uuid4().hex[:8]}"
    customer = browser.new_context(viewport={"width": 1100, "height": 860}).new_page()
    agent = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    dialogs: list[str] = []
    errors: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    for page in (customer, agent):
        page.set_default_timeout(60_000)
        page.on("dialog", on_dialog)
        page.on("pageerror", lambda e: errors.append(str(e)))

    # The agent signs in; the console's socket brings them online.
    agent.goto(f"{stack.hub_url}/console")
    agent.get_by_label("Email").fill(settings.demo_agent_email)
    agent.get_by_label("Password").fill(settings.demo_agent_password)
    agent.get_by_role("button", name="Sign in").click()
    agent.wait_for_selector("#queue")
    agent.wait_for_selector("#live:has-text('Live')")
    agent.evaluate("window.__sameDocument = true")  # gone if anything reloads the page
    headers = agent_headers(stack)

    def my_presence() -> str:
        me = httpx.get(f"{stack.hub_url}/api/me", headers=headers).json()
        return str(me["presence"])

    presence = agent.get_by_label("Your status")
    wait_until(lambda: my_presence() == "online", what="online on opening the console")
    presence.select_option("away")
    wait_until(lambda: my_presence() == "away", what="presence away")
    presence.select_option("online")
    wait_until(lambda: my_presence() == "online", what="presence online again")

    # The customer asks the knowledge base, then writes something hostile, then asks for a person.
    customer.goto(f"{stack.hub_url}/")
    say(customer, "How do I reset my password?")
    source = customer.get_by_role("link", name=re.compile("Reset your password"))
    source.first.wait_for()
    assert source.first.get_attribute("href") == article_url
    say(customer, f"{HOSTILE} {marker}")

    def conversation_with_marker(state: str | None = None) -> dict[str, Any] | None:
        params = {"state": state} if state else {}
        listed = httpx.get(f"{stack.hub_url}/api/conversations", params=params, headers=headers)
        for summary in listed.json()["conversations"]:
            url = f"{stack.hub_url}/api/conversations/{summary['id']}"
            detail: dict[str, Any] = httpx.get(url, headers=headers).json()
            if any(marker in m["text"] for m in detail["messages"]):
                return detail
        return None

    def bot_replied() -> bool:
        # The bot's attempts pair each question with the reply after it: let it answer first.
        detail = conversation_with_marker()
        roles = [m["role"] for m in detail["messages"]] if detail else []
        return roles[-1:] == ["bot"] and roles.count("bot") >= 2

    wait_until(bot_replied, timeout=60, what="the bot's reply to the hostile message")
    say(customer, "I want to talk to a person")

    # It appears in the agent's queue without a reload, with a ticking SLA countdown.
    handed_off = wait_until(lambda: conversation_with_marker("queued"), what="the hand-off")
    conversation_id = int(handed_off["conversation"]["id"])
    row = agent.locator(f".queue-item[data-id='{conversation_id}']")
    row.wait_for()
    assert re.fullmatch(r"\(\d+\) Frontline console", agent.title()), agent.title()
    countdown = row.locator(".tick-sla")
    assert "First reply due in" in countdown.inner_text()
    first = countdown.inner_text()
    wait_until(lambda: countdown.inner_text() != first, timeout=5, what="the countdown to tick")

    # The conversation view: transcript with the bot's answer and sources, what the bot tried
    # (articles and scores), the hand-off reason, the customer's record.
    row.click()
    transcript = agent.locator("#transcript")
    transcript.locator(".msg[data-role=customer]", has_text=marker).wait_for()
    bot_answer = transcript.locator(".msg[data-role=bot]", has_text="Forgot password").first
    assert bot_answer.locator("a.source").first.get_attribute("href") == article_url
    # As the customer saw it: the article's Markdown rendered, not its asterisks.
    assert bot_answer.locator(".msg-text strong", has_text="Forgot password").count() == 1
    assert "**" not in bot_answer.locator(".msg-text").inner_text()
    attempts = agent.locator("#bot-attempts")
    attempts.locator(".attempt", has_text="How do I reset my password?").wait_for()
    used = attempts.locator("tr.used", has_text="Reset your password").first
    assert re.fullmatch(r"0\.\d\d|1\.00", used.locator("td.num").inner_text())
    assert "the customer asked for a person" in agent.locator("#ticket").inner_text()
    assert "Visitor" in agent.locator("#contact").inner_text()
    agent.screenshot(path=str(ARTIFACTS / "console-handoff.png"))

    # Hostile text is text wherever the console shows it (transcript, what the bot tried),
    # and the only links in the app are http(s).
    for where in ("#transcript", "#bot-attempts"):
        assert HOSTILE in agent.locator(where).inner_text(), where
    assert agent.locator("#app img").count() == 0
    hrefs = agent.eval_on_selector_all("#app a[href]", "els => els.map(a => a.href)")
    assert hrefs and all(h.startswith(("http://", "https://")) for h in hrefs), hrefs

    # Take over; the customer sees the agent's name.
    agent.get_by_role("button", name="Take over").click()
    customer.get_by_text(re.compile(re.escape(agent_name) + " joined")).first.wait_for()
    agent.locator(f"#mine .conv-item[data-id='{conversation_id}']").wait_for()

    # A reply: Shift+Enter adds a line, a knowledge-base article goes in as "title — url",
    # Enter sends.
    reply = agent.locator("#reply")
    reply.click()
    agent.keyboard.type("Hi, Dana here.")
    agent.keyboard.press("Shift+Enter")
    agent.keyboard.type("This article walks you through it:")
    agent.get_by_label("Search articles").fill("reset password")
    agent.get_by_label("Search articles").press("Enter")
    agent.get_by_role("button", name="Insert link to Reset your password").click()
    assert reply.input_value() == (
        f"Hi, Dana here.\nThis article walks you through it: Reset your password — {article_url}"
    )
    reply.press("Enter")
    customer.get_by_text("This article walks you through it", exact=False).first.wait_for()
    assert agent_name in customer.locator("body").inner_text()
    wait_until(lambda: reply.input_value() == "", timeout=10, what="the reply box to clear")

    # A canned response: "/" filters them, Enter picks one, Enter sends it.
    reply.fill("/password")
    agent.get_by_role("option", name=re.compile("Password reset steps")).wait_for()
    reply.press("Enter")
    assert reply.input_value().startswith("To reset your password")
    reply.press("Enter")
    customer.get_by_text("check your spam folder", exact=False).first.wait_for()

    # An internal note: shown apart in the console, never sent to the customer.
    note = f"Private: checked the sign-in logs ({marker})"
    agent.get_by_label("Internal note").check()
    reply.fill(note)
    reply.press("Enter")
    transcript.locator(".msg.note", has_text=note).wait_for()

    # Ticket fields.
    agent.get_by_label("Priority").select_option("high")
    agent.get_by_label("Tags").fill("account, sign-in, vip")
    agent.get_by_role("button", name="Save ticket").click()
    agent.locator("#history li", has_text="updated").first.wait_for(state="attached")
    detail = httpx.get(
        f"{stack.hub_url}/api/conversations/{conversation_id}", headers=headers
    ).json()
    assert detail["ticket"]["priority"] == "high" and "vip" in detail["ticket"]["tags"]
    assert [n["text"] for n in detail["notes"]] == [note]
    agent.locator("#side").evaluate("side => { side.scrollTop = 0; }")
    agent.screenshot(path=str(ARTIFACTS / "console-conversation.png"))

    # Resolve; the customer rates the help 5.
    agent.get_by_role("button", name="Resolve").click()
    customer.get_by_role("button", name="5", exact=True).last.click()

    def rated() -> bool:
        ticket = httpx.get(
            f"{stack.hub_url}/api/conversations/{conversation_id}", headers=headers
        ).json()["ticket"]
        return bool(ticket["csat"]["score"] == 5)

    wait_until(rated, what="the rating to be stored")
    assert note not in customer.locator("body").inner_text()
    assert agent.evaluate("window.__sameDocument") is True

    # The dashboard shows the report's figures, including this rating.
    agent.goto(f"{stack.hub_url}/console/dashboard")
    responses = agent.locator("[data-figure='csat.responses']")
    responses.wait_for()
    report = httpx.get(f"{stack.hub_url}/api/reports", headers=headers).json()
    csat = report["overall"]["csat"]
    assert csat["responses"] >= 1 and csat["mean"] is not None
    agent.wait_for_function(
        "n => document.querySelector(\"[data-figure='csat.responses']\").textContent === n",
        arg=str(csat["responses"]),
    )
    shown_mean = agent.locator("[data-figure='csat.mean']").inner_text()
    assert float(shown_mean) == pytest.approx(csat["mean"], abs=0.005)
    if csat["responses"] == 1:
        assert shown_mean == "5"
    shown = agent.locator("[data-figure='conversations']").inner_text()
    assert shown == str(report["overall"]["conversations"])
    assert agent.locator("#chart svg rect").count() == len(report["series"])
    assert HOSTILE in agent.locator("#unanswered").inner_text()  # escalated, shown as text
    assert agent.locator("#dash img, #dash a[href^='javascript']").count() == 0
    agent.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    assert dialogs == []
    assert errors == []
    customer.context.close()
    agent.context.close()


def sign_in(page: Any, stack: Stack) -> None:
    page.goto(f"{stack.hub_url}/console")
    page.get_by_label("Email").fill(stack.settings.demo_agent_email)
    page.get_by_label("Password").fill(stack.settings.demo_agent_password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("#live:has-text('Live')")


def queued_with(stack: Stack, headers: dict[str, str], marker: str) -> int | None:
    listed = httpx.get(
        f"{stack.hub_url}/api/conversations", params={"state": "queued"}, headers=headers
    ).json()["conversations"]
    for summary in listed:
        detail = httpx.get(
            f"{stack.hub_url}/api/conversations/{summary['id']}", headers=headers
        ).json()
        if any(marker in m["text"] for m in detail["messages"]):
            return int(summary["id"])
    return None


def test_console_two_conversations_drafts_unread_pending_handback_transfer(
    stack: Stack, browser: Any
) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    headers = agent_headers(stack)
    contexts = [browser.new_context(viewport={"width": 1440, "height": 900}) for _ in range(3)]
    agent, alice, bob = (c.new_page() for c in contexts)
    errors: list[str] = []
    for page in (agent, alice, bob):
        page.set_default_timeout(60_000)
        page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(agent, stack)

    ids: dict[str, int] = {}
    for name, page in (("alice", alice), ("bob", bob)):
        marker = f"{name}-{uuid.uuid4().hex[:6]}"
        page.goto(f"{stack.hub_url}/")
        say(page, f"My name is {name}, reference {marker}")
        page.get_by_text(marker).first.wait_for()
        say(page, "I want to talk to a person")
        ids[name] = wait_until(lambda m=marker: queued_with(stack, headers, m), what="hand-off")

    def detail(name: str) -> dict[str, Any]:
        url = f"{stack.hub_url}/api/conversations/{ids[name]}"
        return httpx.get(url, headers=headers).json()  # type: ignore[no-any-return]

    def queue_row(name: str) -> Any:
        return agent.locator(f".queue-item[data-id='{ids[name]}']")

    def mine_row(name: str) -> Any:
        return agent.locator(f"#mine .conv-item[data-id='{ids[name]}']")

    reply = agent.locator("#reply")
    take_over = agent.get_by_role("button", name="Take over")

    # Take both; a draft in one survives switching to the other and back.
    queue_row("alice").click()
    take_over.click()
    mine_row("alice").wait_for()
    reply.fill("Draft for Alice, not sent yet")
    queue_row("bob").click()
    take_over.click()
    mine_row("bob").wait_for()
    assert reply.input_value() == ""
    # The ticket panel follows: Bob's ticket is open and assigned to the agent now.
    ticket_panel = agent.locator("#ticket")
    ticket_panel.locator("dd", has_text=stack.settings.demo_agent_name).wait_for(timeout=10_000)
    assert "open" in ticket_panel.inner_text()

    # Alice writes while Bob's conversation is open: an unread marker and the title badge.
    say(alice, "Are you still there?")
    mine_row("alice").locator(".unread", has_text="1").wait_for()
    assert agent.title().startswith("(")

    # Alt+N switches to an internal note and back; Alt+K goes to the article search.
    agent.keyboard.press("Alt+n")
    assert agent.get_by_label("Internal note").is_checked()
    agent.keyboard.press("Alt+n")
    assert agent.get_by_label("Reply to customer").is_checked()
    agent.keyboard.press("Alt+k")
    assert agent.evaluate("document.activeElement.id") == "kb-q"
    agent.screenshot(path=str(ARTIFACTS / "console-two-conversations.png"))

    mine_row("alice").click()
    transcript = agent.locator("#transcript")
    transcript.locator(".msg[data-role=customer]", has_text="Are you still there?").wait_for()
    assert reply.input_value() == "Draft for Alice, not sent yet"
    assert mine_row("alice").locator(".unread").count() == 0

    # Pending, then hand back to the bot.
    agent.get_by_role("button", name="Set pending").click()
    mine_row("alice").locator(".chip", has_text="pending").wait_for()
    assert detail("alice")["ticket"]["status"] == "pending"
    agent.get_by_role("button", name="Hand back to bot").click()
    alice.get_by_text("handed you back to our assistant", exact=False).first.wait_for()
    mine_row("alice").wait_for(state="detached")
    assert detail("alice")["conversation"]["state"] == "bot"

    # Transfer Bob to a team: back in the queue for whoever is next.
    mine_row("bob").click()
    team = httpx.get(f"{stack.hub_url}/api/teams", headers=headers).json()["teams"][0]
    agent.get_by_label("Transfer to").select_option(label=team["name"])
    agent.get_by_role("button", name="Transfer", exact=True).click()
    queue_row("bob").wait_for()
    bob.get_by_text("passed your conversation", exact=False).first.wait_for()
    assert detail("bob")["conversation"]["state"] == "queued"

    # Leave nothing waiting for the other tests.
    queue_row("bob").click()
    take_over.click()
    mine_row("bob").wait_for()
    agent.get_by_role("button", name="Resolve").click()
    mine_row("bob").wait_for(state="detached")
    assert errors == []
    for context in contexts:
        context.close()
