"""The embeddable widget in real headless Chromium (Debian's /usr/bin/chromium, driven by
Playwright), against the real hub and Rasa server.

Each test builds its own page on another origin (a small HTTP server of the test) that embeds
the widget with the one `<script>` snippet from the README, so what is checked is what a
customer's site gets.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from tests.fakes.paths import ARTIFACTS
from tests.fakes.shop import Shop
from tests.fakes.stack import Stack, agent_socket
from tests.fakes.widget_client import agent_headers

pytestmark = pytest.mark.integration
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
IDENTITY_SECRET = "identity-secret-of-the-test-site"

# Keeps every WebSocket the page opens in window.__flSockets, and can drop the connection
# right after the next message frame leaves (before the hub's ack can come back).
SOCKET_SPY = """
(() => {
  const Native = window.WebSocket;
  window.__flSockets = [];
  window.__flDropAfterMessage = false;
  window.WebSocket = class extends Native {
    constructor(...args) { super(...args); window.__flSockets.push(this); }
    send(data) {
      super.send(data);
      if (window.__flDropAfterMessage && String(data).includes('"type":"message"')) {
        window.__flDropAfterMessage = false;
        this.close();
      }
    }
  };
})();
"""


@pytest.fixture(scope="module")
def shop(stack: Stack) -> Iterator[Shop]:
    shop = Shop(stack.hub_url)
    yield shop
    shop.close()


class Site:
    """A browser (its own context: storage, network) visiting the shop."""

    def __init__(
        self, browser: Any, stack: Stack, shop: Shop, viewport: dict[str, int] = DESKTOP
    ) -> None:
        self.stack = stack
        self.shop = shop
        self.context = browser.new_context(viewport=viewport)
        self.errors: list[str] = []
        self.dialogs: list[str] = []

    def page(self, **options: str) -> Any:
        """A new tab on the shop, the widget embedded with these data- options."""
        url = self.shop.page_url({k.replace("_", "-"): v for k, v in options.items()})
        page = self.context.new_page()
        page.set_default_timeout(60_000)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        page.goto(url)
        page.wait_for_selector("#fl-launcher")
        return page

    def close(self) -> None:
        self.context.close()
        assert self.errors == [], self.errors
        assert self.dialogs == [], self.dialogs


@pytest.fixture
def site(browser: Any, stack: Stack, shop: Shop) -> Iterator[Site]:
    site = Site(browser, stack, shop)
    yield site
    site.close()


def open_chat(page: Any) -> None:
    if not page.is_visible("#frontline-widget"):
        page.click("#fl-launcher")
    page.wait_for_selector("#frontline-widget[data-conversation-id]")


def say(page: Any, text: str) -> None:
    box = page.get_by_role("textbox", name="Message")
    box.fill(text)
    box.press("Enter")


def conversation_id(page: Any) -> int:
    """The widget's conversation, known once its first message is stored (the hub creates
    nothing before: the attribute is empty until then)."""
    page.wait_for_selector("#frontline-widget[data-conversation-id]:not([data-conversation-id=''])")
    return int(page.get_attribute("#frontline-widget", "data-conversation-id"))


def detail(stack: Stack, cid: int) -> dict[str, Any]:
    response = httpx.get(
        f"{stack.hub_url}/api/conversations/{cid}", headers=agent_headers(stack), timeout=10
    )
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]


def texts(stack: Stack, cid: int, role: str) -> list[str]:
    return [m["text"] for m in detail(stack, cid)["messages"] if m["role"] == role]


def wait_until(check: Callable[[], Any], timeout: float = 60, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def bubbles(page: Any, role: str, text: str | None = None) -> Any:
    locator = page.locator(f"#fl-log .fl-msg[data-role={role}]")
    return locator.filter(has_text=text) if text else locator


def test_reload_and_second_tab_keep_the_whole_conversation(site: Site) -> None:
    stack = site.stack
    page = site.page(
        title="Help", greeting="Hi! Ask away.", color="#0b5cad", position="right", lang="en"
    )
    # The launcher is all there is until the customer opens it; nothing is created before.
    assert not page.is_visible("#frontline-widget")
    assert page.evaluate("localStorage.getItem('frontline.token')") is None
    open_chat(page)
    assert page.inner_text("#fl-title") == "Help"
    assert "Hi! Ask away." in page.inner_text("#fl-log")
    header = page.eval_on_selector(
        "#frontline-widget .fl-header", "e => getComputedStyle(e).backgroundColor"
    )
    assert header == "rgb(11, 92, 173)"
    assert page.get_attribute("#frontline-widget", "data-conversation-id") == ""  # none yet

    say(page, "How do I reset my password?")
    source = page.wait_for_selector("#fl-log .fl-msg[data-role=bot] a.fl-source")
    cid = conversation_id(page)
    assert detail(stack, cid)["conversation"]["language"] == "en"
    assert source.get_attribute("href") == stack.link(stack.article("reset-password"))
    assert page.get_attribute("#fl-log", "role") == "log"

    # A reload right after sending: the message goes out from this tab's saved outbox if it
    # had not left yet, and the answer arrives; nothing is lost, nothing doubled.
    say(page, "How do I export my data?")
    page.reload()
    page.wait_for_selector("#frontline-widget[data-conversation-id]")  # still open
    assert conversation_id(page) == cid
    wait_until(
        lambda: bubbles(page, "bot").count() >= 2 and not page.query_selector(".fl-pending"),
        what="the answer to the message sent across the reload",
    )
    assert bubbles(page, "customer", "How do I reset my password?").count() == 1
    assert bubbles(page, "customer", "How do I export my data?").count() == 1
    assert texts(stack, cid, "customer") == [
        "How do I reset my password?",
        "How do I export my data?",
    ]

    # Another tab of the same site shows the same conversation, and hears new messages.
    other = site.page(title="Help")
    open_chat(other)
    assert conversation_id(other) == cid
    assert other.inner_text("#fl-log").count("How do I export my data?") == 1
    say(other, "Thanks, that's all")
    bubbles(page, "customer", "Thanks, that's all").wait_for()
    other.close()

    # Escape closes the chat and gives the focus back to the launcher.
    page.focus("#fl-input")
    page.keyboard.press("Escape")
    assert not page.is_visible("#frontline-widget")
    assert page.evaluate("document.activeElement.id") == "fl-launcher"
    page.keyboard.press("Enter")  # the launcher is a button: Enter opens, focus to the input
    assert page.is_visible("#frontline-widget")
    assert page.evaluate("document.activeElement.id") == "fl-input"


def test_a_dropped_connection_loses_nothing_and_doubles_nothing(site: Site) -> None:
    stack = site.stack
    site.context.add_init_script(SOCKET_SPY)
    page = site.page(title="Help")
    open_chat(page)
    say(page, "How do I reset my password?")
    cid = conversation_id(page)
    bubbles(page, "bot").first.wait_for()

    # The network goes away: what the customer writes meanwhile waits in the widget.
    site.context.set_offline(True)
    page.evaluate("window.__flSockets.forEach((s) => s.close())")
    page.wait_for_selector("#fl-conn:has-text('Connection lost')")
    say(page, "How do I export my data?")
    page.wait_for_selector(".fl-pending:has-text('How do I export my data?')")
    time.sleep(2)  # a reconnect attempt or two fail while offline
    assert "How do I export my data?" not in texts(stack, cid, "customer")

    site.context.set_offline(False)
    wait_until(
        lambda: not page.query_selector(".fl-pending") and bubbles(page, "bot").count() >= 2,
        what="the offline message to be delivered and answered",
    )
    assert page.inner_text("#fl-conn") == ""

    # The connection drops after a message left but before its ack came back: the widget
    # sends it again with the same client id, and the hub stores and answers it once.
    page.evaluate("window.__flDropAfterMessage = true")
    say(page, "Can I invite a guest to a project?")
    wait_until(
        lambda: (
            page.evaluate("window.__flSockets.length") >= 3
            and not page.query_selector(".fl-pending")
        ),
        what="the re-sent message to be acknowledged",
    )
    wait_until(lambda: detail(stack, cid)["messages"][-1]["role"] == "bot", what="the third answer")
    time.sleep(1)
    messages = detail(stack, cid)["messages"]
    assert [m["text"] for m in messages if m["role"] == "customer"] == [
        "How do I reset my password?",
        "How do I export my data?",
        "Can I invite a guest to a project?",
    ]
    last_question = max(i for i, m in enumerate(messages) if m["role"] == "customer")
    answers = [m["text"] for m in messages[last_question + 1 :] if m["role"] == "bot"]
    assert answers and len(answers) == len(set(answers)), answers  # answered once
    for text in ("How do I export my data?", "Can I invite a guest to a project?"):
        assert bubbles(page, "customer", text).count() == 1
    shown_ids = page.eval_on_selector_all(
        "#fl-log .fl-msg[data-id]", "ns => ns.map(n => n.dataset.id)"
    )
    assert len(shown_ids) == len(set(shown_ids)) == len(messages)


def test_hand_off_queue_position_badge_typing_markdown_and_rating(
    site: Site, agent_online: None
) -> None:
    stack = site.stack
    headers = agent_headers(stack)
    page = site.page(title="Help", position="left", color="#7a3ea1")
    box = page.locator("#fl-launcher").bounding_box()
    assert box["x"] < DESKTOP["width"] / 2  # on the left
    open_chat(page)
    say(page, "I want to talk to a person")
    cid = conversation_id(page)
    page.wait_for_selector("#fl-status:has-text('Waiting for an agent')")
    queue = page.wait_for_selector("#fl-queue:has-text('in the queue')")
    assert re.fullmatch(r"You are number \d+ in the queue(, about \d+ min)?\.", queue.inner_text())
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "widget-queue.png"))

    # The customer closes the chat; the agent takes over and replies: the launcher counts them.
    page.click("#fl-close")
    assert page.is_visible("#fl-launcher") and not page.is_visible("#fl-badge")
    assert (
        httpx.post(f"{stack.hub_url}/api/conversations/{cid}/takeover", headers=headers).status_code
        == 200
    )
    reply = (
        "**Hi**, I'm on it. Steps:\n\n- open *Settings*\n- see [the guide](https://help.tandem.example/guide)\n\n"
        "<img src=x onerror=alert(1)> [bad](javascript:alert(2))"
    )
    sent = httpx.post(
        f"{stack.hub_url}/api/conversations/{cid}/messages", json={"text": reply}, headers=headers
    )
    assert sent.status_code == 200, sent.text
    badge = page.wait_for_selector("#fl-badge:not([hidden])")
    assert int(badge.inner_text()) >= 1
    assert "unread" in (page.get_attribute("#fl-launcher", "aria-label") or "")
    page.screenshot(path=str(ARTIFACTS / "widget-badge.png"))

    page.click("#fl-launcher")
    assert not page.is_visible("#fl-badge")
    assert "joined" in page.inner_text("#fl-status")
    agent_bubble = bubbles(page, "agent").last
    assert agent_bubble.locator("strong", has_text="Hi").count() == 1
    assert agent_bubble.locator("li").count() == 2
    guide = agent_bubble.locator("a", has_text="the guide")
    assert guide.get_attribute("href") == "https://help.tandem.example/guide"
    assert agent_bubble.locator("img").count() == 0
    assert agent_bubble.locator("a[href^='javascript']").count() == 0
    assert "[bad](javascript:alert(2))" in agent_bubble.inner_text()
    assert "<img src=x onerror=alert(1)>" in agent_bubble.inner_text()

    # Typing, both ways, through the agents' live socket.
    token = headers["Authorization"].split()[1]
    console = agent_socket(stack.hub_url, token)
    try:
        console.send(json.dumps({"type": "typing", "conversation_id": cid}))
        page.wait_for_selector(f"#fl-typing:has-text('{stack.settings.demo_agent_name} is typing')")
        page.wait_for_timeout(2600)  # the widget sends "typing" at most every 2.5 s
        page.locator("#fl-input").press_sequentially("hel")

        def customer_typing() -> bool:
            while True:
                frame = json.loads(console.recv(timeout=10))
                if frame.get("type") == "typing":
                    return frame == {"type": "typing", "conversation_id": cid, "role": "customer"}

        assert customer_typing()
    finally:
        console.close()

    # Resolved: the bot asks for a rating, 1 to 5, and the customer's choice is stored.
    resolved = httpx.post(f"{stack.hub_url}/api/conversations/{cid}/resolve", headers=headers)
    assert resolved.status_code == 200
    rating = page.wait_for_selector(".fl-buttons.fl-rating:not(.fl-stale)")
    assert [b.inner_text() for b in rating.query_selector_all("button")] == [
        "1",
        "2",
        "3",
        "4",
        "5",
    ]
    page.get_by_role("button", name="5", exact=True).last.click()
    wait_until(
        lambda: detail(stack, cid)["ticket"]["csat"]["score"] == 5,
        what="the rating to be stored",
    )


def test_nobody_online_shows_the_contact_form(site: Site) -> None:
    stack = site.stack
    page = site.page(title="Help")
    open_chat(page)
    say(page, "I want to talk to a person")
    cid = conversation_id(page)
    form = page.wait_for_selector("#fl-contact:not([hidden])")
    assert page.get_by_label("Your email").is_visible()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "widget-contact-form.png"))

    page.get_by_label("Your email").fill("not an address")
    page.click("#fl-contact-send")
    assert "email address" in page.inner_text("#fl-contact-error")
    page.get_by_label("Your email").fill("sam@example.com")
    page.get_by_label("What do you need help with? (optional)").fill("My export stops at 42%")
    page.click("#fl-contact-send")
    form.wait_for_element_state("hidden")
    page.wait_for_selector("#fl-status:has-text('Waiting for an agent')")
    bubbles(page, "customer", "My export stops at 42%").and_(page.locator("[data-id]")).wait_for()

    conversation = detail(stack, cid)
    assert conversation["conversation"]["contact"]["email"] == "sam@example.com"
    assert conversation["conversation"]["ticket"]["reason"] == "customer_request"
    customer = texts(stack, cid, "customer")
    assert customer == ["I want to talk to a person", "sam@example.com", "My export stops at 42%"]
    notice = texts(stack, cid, "system")[-1]
    assert "reply by email at sam@example.com" in notice
    # The message went to people after the hand-off, not to the bot.
    messages = detail(stack, cid)["messages"]
    assert messages[-1]["text"] == "My export stops at 42%"


def test_a_signed_identity_files_the_chat_under_the_contact(
    browser: Any, stack: Stack, shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stack.settings, "identity_secret", SecretStr(IDENTITY_SECRET))
    user_id = f"shop-user-{uuid.uuid4().hex[:8]}"
    signed = hmac.new(IDENTITY_SECRET.encode(), user_id.encode(), hashlib.sha256).hexdigest()
    identity = {
        "user_id": user_id,
        "user_hash": signed,
        "user_name": "Ann Example",
        "user_email": "ann@example.com",
    }
    first = Site(browser, stack, shop)
    try:
        page = first.page(title="Help", **identity)
        open_chat(page)
        say(page, "How do I reset my password?")
        bubbles(page, "bot").first.wait_for()
        cid = conversation_id(page)
        contact = detail(stack, cid)["conversation"]["contact"]
        assert (contact["name"], contact["email"]) == ("Ann Example", "ann@example.com")
        record = httpx.get(
            f"{stack.hub_url}/api/contacts/{contact['id']}", headers=agent_headers(stack)
        ).json()
        assert {"channel": "web", "external_id": user_id} in record["identities"]
    finally:
        first.close()

    # The same user in another browser (nothing stored): the same conversation comes back.
    second = Site(browser, stack, shop)
    try:
        page = second.page(title="Help", **identity)
        open_chat(page)
        assert conversation_id(page) == cid
        bubbles(page, "customer", "How do I reset my password?").wait_for()
    finally:
        second.close()

    # A hash that does not match: refused, nothing attached; the customer chats as a guest.
    forged = Site(browser, stack, shop)
    try:
        page = forged.page(title="Help", user_id=user_id, user_hash="0" * 64, user_name="Mallory")
        open_chat(page)
        assert "could not confirm who you are" in page.inner_text("#fl-conn")
        say(page, "Show me Ann's conversation")
        assert conversation_id(page) != cid
        bubbles(page, "customer", "Ann's conversation").and_(page.locator("[data-id]")).wait_for()
        guest = detail(stack, conversation_id(page))["conversation"]["contact"]
        assert guest["id"] != contact["id"] and guest["name"] != "Mallory"
        assert "Show me Ann's conversation" not in texts(stack, cid, "customer")
    finally:
        forged.close()


def test_the_widget_speaks_the_language_it_is_given(browser: Any, site: Site) -> None:
    page = site.page(title="Hilfe", lang="de-AT")
    launcher = page.locator("#fl-launcher")
    assert launcher.get_attribute("lang") == "de"
    assert launcher.get_attribute("aria-label") == "Chat öffnen"
    open_chat(page)
    assert page.get_attribute("#frontline-widget", "lang") == "de"
    assert page.get_attribute("#fl-log", "aria-label") == "Unterhaltung"
    box = page.get_by_role("textbox", name="Nachricht")
    assert box.get_attribute("placeholder") == "Nachricht eingeben…"
    assert page.get_by_role("button", name="Senden").is_visible()
    assert page.get_attribute("#fl-close", "aria-label") == "Chat schließen"
    # Nobody is signed in to the console in this test, so the bot says the team is away.
    page.wait_for_selector("#fl-status:text-is('Assistent · unser Team ist nicht erreichbar')")
    box.fill("Hallo")  # the conversation (and its language) is stored with the first message
    box.press("Enter")
    assert detail(site.stack, conversation_id(page))["conversation"]["language"] == "de"

    # A language without a table gets English; a site may reword single strings.
    other = Site(browser, site.stack, site.shop)
    try:
        other.context.add_init_script("window.FrontlineWidget = {strings: {send: 'Go'}};")
        page = other.page(lang="xx")
        assert page.get_attribute("#fl-launcher", "lang") == "en"
        assert page.get_attribute("#fl-launcher", "aria-label") == "Open chat"
        open_chat(page)
        assert page.get_attribute("#fl-input", "placeholder") == "Type a message…"
        assert page.get_by_role("button", name="Go", exact=True).is_visible()
    finally:
        other.close()


def test_screenshots_on_desktop_and_phone(browser: Any, stack: Stack, shop: Shop) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    desktop = Site(browser, stack, shop, DESKTOP)
    try:
        page = desktop.page(
            title="Example shop help", greeting="Hi! How can we help?", color="#0b5cad"
        )
        open_chat(page)
        say(page, "How do I reset my password?")
        page.wait_for_selector("#fl-log .fl-msg[data-role=bot] .fl-buttons:not(.fl-stale)")
        page.wait_for_selector("#fl-typing:not(.fl-active)", state="attached")
        page.screenshot(path=str(ARTIFACTS / "widget-desktop.png"))
    finally:
        desktop.close()

    phone = Site(browser, stack, shop, PHONE)
    try:
        page = phone.page(
            title="Example shop help", greeting="Hi! How can we help?", color="#0b5cad"
        )
        page.screenshot(path=str(ARTIFACTS / "widget-phone-closed.png"))
        open_chat(page)
        # Full screen under ~480 px: the panel covers the viewport, the launcher steps aside.
        box = page.locator("#frontline-widget").bounding_box()
        assert (box["x"], box["y"], box["width"], box["height"]) == (
            0,
            0,
            PHONE["width"],
            PHONE["height"],
        )
        assert not page.is_visible("#fl-launcher")
        say(page, "How do I reset my password?")
        page.wait_for_selector("#fl-log .fl-msg[data-role=bot] .fl-buttons:not(.fl-stale)")
        page.wait_for_selector("#fl-typing:not(.fl-active)", state="attached")
        page.screenshot(path=str(ARTIFACTS / "widget-phone.png"))
        page.get_by_role("button", name="Close chat").click()
        assert not page.is_visible("#frontline-widget") and page.is_visible("#fl-launcher")
    finally:
        phone.close()
