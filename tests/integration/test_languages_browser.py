"""The widget and the agent console in Persian (right to left) and Chinese, in real headless
Chromium against the real hub and Rasa server; screenshots in var/test-artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.fakes.paths import ARTIFACTS
from tests.fakes.shop import Shop
from tests.fakes.stack import Stack
from tests.fakes.widget_client import agent_headers

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("agent_online")]
PERSIAN_ASK = "می‌خواهم با یک نفر صحبت کنم"
# Persian with an English product name and version inside: one paragraph, read right to left.
MIXED = "برنامهٔ Tandem 4.2 روی Linux باز نمی‌شود"


@pytest.fixture(scope="module")
def page_server(stack: Stack) -> Iterator[Shop]:
    shop = Shop(stack.hub_url)
    yield shop
    shop.close()


def widget_page(browser: Any, shop: Shop, lang: str) -> tuple[Any, Any, list[str]]:
    context = browser.new_context(viewport={"width": 1000, "height": 760})
    page = context.new_page()
    page.set_default_timeout(60_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(shop.page_url({"lang": lang, "title": "Tandem"}))
    page.wait_for_selector("#fl-launcher")
    page.click("#fl-launcher")
    page.wait_for_selector("#frontline-widget[data-conversation-id]")
    return context, page, errors


def type_message(page: Any, text: str) -> None:
    box = page.locator("#fl-input")
    box.fill(text)
    box.press("Enter")


def direction(locator: Any) -> str:
    return str(locator.evaluate("el => getComputedStyle(el).direction"))


def test_the_widget_in_persian_reads_right_to_left(
    stack: Stack, browser: Any, page_server: Shop
) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context, page, errors = widget_page(browser, page_server, "fa")
    try:
        panel = page.locator("#frontline-widget")
        assert panel.get_attribute("dir") == "rtl" and panel.get_attribute("lang") == "fa"
        assert direction(panel) == "rtl"
        assert page.locator("#fl-input").get_attribute("placeholder") == "پیامی بنویسید…"
        # The header's title sits at the right edge of the panel (start, in RTL).
        box = panel.bounding_box()
        title = page.locator("#fl-title").bounding_box()
        assert title["x"] + title["width"] > box["x"] + box["width"] * 0.5

        type_message(page, MIXED)
        # Once stored (the pending bubble is replaced by the acknowledged one).
        mine = page.locator(
            "#fl-log .fl-msg[data-role=customer][data-id]:not(.fl-pending)", has_text="Tandem 4.2"
        )
        mine.wait_for()
        assert direction(mine) == "rtl"  # dir=auto: its first strong letter is Persian
        page.locator("#fl-log .fl-msg[data-role=bot]").first.wait_for()

        type_message(page, PERSIAN_ASK)
        page.locator("#fl-log .fl-msg[data-role=bot]", has_text="یکی از همکاران").wait_for()
        notice = page.locator("#fl-log .fl-msg[data-role=system]", has_text="در صف انتظار")
        notice.wait_for()
        assert direction(notice) == "rtl"
        page.screenshot(path=str(ARTIFACTS / "widget-fa.png"))
        assert errors == []
    finally:
        context.close()


def test_the_widget_in_chinese(stack: Stack, browser: Any, page_server: Shop) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context, page, errors = widget_page(browser, page_server, "zh-CN")
    try:
        panel = page.locator("#frontline-widget")
        assert panel.get_attribute("lang") == "zh-CN" and direction(panel) == "ltr"
        fonts = panel.evaluate("el => getComputedStyle(el).fontFamily")
        assert "PingFang SC" in fonts and "Noto Sans CJK SC" in fonts, fonts
        assert page.locator("#fl-input").get_attribute("placeholder") == "输入消息…"
        type_message(page, "你好")
        page.locator("#fl-log .fl-msg[data-role=bot]", has_text="客服助手").wait_for()
        type_message(page, "我要找人工客服")
        page.locator("#fl-log .fl-msg[data-role=system]", has_text="排第").wait_for()
        page.screenshot(path=str(ARTIFACTS / "widget-zh.png"))
        assert errors == []
    finally:
        context.close()


def console_page(browser: Any, stack: Stack, locale: str) -> tuple[Any, Any]:
    """The console in a browser whose language is `locale` (what an agent's browser says)."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale=locale)
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{stack.hub_url}/console")
    page.fill("#login-email", stack.settings.demo_agent_email)
    page.fill("#login-password", stack.settings.demo_agent_password)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#app:not([hidden])")
    return context, page


def queued_conversation(stack: Stack, language: str, text: str) -> int:
    from tests.fakes.widget_client import WidgetClient

    widget = WidgetClient(stack.widget_ws, language=language, explicit=True)
    try:
        widget.say(text)
        widget.wait_state("queued")
        assert widget.conversation_id is not None
        return widget.conversation_id
    finally:
        widget.close()


@pytest.mark.parametrize(
    ("locale", "customer", "said", "take_over", "language_name", "dir"),
    [
        ("fa-IR", "fa", PERSIAN_ASK, "تحویل گرفتن", "فارسی", "rtl"),
        ("zh-CN", "zh", "我要找人工客服", "接管", "中文", "ltr"),
    ],
)
def test_the_console_in_the_agents_language(
    stack: Stack,
    browser: Any,
    locale: str,
    customer: str,
    said: str,
    take_over: str,
    language_name: str,
    dir: str,
) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    cid = queued_conversation(stack, customer, said)
    context, page = console_page(browser, stack, locale)
    try:
        html = page.locator("html")
        assert html.get_attribute("dir") == dir and direction(page.locator("body")) == dir
        row = page.locator(f".queue-item[data-id='{cid}']")
        row.wait_for()
        assert language_name in row.inner_text()  # the customer's language, named for the agent
        row.click()
        page.locator("#transcript .msg[data-role=customer]", has_text=said).wait_for()
        assert language_name in page.locator("#conv-sub").inner_text()
        assert page.locator("#takeover").inner_text() == take_over
        customer_text = page.locator("#transcript .msg[data-role=customer] .msg-text").last
        expected = "rtl" if customer == "fa" else "ltr"
        assert direction(customer_text) == expected
        if dir == "rtl":
            # Mirrored: the queue column is at the right, the conversation to its left.
            queue = page.locator(".queue-column").bounding_box()
            detail = page.locator(".detail-column").bounding_box()
            assert queue["x"] > detail["x"]
        page.screenshot(path=str(ARTIFACTS / f"console-{customer}.png"))
        # The language menu switches it back to English for this agent.
        page.select_option("#console-lang", "en")
        page.wait_for_selector("#app:not([hidden])")
        assert page.locator("html").get_attribute("dir") == "ltr"
        assert page.locator("#takeover").inner_text() == "Take over"
    finally:
        context.close()
        httpx.post(
            f"{stack.hub_url}/api/conversations/{cid}/takeover", headers=agent_headers(stack)
        )


@pytest.mark.parametrize(
    ("locale", "dir", "overall", "containment", "role_header", "active", "pages"),
    [
        ("fa-IR", "rtl", "کل", "حل‌شده به دست ربات", "نقش", "فعال",
         ("مقاله‌ها", "پالایش بر اساس عنوان، برچسب یا زبان", "کمبودهای پایگاه دانش")),  # noqa: RUF001
        ("zh-CN", "ltr", "总体", "机器人解决率", "角色", "已启用",
         ("文章", "按标题、标签或语言筛选", "知识缺口")),
    ],
)  # fmt: skip
def test_the_dashboard_and_the_agents_page_in_the_agents_language(
    stack: Stack,
    browser: Any,
    locale: str,
    dir: str,
    overall: str,
    containment: str,
    role_header: str,
    active: str,
    pages: tuple[str, str, str],
) -> None:
    """The console's other pages take the same interface language (the browser's, or the
    menu's) and direction as the console: static headings, figures' names, table headers
    and the texts the page builds from the hub's data."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    articles, t_filter, gaps = pages
    short = locale.split("-")[0]
    context = browser.new_context(viewport={"width": 1300, "height": 900}, locale=locale)
    page = context.new_page()
    page.set_default_timeout(60_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{stack.hub_url}/console/dashboard")
        page.fill("#login-email", stack.settings.demo_agent_email)
        page.fill("#login-password", stack.settings.demo_agent_password)
        page.click("#login-form button[type=submit]")
        page.locator("[data-figure='conversations']").wait_for()
        html = page.locator("html")
        assert html.get_attribute("dir") == dir and direction(page.locator("body")) == dir
        assert html.get_attribute("lang") == ("zh-CN" if short == "zh" else short)
        assert page.locator("#dash h2").first.inner_text() == overall
        card = page.locator(".card[data-metric='Bot containment'] dt")
        assert card.inner_text() == containment
        assert direction(page.locator("#chart svg")) == "ltr"  # the chart is drawn left to right
        # Dates inside a sentence keep their order (2026-11-02, not 02-11-2026 in Persian).
        start = page.locator("#range bdi").first
        assert direction(start) == "ltr" and start.inner_text() == page.input_value("#start")
        assert page.input_value("#console-lang") == ("zh-CN" if short == "zh" else short)
        page.screenshot(path=str(ARTIFACTS / f"dashboard-{short}.png"))

        page.goto(f"{stack.hub_url}/console/admin")  # same tab: still signed in
        me = page.locator(f"#agents tr[data-email='{stack.settings.demo_agent_email}']")
        me.wait_for()
        assert page.locator("html").get_attribute("dir") == dir
        assert role_header in page.locator("#agents thead").inner_text()
        assert me.locator("td.status").inner_text() == active
        page.screenshot(path=str(ARTIFACTS / f"admin-agents-{short}.png"))

        # The knowledge-base editor and the knowledge gaps: their headings and placeholders.
        page.goto(f"{stack.hub_url}/console/kb")
        page.locator("#articles li").first.wait_for()
        assert page.locator("#articles-title").inner_text() == articles
        assert page.get_attribute("#filter", "placeholder") == t_filter
        page.goto(f"{stack.hub_url}/console/gaps")
        page.locator("#summary:not(:empty)").wait_for()
        assert page.locator("#page h2").first.inner_text() == gaps
        page.screenshot(path=str(ARTIFACTS / f"knowledge-gaps-{short}.png"))

        # The menu switches back to English, for these pages as for the console.
        page.select_option("#console-lang", "en")
        page.wait_for_function("() => document.documentElement.dir === 'ltr'")
        page.locator("#summary:not(:empty)").wait_for()
        assert page.locator("#page h2").first.inner_text() == "Knowledge gaps"
        assert errors == []
    finally:
        context.close()
