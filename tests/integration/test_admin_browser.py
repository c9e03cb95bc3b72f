"""The admins' pages in real headless Chromium (Debian's, driven by Playwright) against a
real hub under uvicorn: an admin creates an agent and deactivates it on the agents page, and
the audit log page shows both. The console signs in its live socket by the first frame and
its "Log out" ends the session on the hub. No Rasa is needed for any of it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from api.settings import Settings
from tests.fakes.paths import ARTIFACTS
from tests.fakes.stack import HubServer, free_port

pytestmark = pytest.mark.integration
DEMO = ("agent@example.com", "frontline")
PASSWORD = "a long enough passphrase"


@pytest.fixture(scope="module")
def hub_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    var = tmp_path_factory.mktemp("admin-var")
    settings = Settings(
        var_dir=var,
        index_dir=var / "no-index",  # the hub runs without a knowledge base
        channels_file=var / "channels.yml",  # absent: live channels only
        port=free_port(),
        rasa_port=free_port(),  # nothing listens there; these pages do not need Rasa
    )
    hub = HubServer(settings)
    hub.start()
    try:
        yield settings.hub_url
    finally:
        hub.stop()


def sign_in(page: Any, email: str, password: str) -> None:
    page.fill("#login-email", email)
    page.fill("#login-password", password)
    page.click("#login-form button[type=submit]")


def test_admin_creates_and_deactivates_an_agent_and_the_audit_log_shows_it(
    hub_url: str, browser: Any
) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_context(viewport={"width": 1300, "height": 900}).new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda dialog: dialog.accept())

    page.goto(f"{hub_url}/console/admin")
    sign_in(page, *DEMO)
    page.wait_for_selector("#agents tr[data-email='agent@example.com']")
    assert page.is_visible("nav a[href='/console/audit']")

    page.fill("#new-name", "Robin <b>Lee</b>")
    page.fill("#new-email", "robin@example.com")
    page.fill("#new-password", "short")
    page.select_option("#new-role", "lead")
    page.click("#new-agent button[type=submit]")
    page.wait_for_selector("#error:has-text('12 characters')")
    page.fill("#new-password", PASSWORD)
    page.click("#new-agent button[type=submit]")
    row = page.wait_for_selector("#agents tr[data-email='robin@example.com']")
    assert "Robin <b>Lee</b>" in row.inner_text()  # shown as text, never as markup
    assert page.locator("#agents b").count() == 0
    assert page.input_value("#agents tr[data-email='robin@example.com'] select") == "lead"
    login = {"email": "robin@example.com", "password": PASSWORD}
    assert httpx.post(f"{hub_url}/api/auth/login", json=login).status_code == 200

    page.click("button[aria-label='Deactivate robin@example.com']")
    page.wait_for_selector(
        "#agents tr[data-email='robin@example.com'] td.status:has-text('deactivated')"
    )
    page.screenshot(path=str(ARTIFACTS / "admin-agents.png"))
    assert httpx.post(f"{hub_url}/api/auth/login", json=login).status_code == 401

    page.click("nav a[href='/console/audit']")
    page.wait_for_selector("#audit tr[data-action='agent_deactivate']")
    created = page.locator("#audit tr[data-action='agent_create']")
    assert "robin@example.com" in created.inner_text()
    assert "robin@example.com" in page.inner_text("#audit tr[data-action='agent_deactivate']")
    page.fill("#f-action", "agent_create")
    page.click("#audit-form button[type=submit]")
    page.wait_for_function(
        "() => document.querySelectorAll('#audit tbody tr').length === 1"
        " && document.querySelector('#audit tbody tr').dataset.action === 'agent_create'"
    )
    page.screenshot(path=str(ARTIFACTS / "admin-audit.png"))
    assert errors == []


def test_console_socket_and_log_out_end_the_session_on_the_hub(hub_url: str, browser: Any) -> None:
    page = browser.new_context().new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{hub_url}/console")
    sign_in(page, *DEMO)
    page.wait_for_selector("#live:has-text('Live')")  # the socket signed in by its first frame
    token = page.evaluate("sessionStorage.getItem('frontline.agent_token')")
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{hub_url}/api/me", headers=headers).status_code == 200
    assert page.is_visible("nav a[href='/console/admin']")  # the demo agent is an admin

    page.click("#logout")
    page.wait_for_selector("#login-form")
    assert httpx.get(f"{hub_url}/api/me", headers=headers).status_code == 401


def test_the_admin_pages_are_refused_to_a_plain_agent(hub_url: str, browser: Any) -> None:
    admin = httpx.post(f"{hub_url}/api/auth/login", json={"email": DEMO[0], "password": DEMO[1]})
    headers = {"Authorization": f"Bearer {admin.json()['token']}"}
    httpx.post(
        f"{hub_url}/api/agents",
        json={"email": "plain@example.com", "name": "Plain", "password": PASSWORD},
        headers=headers,
    ).raise_for_status()
    page = browser.new_context().new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{hub_url}/console/audit")
    sign_in(page, "plain@example.com", PASSWORD)
    page.wait_for_selector("#error:has-text('for admins')")
    assert not page.is_visible("#audit")
    assert not page.is_visible("nav a[href='/console/admin']")
