"""The Teams adapter against a local Bot Framework (tests/fakes/teams_api.py: OpenID metadata,
keys from an RSA key the test makes, the token endpoint, the connector): the connector's JWT
accepted only as the Bot Framework specifies, activities parsed, replies sent with a cached
client-credentials token, and send outcomes classified."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy.orm import Session

from api.channels.base import Button, InboundRequest, OutboundMessage, Outcome, Refused
from api.channels.config import TeamsConfig
from api.channels.outbox import _outbound
from api.channels.teams import TeamsChannel, reference
from api.channels.teams_auth import ConnectorKeys
from handoff import inbound, replies
from handoff.models import Delivery
from tests.fakes._http import Reply
from tests.fakes.teams_api import (
    APP_ID,
    APP_PASSWORD,
    TENANT_ID,
    FakeBotFramework,
    load_activity,
)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeBotFramework]:
    with FakeBotFramework() as server:
        yield server


def config(fake: FakeBotFramework, **more: Any) -> TeamsConfig:
    return TeamsConfig(
        app_id=APP_ID,
        app_password=more.pop("app_password", APP_PASSWORD),
        tenant_id=TENANT_ID,
        openid_metadata_url=fake.openid_url,
        token_url=fake.token_url,
    )


@pytest.fixture
def teams(fake: FakeBotFramework) -> TeamsChannel:
    return TeamsChannel(config(fake), keys=ConnectorKeys(fake.openid_url, refetch_after=0))


def request(activity: dict[str, Any], token: str | None) -> InboundRequest:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return InboundRequest(
        "POST", "http://hub/channels/teams", headers, {}, json.dumps(activity).encode()
    )


def activity(fake: FakeBotFramework, name: str = "activity_message_personal") -> dict[str, Any]:
    data = load_activity(name)
    data["serviceUrl"] = fake.service_url
    return data


def test_a_token_as_the_connector_signs_it_is_accepted(
    fake: FakeBotFramework, teams: TeamsChannel
) -> None:
    body = activity(fake)
    teams.verify(request(body, fake.issue(body)))
    # Within the 5-minute clock skew.
    teams.verify(request(body, fake.issue(body, exp=int(time.time()) - 200)))


@pytest.mark.parametrize(
    ("claims", "status"),
    [
        ({"iss": "https://sts.windows.net/d6d49420-f39b-4df7-a1dc-d59a935871db/"}, 401),
        ({"aud": "another-bot"}, 401),
        ({"exp": int(time.time()) - 400}, 401),
        ({"serviceurl": "https://evil.example.com/"}, 403),
        ({"serviceurl": None}, 403),
    ],
)
def test_a_token_with_wrong_claims_is_refused(
    fake: FakeBotFramework, teams: TeamsChannel, claims: dict[str, Any], status: int
) -> None:
    body = activity(fake)
    with pytest.raises(Refused) as refused:
        teams.verify(request(body, fake.issue(body, **claims)))
    assert refused.value.status == status


def test_forged_keys_headers_and_bodies_are_refused(
    fake: FakeBotFramework, teams: TeamsChannel
) -> None:
    body = activity(fake)
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cases = [
        None,  # no Authorization at all
        "not-a-jwt",
        fake.issue(body, key=stranger),  # our kid, someone else's key
        fake.issue(body, kid="unknown-kid"),
    ]
    for token in cases:
        with pytest.raises(Refused) as refused:
            teams.verify(request(body, token))
        assert refused.value.status == 401
    token = fake.issue(body)
    tampered = dict(body, serviceUrl="https://evil.example.com/")
    with pytest.raises(Refused) as moved:
        teams.verify(request(tampered, token))
    assert moved.value.status == 403
    slack = dict(body, channelId="slack")  # the key is endorsed for msteams only
    with pytest.raises(Refused) as endorsed:
        teams.verify(request(slack, fake.issue(slack)))
    assert endorsed.value.status == 403
    other = json.loads(json.dumps(body))
    other["conversation"]["tenantId"] = "00000000-0000-0000-0000-000000000000"
    other["channelData"]["tenant"]["id"] = "00000000-0000-0000-0000-000000000000"
    with pytest.raises(Refused) as tenant:
        teams.verify(request(other, fake.issue(other)))
    assert tenant.value.status == 403
    with pytest.raises(Refused) as malformed:
        teams.verify(
            InboundRequest("POST", "http://hub", {"authorization": f"Bearer {token}"}, {}, b"{")
        )
    assert malformed.value.status == 400


def test_keys_are_cached_and_refetched_when_microsoft_rotates_them(
    fake: FakeBotFramework,
) -> None:
    keys = ConnectorKeys(fake.openid_url, refetch_after=0)
    channel = TeamsChannel(config(fake), keys=keys)
    body = activity(fake)
    before = fake.key_fetches
    for _ in range(3):
        channel.verify(request(body, fake.issue(body)))
    assert fake.key_fetches == before + 1
    fake.rotate_key()
    channel.verify(request(body, fake.issue(body)))  # an unknown kid: fetched again
    assert fake.key_fetches == before + 2
    slow = ConnectorKeys(fake.openid_url, refetch_after=3600)
    guarded = TeamsChannel(config(fake), keys=slow)
    guarded.verify(request(body, fake.issue(body)))
    fetched = fake.key_fetches
    for _ in range(3):  # forged kids do not make us hammer the key endpoint
        with pytest.raises(Refused):
            guarded.verify(request(body, fake.issue(body, kid="forged")))
    assert fake.key_fetches == fetched


def test_activities_are_parsed_with_their_conversation_reference(
    fake: FakeBotFramework, teams: TeamsChannel
) -> None:
    body = activity(fake)
    [message] = teams.parse(request(body, None))
    assert message.kind == "message" and message.text == "How do I reset my password?"
    assert message.thread_id == body["conversation"]["id"]
    assert message.user_id == body["from"]["aadObjectId"]
    assert message.profile.name == "Megan Bowen" and message.profile.language == "en"
    ref = message.extra["reference"]
    assert ref["service_url"] == fake.service_url and ref["tenant_id"] == TENANT_ID
    assert ref["bot_id"] == body["recipient"]["id"] and ref["user_id"] == body["from"]["id"]
    assert body["id"] in message.event_id
    [again] = teams.parse(request(body, None))
    assert again.event_id == message.event_id  # a redelivery has the same key

    [press] = teams.parse(request(activity(fake, "activity_message_back"), None))
    assert press.kind == "button" and press.choice == "#0" and press.text == "Yes, thanks"
    [channel] = teams.parse(request(activity(fake, "activity_message_channel_mention"), None))
    assert channel.text == "How do I export my data?"
    [update] = teams.parse(request(activity(fake, "activity_conversation_update"), None))
    assert update.kind == "ignored"
    [file] = teams.parse(request(activity(fake, "activity_message_file"), None))
    assert [(a.name, a.content_type) for a in file.attachments] == [("invoice.pdf", "pdf")]


def outbound(fake: FakeBotFramework, conversation: str, **more: Any) -> OutboundMessage:
    body = activity(fake)
    body["conversation"]["id"] = conversation
    return OutboundMessage(
        thread_id=conversation,
        text=more.pop("text", "Here is how."),
        role="bot",
        message_id=1,
        conversation_id=1,
        context={"channel": "teams", "reference": reference(body)},
        **more,
    )


def test_replies_go_to_the_service_url_with_a_cached_token(
    fake: FakeBotFramework, teams: TeamsChannel
) -> None:
    async def run() -> None:
        conversation = "a:1reply-test"
        buttons = (Button("Yes", "/affirm"), Button("No", "/deny"))
        asked = len(fake.token_requests)
        first = await teams.send(outbound(fake, conversation, buttons=buttons))
        second = await teams.send(outbound(fake, conversation, text="More."))
        assert first.outcome is Outcome.SENT and first.external_id
        assert second.outcome is Outcome.SENT
        assert len(fake.token_requests) == asked + 1  # cached until it expires
        [with_card, plain] = fake.posted(conversation)
        assert with_card.activity["type"] == "message" and with_card.text == "Here is how."
        card = with_card.activity["attachments"][0]
        assert card["contentType"] == "application/vnd.microsoft.card.hero"
        actions = card["content"]["buttons"]
        assert [(a["type"], a["title"], a["value"]) for a in actions] == [
            ("messageBack", "Yes", {"choice": "#0"}),
            ("messageBack", "No", {"choice": "#1"}),
        ]
        assert with_card.activity["from"]["id"].startswith("28:")
        assert "attachments" not in plain.activity

        fake.fail_next(Reply.json(429, {"error": {"code": "Throttled"}}, {"Retry-After": "3"}))
        later = await teams.send(outbound(fake, conversation))
        assert (later.outcome, later.retry_after) == (Outcome.RETRY, 3.0)
        fake.fail_next(Reply.json(502, {}))
        assert (await teams.send(outbound(fake, conversation))).outcome is Outcome.RETRY
        fake.fail_next(Reply.json(403, {"error": {"code": "BotNotInConversationRoster"}}))
        removed = await teams.send(outbound(fake, conversation))
        assert removed.outcome is Outcome.FAILED and "removed" in (removed.reason or "")
        fake.remove_bot("a:1gone")
        gone = await teams.send(outbound(fake, "a:1gone"))
        assert (gone.outcome, gone.reason) == (
            Outcome.FAILED,
            "the Teams conversation is gone (404)",
        )
        # A revoked token: fetched again once, then sent.
        fake.fail_next(Reply.json(401, {"message": "Authorization has been denied"}))
        assert (await teams.send(outbound(fake, conversation))).outcome is Outcome.SENT
        no_ref = OutboundMessage(
            thread_id="x", text="hi", role="bot", message_id=2, conversation_id=1
        )
        assert (await teams.send(no_ref)).outcome is Outcome.FAILED
        wrong = TeamsChannel(
            config(fake, app_password="wrong"), keys=ConnectorKeys(fake.openid_url)
        )
        assert (await wrong.send(outbound(fake, conversation))).outcome is Outcome.RETRY
        await wrong.aclose()

    asyncio.run(run())


def test_the_outbox_passes_the_latest_reference_to_the_adapter(
    session: Session, fake: FakeBotFramework, teams: TeamsChannel
) -> None:
    [event] = teams.parse(request(activity(fake), None))
    row, _ = inbound.record_event(
        session, channel="teams", external_id=event.event_id, kind=event.kind, data=event.to_json()
    )
    assert row is not None
    message, _ = inbound.accept_event(
        session,
        event_id=row.id,
        thread_id=event.thread_id,
        user_id=event.user_id,
        text=event.text,
        extra=event.extra,
    )
    assert message is not None
    [bot], _ = replies.record_bot_replies(
        session, conversation_id=message.conversation_id, replies=[replies.BotReply("Hi")]
    )
    assert bot.delivery is not None
    delivery = session.get(Delivery, bot.delivery.id)
    assert delivery is not None
    out = _outbound(session, delivery)
    assert out is not None and out.context["reference"] == event.extra["reference"]
