"""Slack customers through the real hub and the real Rasa server, against a local fake of the
Web API (tests/fakes/slack_api.py): a KB answer with its source in the customer's thread, the
same event retried by Slack answered once, a button press, a hand-off and an agent's reply
past a rate limit, an archived channel shown as not delivered, forged requests refused."""

from __future__ import annotations

import time

import httpx
import pytest

from retrieval.sources import load_articles
from tests.fakes.channel_checks import conversation, customer_texts, eventually
from tests.fakes.slack_api import (
    BOT_ID,
    FakeSlackApi,
    button_payload,
    form_body,
    load_fixture,
    message_event,
    new_ts,
    post_event,
)
from tests.fakes.stack import Stack
from tests.fakes.widget_client import agent_headers

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("agent_online")]
SECRET = "integration-slack-signing-secret"  # tests/integration/conftest.py writes it


def texts(fake: FakeSlackApi, channel: str) -> list[str]:
    return [str(c.params.get("text", "")) for c in fake.posts(channel)]


def test_a_question_is_answered_in_its_thread_once_and_a_button_press_chooses(
    stack: Stack, fake_slack: FakeSlackApi
) -> None:
    channel, user = "D0TESS", "U0TESS"
    event = message_event(
        "How do I reset my password?", user=user, channel=channel, name="Tess Slack"
    )
    root = event["event"]["ts"]
    assert post_event(stack.hub_url, event, SECRET).status_code == 200
    article = next(
        a
        for a in load_articles(stack.settings.kb_dir)
        if a.id == "reset-password" and a.lang == "en"
    )
    answer = eventually(
        lambda: next((t for t in texts(fake_slack, channel) if stack.link(article) in t), None)
    )
    assert f"<{stack.link(article)}|{article.title}>" in answer  # the source, as a Slack link
    assert all(c.params["thread_ts"] == root for c in fake_slack.posts(channel))
    # Slack retries the same event (X-Slack-Retry-Num): stored once, answered once.
    for attempt in (1, 2):
        assert post_event(stack.hub_url, event, SECRET, retry_num=attempt).status_code == 200
    time.sleep(2)
    assert customer_texts(stack, "slack", "Tess Slack") == ["How do I reset my password?"]
    assert sum(stack.link(article) in t for t in texts(fake_slack, channel)) == 1
    # The "did this help?" choice is a Block Kit button; pressing it is a choice.
    with_buttons = eventually(
        lambda: [c for c in fake_slack.posts(channel) if "blocks" in c.params]
    )
    press = button_payload(with_buttons[-1], 0, user=user, name="Tess Slack")
    assert post_event(stack.hub_url, form_body(press), SECRET).status_code == 200
    eventually(lambda: len(customer_texts(stack, "slack", "Tess Slack")) == 2)
    title = with_buttons[-1].params["blocks"][1]["elements"][0]["text"]["text"]
    assert customer_texts(stack, "slack", "Tess Slack")[1] == title
    detail = conversation(stack, "slack", "Tess Slack")
    assert all(m["delivery"]["status"] == "sent" for m in detail["messages"] if m["role"] == "bot")


def test_hand_off_and_an_agent_reply_past_a_rate_limit(
    stack: Stack, fake_slack: FakeSlackApi
) -> None:
    channel, user = "C0SUPPORT", "U0HAL"
    event = message_event(
        "<@U0FRONTBOT> I want to talk to a person",
        user=user,
        channel=channel,
        name="Hal Slack",
        channel_type="channel",
    )
    root = event["event"]["ts"]
    assert post_event(stack.hub_url, event, SECRET).status_code == 200
    eventually(lambda: any("ticket #" in t for t in texts(fake_slack, channel)))
    detail = conversation(stack, "slack", "Hal Slack")
    assert detail["conversation"]["state"] == "queued" and detail["ticket"]["channel"] == "slack"
    # no mention
    assert customer_texts(stack, "slack", "Hal Slack") == ["I want to talk to a person"]

    headers = agent_headers(stack)
    cid = detail["conversation"]["id"]
    fake_slack.fail_next("chat.postMessage", "ratelimited", status=429, retry_after=1)
    assert (
        httpx.post(f"{stack.hub_url}/api/conversations/{cid}/takeover", headers=headers).status_code
        == 200
    )
    reply = httpx.post(
        f"{stack.hub_url}/api/conversations/{cid}/messages",
        json={"text": "Hi Hal, Dana here. Let me look."},
        headers=headers,
    )
    assert reply.status_code == 200
    eventually(lambda: "Hi Hal, Dana here. Let me look." in texts(fake_slack, channel))
    attempts = [(c.status, c.params.get("text")) for c in fake_slack.attempts(channel)]
    assert 429 in [status for status, _ in attempts]  # limited once, then sent in order
    joined = next(i for i, (s, t) in enumerate(attempts) if s == 200 and "joined" in str(t))
    answered = attempts.index((200, "Hi Hal, Dana here. Let me look."))
    assert answered > joined
    assert all(c.params["thread_ts"] == root for c in fake_slack.posts(channel))
    # The customer answers in the thread: the same conversation, to people.
    answer = message_event("Thanks, waiting", user=user, channel=channel, thread_ts=root)
    assert post_event(stack.hub_url, answer, SECRET).status_code == 200
    eventually(lambda: customer_texts(stack, "slack", "Hal Slack")[-1] == "Thanks, waiting")


def test_an_archived_channel_is_shown_as_not_delivered(
    stack: Stack, fake_slack: FakeSlackApi
) -> None:
    fake_slack.break_channel("C0ARCHIVED", "is_archived")
    event = message_event(
        "How do I export my data?", user="U0BO", channel="C0ARCHIVED", name="Bo Slack"
    )
    post_event(stack.hub_url, event, SECRET)
    failed = eventually(
        lambda: [
            m
            for m in conversation(stack, "slack", "Bo Slack")["messages"]
            if (m.get("delivery") or {}).get("status") == "failed"
        ]
    )
    assert "archived" in failed[0]["delivery"]["error"]


def test_handshake_forgeries_and_our_own_echo(stack: Stack, fake_slack: FakeSlackApi) -> None:
    challenge = load_fixture("url_verification.json")
    answered = post_event(stack.hub_url, challenge, SECRET)
    assert (answered.status_code, answered.text) == (200, challenge["challenge"])
    assert post_event(stack.hub_url, challenge, None).status_code == 401
    forged = message_event("forged", user="U0MAL", channel="D0MAL", name="Mallory Slack")
    assert post_event(stack.hub_url, forged, "not-the-secret").status_code == 401
    assert post_event(stack.hub_url, forged, None).status_code == 401
    old = int(time.time()) - 600
    assert post_event(stack.hub_url, forged, SECRET, timestamp=old).status_code == 401
    # Our own post comes back as an event: stored, not answered.
    echo = message_event("an answer of ours", user="U0FRONTBOT", channel="D0ECHO", ts=new_ts())
    echo["event"]["bot_id"] = BOT_ID
    assert post_event(stack.hub_url, echo, SECRET).status_code == 200
    time.sleep(2)
    assert not fake_slack.posts("D0ECHO") and not fake_slack.posts("D0MAL")
    listed = httpx.get(f"{stack.hub_url}/api/conversations", headers=agent_headers(stack)).json()
    assert not [c for c in listed["conversations"] if c["contact"]["name"] == "Mallory Slack"]
