"""LINE customers through the real hub and the real Rasa server, against a local fake of the
Messaging API (tests/fakes/line_api.py): two customers in one webhook batch both answered
from the knowledge base (by reply token while fresh, then push), a redelivery answered once,
a quick reply pressed, a hand-off and an agent's reply pushed with a retry key past a rate
limit, a customer who blocked the account shown as not delivered, forged requests refused."""

from __future__ import annotations

import time

import httpx
import pytest

from retrieval.sources import load_articles
from tests.fakes.channel_checks import conversation, customer_texts, eventually
from tests.fakes.line_api import FakeLineApi, post_webhook, postback_event, text_event, webhook
from tests.fakes.stack import Stack
from tests.fakes.widget_client import agent_headers

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("agent_online")]
SECRET = "integration-line-channel-secret"  # tests/integration/conftest.py writes it


def test_a_batch_of_two_customers_answered_from_the_kb_and_a_quick_reply(
    stack: Stack, fake_line: FakeLineApi
) -> None:
    ann, ben = "U0ann0000000000000000000000000001", "U0ben0000000000000000000000000002"
    fake_line.add_profile(ann, "Ann Line")
    fake_line.add_profile(ben, "Ben Line")
    ask = text_event(
        "How do I reset my password?", user_id=ann, reply_token=fake_line.issue_reply_token(ann)
    )
    other = text_event(
        "How do I reset my password?", user_id=ben, reply_token=fake_line.issue_reply_token(ben)
    )
    assert post_webhook(stack.hub_url, webhook([ask, other]), SECRET).status_code == 200
    article = next(
        a
        for a in load_articles(stack.settings.kb_dir)
        if a.id == "reset-password" and a.lang == "en"
    )
    for user in (ann, ben):  # every event of the batch
        answer = eventually(
            lambda u=user: next(
                (t for t in fake_line.texts_to(u) if stack.link(article) in t), None
            )
        )
        assert f"{article.title}: {stack.link(article)}" in answer
    first = fake_line.delivered(ann)[0]
    assert first.endpoint == "reply" and first.body["replyToken"] == ask["replyToken"]
    # LINE redelivers the same event: stored once, answered once.
    redelivered = {**ask, "deliveryContext": {"isRedelivery": True}}
    assert post_webhook(stack.hub_url, webhook([redelivered]), SECRET).status_code == 200
    time.sleep(2)
    assert customer_texts(stack, "line", "Ann Line") == ["How do I reset my password?"]
    assert sum(stack.link(article) in t for t in fake_line.texts_to(ann)) == 1
    # The "did this help?" choice is a quick reply; pressing it posts back our choice.
    quick = eventually(
        lambda: [
            m["quickReply"]
            for c in fake_line.delivered(ann)
            for m in c.body["messages"]
            if "quickReply" in m
        ]
    )
    action = quick[-1]["items"][0]["action"]
    assert len(quick[-1]["items"]) <= 13 and len(action["label"]) <= 20
    press = postback_event(
        action["data"], user_id=ann, reply_token=fake_line.issue_reply_token(ann)
    )
    assert post_webhook(stack.hub_url, webhook([press]), SECRET).status_code == 200
    eventually(lambda: len(customer_texts(stack, "line", "Ann Line")) == 2)
    assert customer_texts(stack, "line", "Ann Line")[1] == action["displayText"]
    detail = conversation(stack, "line", "Ann Line")
    assert all(m["delivery"]["status"] == "sent" for m in detail["messages"] if m["role"] == "bot")


def test_hand_off_and_an_agent_reply_pushed_with_a_retry_key(
    stack: Stack, fake_line: FakeLineApi
) -> None:
    hal = "U0hal0000000000000000000000000003"
    fake_line.add_profile(hal, "Hal Line")
    ask = text_event(
        "I want to talk to a person", user_id=hal, reply_token=fake_line.issue_reply_token(hal)
    )
    assert post_webhook(stack.hub_url, webhook([ask]), SECRET).status_code == 200
    eventually(lambda: any("ticket #" in t for t in fake_line.texts_to(hal)))
    detail = conversation(stack, "line", "Hal Line")
    assert detail["conversation"]["state"] == "queued" and detail["ticket"]["channel"] == "line"

    headers = agent_headers(stack)
    cid = detail["conversation"]["id"]
    fake_line.fail_next("push", 429, "The API rate limit has been exceeded.", retry_after=1)
    takeover = httpx.post(f"{stack.hub_url}/api/conversations/{cid}/takeover", headers=headers)
    assert takeover.status_code == 200
    reply = httpx.post(
        f"{stack.hub_url}/api/conversations/{cid}/messages",
        json={"text": "Hi Hal, Dana here. Let me look."},
        headers=headers,
    )
    assert reply.status_code == 200
    eventually(lambda: "Hi Hal, Dana here. Let me look." in fake_line.texts_to(hal))
    pushes = [c for c in fake_line.calls if c.endpoint == "push" and c.to == hal]
    limited = [c for c in pushes if c.status == 429]
    assert limited  # the rate limit was met, and the retry used the same key
    retried = [c for c in pushes if c.status == 200 and c.texts == limited[0].texts]
    assert retried[0].headers["x-line-retry-key"] == limited[0].headers["x-line-retry-key"]
    agent = next(c for c in pushes if "Hi Hal, Dana here. Let me look." in c.texts)
    assert agent.headers["x-line-retry-key"]


def test_a_customer_who_blocked_the_account_is_shown_as_not_delivered(
    stack: Stack, fake_line: FakeLineApi
) -> None:
    bo = "U0bo00000000000000000000000000004"
    fake_line.add_profile(bo, "Bo Line")
    fake_line.block(bo)
    ask = text_event("How do I export my data?", user_id=bo, reply_token=None)
    post_webhook(stack.hub_url, webhook([ask]), SECRET)
    failed = eventually(
        lambda: [
            m
            for m in conversation(stack, "line", "Bo Line")["messages"]
            if (m.get("delivery") or {}).get("status") == "failed"
        ]
    )
    assert "blocked" in failed[0]["delivery"]["error"]


def test_forged_requests_store_nothing(stack: Stack, fake_line: FakeLineApi) -> None:
    mallory = "U0mal0000000000000000000000000005"
    fake_line.add_profile(mallory, "Mallory Line")
    forged = webhook([text_event("forged", user_id=mallory, reply_token=None)])
    assert post_webhook(stack.hub_url, forged, "not-the-secret").status_code == 401
    assert post_webhook(stack.hub_url, forged, None).status_code == 401
    assert post_webhook(stack.hub_url, webhook([]), SECRET).status_code == 200  # "Verify"
    time.sleep(1)
    listed = httpx.get(f"{stack.hub_url}/api/conversations", headers=agent_headers(stack)).json()
    assert not [c for c in listed["conversations"] if c["contact"]["name"] == "Mallory Line"]
