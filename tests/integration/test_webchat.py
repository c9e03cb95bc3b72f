"""The real `rasa-webchat` widget (npm, installed by `make webchat`) on a site of its own,
pointed at the hub: answers from the real Rasa server and knowledge base, quick replies, a
reload that resumes the conversation, and a hand-off to an agent, in headless Chromium."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from tests.fakes.paths import ARTIFACTS, ROOT
from tests.fakes.stack import Stack

pytestmark = pytest.mark.integration
WEBCHAT_VERSION = "1.0.1"  # as in the Makefile's `webchat` target
WEBCHAT_JS = ROOT / "var" / "webchat" / f"rasa-webchat-{WEBCHAT_VERSION}" / "lib" / "index.js"

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Shop</title></head>
<body><h1>A site that already runs rasa-webchat</h1>
<script src="/rasa-webchat.js"></script>
<script>
  WebChat.default({socketUrl: %s, socketPath: "/socket.io/", customData: {language: "en"},
                   title: "Help"}, null);
</script></body></html>
"""


class Site:
    """The customer's own site on another origin: a page with the widget, as rasa-webchat's
    README embeds it. A real local server, since Chromium lets only a loopback page reach
    the loopback hub (Private Network Access)."""

    def __init__(self, hub_url: str) -> None:
        page = (PAGE % json.dumps(hub_url)).encode()
        script = WEBCHAT_JS.read_bytes()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body, kind = {
                    "/": (page, "text/html"),
                    "/rasa-webchat.js": (script, "text/javascript"),
                }.get(self.path, (b"not found", "text/plain"))
                self.send_response(200 if body != b"not found" else 404)
                self.send_header("Content-Type", f"{kind}; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def site(stack: Stack) -> Iterator[Site]:
    served = Site(stack.hub_url)
    yield served
    served.close()


def say(page: Any, text: str) -> None:
    page.fill(".rw-new-message", text)
    page.press(".rw-new-message", "Enter")


def response_with(page: Any, text: str) -> Any:
    return page.wait_for_selector(f".rw-response:has-text({json.dumps(text)})", timeout=60_000)


def webchat_conversation(agents: httpx.Client, question: str) -> dict[str, Any]:
    """The webchat conversation whose customer asked `question`, as agents see it."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for summary in agents.get("/api/conversations").json()["conversations"]:
            if summary["channel"] != "webchat":
                continue
            detail = agents.get(f"/api/conversations/{summary['id']}").json()
            if any(m["text"] == question for m in detail["messages"]):
                return detail
        time.sleep(0.5)
    raise AssertionError(f"no webchat conversation with {question!r}")


def test_rasa_webchat_gets_answers_and_an_agent(
    stack: Stack, browser: Any, site: Site, agent_online: None
) -> None:
    s = stack.settings
    agents = httpx.Client(base_url=stack.hub_url, timeout=30)
    token = agents.post(
        "/api/auth/login", json={"email": s.demo_agent_email, "password": s.demo_agent_password}
    ).json()["token"]
    agents.headers["Authorization"] = f"Bearer {token}"

    page = browser.new_context(viewport={"width": 1000, "height": 860}).new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(site.url)
    page.click(".rw-launcher")

    question = "How do I reset my password?"
    say(page, question)
    answer = response_with(page, "open the sign-in page")
    assert "Forgot password?" in answer.inner_text()
    source_url = stack.link(stack.article("reset-password"))
    link = page.wait_for_selector(f".rw-response a[href='{source_url}']")
    assert link.inner_text() == "Reset your password"
    response_with(page, "Did this help?")
    page.click(".rw-reply:has-text('Yes')")  # the quick reply's payload goes back to the hub
    response_with(page, "Glad it helped")

    # A reload: rasa-webchat sends its stored session id and the conversation goes on.
    session_id = page.evaluate("JSON.parse(localStorage.getItem('chat_session')).session_id")
    page.reload()
    page.wait_for_selector(".rw-response:has-text('Glad it helped')")
    assert (
        page.evaluate("JSON.parse(localStorage.getItem('chat_session')).session_id") == session_id
    )
    if page.query_selector(".rw-new-message") is None:
        page.click(".rw-launcher")
    say(page, "I want to talk to a person")
    response_with(page, "queue")

    detail = webchat_conversation(agents, question)
    conversation = detail["conversation"]
    assert conversation["state"] == "queued" and conversation["ticket"]["number"]
    customer = [m["text"] for m in detail["messages"] if m["role"] == "customer"]
    assert customer == [question, "Yes", "I want to talk to a person"]
    cid = conversation["id"]
    assert agents.post(f"/api/conversations/{cid}/takeover").status_code == 200
    response_with(page, "joined the conversation")
    hostile = "Dana here. <img src=x onerror=alert(1)> [click](javascript:alert(2))"
    assert (
        agents.post(f"/api/conversations/{cid}/messages", json={"text": hostile}).status_code == 200
    )
    reply = response_with(page, "Dana here.")
    assert hostile in reply.inner_text()
    assert page.query_selector(".rw-messages-container img[src='x']") is None
    assert page.query_selector(".rw-messages-container a[href^='javascript']") is None
    assert dialogs == []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "webchat.png"))
    agents.post(f"/api/conversations/{cid}/resolve")
