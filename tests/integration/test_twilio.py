"""SMS and WhatsApp customers through the real hub and the real Rasa server, against a local
fake of Twilio's Messages API (tests/fakes/twilio_api.py): a knowledge-base answer with its
source and a status callback, a hand-off and an agent's reply on WhatsApp, an opt-out, and
forged webhooks. Webhooks are signed by twilio-python over the public URL configured in
Twilio, while the hub is reached at its local address (as behind a proxy)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from retrieval.sources import load_articles
from tests.fakes.channel_checks import conversation, eventually
from tests.fakes.stack import Stack
from tests.fakes.twilio_api import PUBLIC_URL as TWILIO_PUBLIC_URL
from tests.fakes.twilio_api import FakeTwilioApi, inbound_form, post_form, status_form
from tests.fakes.widget_client import agent_headers

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("agent_online")]


def send(stack: Stack, fake: FakeTwilioApi, fields: list[tuple[str, str]]) -> httpx.Response:
    return post_form(stack.hub_url, fields, fake.auth_token, TWILIO_PUBLIC_URL)


def bodies(fake: FakeTwilioApi, to: str) -> list[str]:
    return [s.body for s in fake.sent(to)]


def test_an_sms_question_is_answered_from_the_knowledge_base_and_delivery_is_reported(
    stack: Stack, fake_twilio: FakeTwilioApi
) -> None:
    number = "+15550001001"
    fields = inbound_form("How do I reset my password?", number)
    assert send(stack, fake_twilio, fields).status_code == 200
    article = next(
        a
        for a in load_articles(stack.settings.kb_dir)
        if a.id == "reset-password" and a.lang == "en"
    )
    answer = eventually(
        lambda: next((s for s in fake_twilio.sent(number) if article.title in s.body), None)
    )
    assert f"{article.title}: {stack.link(article)}" in answer.body  # the source, spelled out
    assert answer.form["From"] == "+15557654321"
    assert answer.form["StatusCallback"] == TWILIO_PUBLIC_URL
    # A retried webhook (same MessageSid) is stored once and answered once.
    for _ in range(2):
        assert send(stack, fake_twilio, fields).status_code == 200
    time.sleep(2)
    detail = conversation(stack, "twilio", number)
    asked = [m["text"] for m in detail["messages"] if m["role"] == "customer"]
    assert asked == ["How do I reset my password?"]
    assert sum(article.title in b for b in bodies(fake_twilio, number)) == 1
    # No buttons on SMS: "did this help?" comes as a numbered list; "1" chooses.
    eventually(lambda: any("Reply with a number." in b for b in bodies(fake_twilio, number)))
    # Twilio reports the answer delivered, then (a late, out-of-order) "sent": it stays.
    for status in ("delivered", "sent"):
        callback = status_form(answer.sid or "", status, number)
        assert send(stack, fake_twilio, callback).status_code == 200

    def delivered() -> list[str]:
        messages = conversation(stack, "twilio", number)["messages"]
        return [
            m["text"]
            for m in messages
            if m["role"] == "bot" and (m.get("delivery") or {}).get("status") == "delivered"
        ]

    [text] = eventually(delivered)
    assert text.split("\n")[0][:40] in answer.body
    before = len(fake_twilio.sent(number))
    assert send(stack, fake_twilio, inbound_form("1", number)).status_code == 200
    eventually(
        lambda: len(conversation(stack, "twilio", number)["messages"]) > len(detail["messages"])
    )
    eventually(lambda: len(fake_twilio.sent(number)) > before)


def test_whatsapp_hand_off_and_agent_reply(stack: Stack, fake_twilio: FakeTwilioApi) -> None:
    sender = "whatsapp:+5511900000002"
    fields = inbound_form("I want to talk to a person", sender, ProfileName="Rita Alves")
    assert send(stack, fake_twilio, fields).status_code == 200
    eventually(lambda: any("ticket #" in b for b in bodies(fake_twilio, sender)))
    assert {s.form["From"] for s in fake_twilio.sent(sender)} == {"whatsapp:+15557654321"}
    detail = conversation(stack, "twilio", "Rita Alves")
    assert detail["conversation"]["state"] == "queued" and detail["ticket"]["channel"] == "twilio"
    assert detail["channel"]["limits"]  # no buttons, 1600 characters

    headers = agent_headers(stack)
    cid = detail["conversation"]["id"]
    takeover = httpx.post(f"{stack.hub_url}/api/conversations/{cid}/takeover", headers=headers)
    assert takeover.status_code == 200
    reply = httpx.post(
        f"{stack.hub_url}/api/conversations/{cid}/messages",
        json={"text": "Hi Rita, Dana here. Let me look."},
        headers=headers,
    )
    assert reply.status_code == 200
    eventually(lambda: "Hi Rita, Dana here. Let me look." in bodies(fake_twilio, sender))
    assert send(stack, fake_twilio, inbound_form("Thanks!", sender)).status_code == 200
    eventually(
        lambda: conversation(stack, "twilio", "Rita Alves")["messages"][-1]["text"] == "Thanks!"
    )


def test_an_opted_out_customer_is_shown_as_not_delivered(
    stack: Stack, fake_twilio: FakeTwilioApi
) -> None:
    number = "+15550001003"
    fake_twilio.opt_out(number)  # they texted STOP earlier: Twilio refuses sends (21610)
    assert (
        send(stack, fake_twilio, inbound_form("How do I export my data?", number)).status_code
        == 200
    )

    def failed() -> list[dict[str, Any]]:
        bots = [m for m in conversation(stack, "twilio", number)["messages"] if m["role"] == "bot"]
        gone = [m for m in bots if (m.get("delivery") or {}).get("status") == "failed"]
        return gone if len(bots) >= 2 and len(gone) == len(bots) else []  # answer + "did it help?"

    assert {m["delivery"]["error"] for m in eventually(failed)} == {"the customer opted out (STOP)"}
    tried = len(fake_twilio.calls)
    # STOP again: kept as a note for people; the bot does not answer it.
    stop = inbound_form("STOP", number, OptOutType="STOP")
    assert send(stack, fake_twilio, stop).status_code == 200
    eventually(lambda: "opted out" in conversation(stack, "twilio", number)["messages"][-1]["text"])
    time.sleep(1.5)
    assert not [c for c in fake_twilio.calls[tried:] if c.to == number]


def test_forged_or_malformed_webhooks_are_refused_and_store_nothing(
    stack: Stack, fake_twilio: FakeTwilioApi
) -> None:
    number = "+15550001004"
    fields = inbound_form("forged", number)
    wrong_token = post_form(stack.hub_url, fields, "0" * 32, TWILIO_PUBLIC_URL)
    assert wrong_token.status_code == 403
    # Signed over the URL the hub sees, not the one configured in Twilio.
    local_url = f"{stack.hub_url}/channels/twilio"
    assert post_form(stack.hub_url, fields, fake_twilio.auth_token, local_url).status_code == 403
    unsigned = httpx.post(
        f"{stack.hub_url}/channels/twilio",
        content=b"Body=hi",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert unsigned.status_code == 401
    no_sid = [("Body", "hi"), ("From", number)]
    assert send(stack, fake_twilio, no_sid).status_code == 400
    headers = agent_headers(stack)
    listed = httpx.get(f"{stack.hub_url}/api/conversations", headers=headers).json()
    assert not [c for c in listed["conversations"] if c["contact"]["name"] == number]
