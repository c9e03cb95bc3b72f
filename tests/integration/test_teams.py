"""Teams customers through the real hub and the real Rasa server, against a local Bot
Framework (tests/fakes/teams_api.py): every activity carries a JWT signed with the fake's
key; replies go to the conversation's serviceUrl with a client-credentials token. A
knowledge-base answer with its source and a button press, a hand-off and an agent's reply,
a conversation the bot was removed from, and forged tokens."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from retrieval.sources import load_articles
from tests.fakes.channel_checks import conversation, eventually
from tests.fakes.stack import Stack
from tests.fakes.teams_api import FakeBotFramework, message_activity, post_activity
from tests.fakes.widget_client import agent_headers

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("agent_online")]


def send(stack: Stack, fake: FakeBotFramework, activity: dict[str, Any]) -> httpx.Response:
    return post_activity(stack.hub_url, activity, fake.issue(activity))


def texts(fake: FakeBotFramework, conversation_id: str) -> list[str]:
    return [p.text for p in fake.posted(conversation_id)]


def test_a_question_is_answered_once_and_a_card_button_chooses(
    stack: Stack, fake_teams: FakeBotFramework
) -> None:
    conv = "a:1teams-kb-question"
    activity = message_activity(
        "How do I reset my password?", conv, fake_teams.service_url, user="Nora Teams"
    )
    assert send(stack, fake_teams, activity).status_code == 200
    article = next(
        a
        for a in load_articles(stack.settings.kb_dir)
        if a.id == "reset-password" and a.lang == "en"
    )
    answer = eventually(
        lambda: next((t for t in texts(fake_teams, conv) if article.title in t), None)
    )
    assert f"{article.title}: {stack.link(article)}" in answer
    # The connector redelivers the same activity: stored once, answered once.
    for _ in range(2):
        assert send(stack, fake_teams, activity).status_code == 200
    time.sleep(2)
    detail = conversation(stack, "teams", "Nora Teams")
    assert [m["text"] for m in detail["messages"] if m["role"] == "customer"] == [
        "How do I reset my password?"
    ]
    assert sum(article.title in t for t in texts(fake_teams, conv)) == 1
    # "Did this help?" as a hero card of messageBack buttons; a press is a choice.
    cards = eventually(
        lambda: [p.activity for p in fake_teams.posted(conv) if p.activity.get("attachments")]
    )
    button = cards[-1]["attachments"][0]["content"]["buttons"][0]
    press = message_activity(
        button["text"], conv, fake_teams.service_url, user="Nora Teams", value=button["value"]
    )
    assert send(stack, fake_teams, press).status_code == 200

    def customer_messages() -> list[dict[str, Any]]:
        messages = conversation(stack, "teams", "Nora Teams")["messages"]
        return [m for m in messages if m["role"] == "customer"]

    eventually(lambda: len(customer_messages()) == 2)
    posted = fake_teams.posted(conv)
    assert all(p.activity["conversation"]["id"] == conv for p in posted)
    assert {p.activity["from"]["id"] for p in posted} == {activity["recipient"]["id"]}


def test_hand_off_and_an_agent_reply_later(stack: Stack, fake_teams: FakeBotFramework) -> None:
    conv = "a:1teams-hand-off"
    activity = message_activity(
        "I want to talk to a person", conv, fake_teams.service_url, user="Omar Teams"
    )
    assert send(stack, fake_teams, activity).status_code == 200
    eventually(lambda: any("ticket #" in t for t in texts(fake_teams, conv)))
    detail = conversation(stack, "teams", "Omar Teams")
    assert detail["conversation"]["state"] == "queued" and detail["ticket"]["channel"] == "teams"
    headers = agent_headers(stack)
    cid = detail["conversation"]["id"]
    takeover = httpx.post(f"{stack.hub_url}/api/conversations/{cid}/takeover", headers=headers)
    assert takeover.status_code == 200
    reply = httpx.post(
        f"{stack.hub_url}/api/conversations/{cid}/messages",
        json={"text": "Hi Omar, Dana here."},
        headers=headers,
    )
    assert reply.status_code == 200
    eventually(lambda: "Hi Omar, Dana here." in texts(fake_teams, conv))
    sent = eventually(
        lambda: [
            m
            for m in conversation(stack, "teams", "Omar Teams")["messages"]
            if m["text"] == "Hi Omar, Dana here."
            and (m.get("delivery") or {}).get("status") == "sent"
        ]
    )
    assert sent
    # The bot is removed from the chat: the next reply is shown as not delivered.
    fake_teams.remove_bot(conv)
    httpx.post(
        f"{stack.hub_url}/api/conversations/{cid}/messages",
        json={"text": "Are you still there?"},
        headers=headers,
    )
    failed = eventually(
        lambda: [
            m
            for m in conversation(stack, "teams", "Omar Teams")["messages"]
            if (m.get("delivery") or {}).get("status") == "failed"
        ]
    )
    assert failed[0]["delivery"]["error"] == "the Teams conversation is gone (404)"


def test_forged_tokens_are_refused_and_store_nothing(
    stack: Stack, fake_teams: FakeBotFramework
) -> None:
    conv = "a:1teams-forged"
    activity = message_activity("forged", conv, fake_teams.service_url, user="Mallory Teams")
    url = stack.hub_url
    assert post_activity(url, activity, None).status_code == 401
    assert post_activity(url, activity, fake_teams.issue(activity, aud="other")).status_code == 401
    assert (
        post_activity(url, activity, fake_teams.issue(activity, iss="https://evil")).status_code
        == 401
    )
    expired = fake_teams.issue(activity, exp=int(time.time()) - 600)
    assert post_activity(url, activity, expired).status_code == 401
    moved = fake_teams.issue(activity, serviceurl="https://evil.example.com/")
    assert post_activity(url, activity, moved).status_code == 403
    headers = agent_headers(stack)
    listed = httpx.get(f"{stack.hub_url}/api/conversations", headers=headers).json()
    assert not [c for c in listed["conversations"] if c["contact"]["name"] == "Mallory Teams"]
