"""WhatsApp, Messenger and Instagram adapters on real payload fixtures (tests/fixtures/channels/
{whatsapp,messenger,instagram}, sources in each README), their sends against the local fake
Graph API (tests/fakes/graph_api.py), and the domain hooks they use: delivery statuses,
notes, and the customer-service window."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pywa.utils import webhook_updates_validator
from sqlalchemy.orm import Session

from api.channels import meta
from api.channels.base import Button, Capabilities, InboundRequest, OutboundMessage, Refused
from api.channels.config import (
    ChannelConfigError,
    InstagramConfig,
    MessengerConfig,
    WhatsAppConfig,
    parse_channels,
)
from api.channels.messenger import InstagramChannel, MessengerChannel
from api.channels.whatsapp import WhatsAppChannel
from handoff import inbound, lookups, outbox, replies
from handoff.models import InboundEvent
from handoff.states import DeliveryStatus, InboundStatus, MessageStatus
from tests.fakes.graph_api import FakeGraphApi, sign

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "channels"
SECRET = "meta-app-secret"
TOKENS = {"whatsapp": "wa-token", "messenger": "page-token", "instagram": "ig-token"}


def raw(channel: str, name: str) -> bytes:
    return (FIXTURES / channel / f"{name}.json").read_bytes()


def post(body: bytes, headers: dict[str, str] | None = None) -> InboundRequest:
    return InboundRequest("POST", "http://hub/channels/x", headers or {}, {}, body)


def whatsapp(
    api_base: str = "http://graph.invalid/v21.0", template: bool = True
) -> WhatsAppChannel:
    return WhatsAppChannel(
        WhatsAppConfig(
            app_secret=SECRET,
            verify_token="verify-me",
            access_token=TOKENS["whatsapp"],
            phone_number_id="1122334455667",
            template={"name": "reopen_chat", "language": "en_US"} if template else None,
            api_base=api_base,
        )
    )


def messenger(api_base: str = "http://graph.invalid/v21.0") -> MessengerChannel:
    return MessengerChannel(
        MessengerConfig(
            app_secret=SECRET,
            verify_token="verify-me",
            page_access_token=TOKENS["messenger"],
            api_base=api_base,
        )
    )


def instagram(api_base: str = "http://graph.invalid/v21.0") -> InstagramChannel:
    return InstagramChannel(
        InstagramConfig(
            app_secret=SECRET,
            verify_token="verify-me",
            access_token=TOKENS["instagram"],
            api_base=api_base,
        )
    )


# ---- verification and handshake ---------------------------------------------------------


@pytest.mark.parametrize("channel", [whatsapp(), messenger(), instagram()])
def test_signature_as_meta_computes_it_and_a_changed_byte_is_refused(channel: Any) -> None:
    body = raw("whatsapp", "message_text")
    header = sign(SECRET, body)
    # The SDK's own validator agrees with the signature the fake computes.
    assert webhook_updates_validator(SECRET, body, header)
    channel.verify(post(body, {"x-hub-signature-256": header}))
    changed = body.replace(b"Body Text", b"Body Texu")
    assert changed != body
    refusals = [
        post(changed, {"x-hub-signature-256": header}),
        post(body, {}),
        post(body, {"x-hub-signature-256": sign("other-secret", body)}),
        post(body, {"x-hub-signature-256": header.removeprefix("sha256=")}),
        # The legacy SHA-1 header alone is not accepted.
        post(body, {"x-hub-signature": "sha1=" + header.removeprefix("sha256=")[:40]}),
    ]
    for request in refusals:
        with pytest.raises(Refused) as refused:
            channel.verify(request)
        assert refused.value.status == 401


def test_verification_get_echoes_the_challenge_and_refuses_a_wrong_token() -> None:
    channel = messenger()

    def get(query: dict[str, str]) -> InboundRequest:
        return InboundRequest("GET", "http://hub/channels/messenger", {}, query, b"")

    ok = {"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "1158201444"}
    answer = channel.handshake(get(ok))
    assert answer is not None and answer.body == "1158201444"
    assert answer.content_type == "text/plain" and answer.status == 200
    with pytest.raises(Refused) as wrong:
        channel.handshake(get({**ok, "hub.verify_token": "nope"}))
    assert wrong.value.status == 403
    with pytest.raises(Refused) as not_subscribe:
        channel.handshake(get({**ok, "hub.mode": "unsubscribe"}))
    assert not_subscribe.value.status == 400
    assert channel.handshake(post(b"{}")) is None


@pytest.mark.parametrize("body", [b"{nope", b"[]", b'{"object": "page", "entry": []}'])
def test_malformed_or_foreign_bodies_are_400(body: bytes) -> None:
    with pytest.raises(Refused) as refused:
        whatsapp().parse(post(body))
    assert refused.value.status == 400


# ---- WhatsApp inbound -------------------------------------------------------------------


def test_whatsapp_messages_choices_attachments_and_notes() -> None:
    channel = whatsapp()
    [text] = channel.parse(post(raw("whatsapp", "message_text")))
    assert (text.event_id, text.thread_id, text.user_id) == (
        "wamid.xyzxyz",
        "972987654321",
        "972987654321",
    )
    assert text.kind == "message" and text.text == "Body Text"
    assert text.profile.name == "Test Name" and text.profile.phone == "+972987654321"

    for name in ("callback_button", "callback_selection"):
        [press] = channel.parse(post(raw("whatsapp", name)))
        assert press.kind == "button" and press.choice == "callback_data" and press.text == "title"

    [image] = channel.parse(post(raw("whatsapp", "message_image")))
    assert image.attachments[0].content_type == "image/jpeg"
    assert image.attachments[0].external_id == "65463453"
    [document] = channel.parse(post(raw("whatsapp", "message_document")))
    assert document.attachments[0].name == "filename.pdf" and document.text == "caption"
    [audio] = channel.parse(post(raw("whatsapp", "message_audio")))
    assert audio.attachments[0].content_type == "audio/ogg; codecs=opus"
    [reaction] = channel.parse(post(raw("whatsapp", "message_reaction")))
    assert reaction.kind == "note" and "\U0001f62e" in reaction.text


def test_whatsapp_statuses_become_status_events_keyed_by_wamid_and_status() -> None:
    channel = whatsapp()
    for status in ("sent", "delivered", "read"):
        [event] = channel.parse(post(raw("whatsapp", f"status_{status}")))
        assert event.kind == "status" and event.event_id == f"wamid.xyzxyz:{status}"
        assert event.extra == {"status_of": "wamid.xyzxyz", "status": status, "reason": None}
    [failed] = channel.parse(post(raw("whatsapp", "status_failed")))
    assert failed.extra["status"] == "failed"
    assert "part of an experiment" in failed.extra["reason"]


def test_every_event_of_a_batched_notification_is_parsed() -> None:
    events = whatsapp().parse(post(raw("whatsapp", "batch")))
    assert [(e.kind, e.event_id) for e in events[:3]] == [
        ("message", "wamid.BATCH1"),
        ("message", "wamid.BATCH2"),
        ("status", "wamid.OURS1:delivered"),
    ]
    assert [e.profile.name for e in events[:2]] == ["Ann", "Bob"]
    assert events[3].kind == "ignored" and events[3].extra["field"] == (
        "message_template_status_update"
    )
    batch = messenger().parse(post(raw("messenger", "batch")))
    assert [(e.kind, e.user_id) for e in batch] == [
        ("message", "USER_ID"),
        ("message", "USER_2"),
        ("ignored", "USER_ID"),
    ]


# ---- Messenger and Instagram inbound ----------------------------------------------------


def test_messenger_messages_quick_replies_postbacks_echoes_and_deliveries() -> None:
    channel = messenger()
    [text] = channel.parse(post(raw("messenger", "message_text")))
    assert text.event_id == "mid.1457764197618:41d102a3e1ae206a38" and text.thread_id == "USER_ID"
    [quick] = channel.parse(post(raw("messenger", "message_quick_reply")))
    assert quick.kind == "button" and quick.choice == "DEVELOPER_DEFINED_PAYLOAD_FOR_PICKING_GREEN"
    [postback] = channel.parse(post(raw("messenger", "postback")))
    assert postback.kind == "button" and postback.choice == "USER-DEFINED-PAYLOAD"
    assert postback.text == "TITLE-FOR-THE-CTA" and postback.event_id == "m_MESSAGE-ID"
    [image] = channel.parse(post(raw("messenger", "message_image")))
    assert image.kind == "message" and image.attachments[0].name == "image"
    [echo] = channel.parse(post(raw("messenger", "message_echo")))
    assert echo.kind == "ignored"
    [delivered] = channel.parse(post(raw("messenger", "delivery")))
    assert delivered.kind == "status" and delivered.extra["status"] == "delivered"
    assert delivered.extra["status_of"] == "mid.1458668856218:ed81099e15d3f4f233"
    with pytest.raises(Refused):  # an Instagram notification is not Messenger's
        channel.parse(post(raw("instagram", "message_text")))


def test_instagram_story_replies_mentions_reactions_and_unsupported_types_are_notes() -> None:
    channel = instagram()
    [text] = channel.parse(post(raw("instagram", "message_text")))
    assert text.kind == "message" and text.user_id == "Sender-id-1"
    [story] = channel.parse(post(raw("instagram", "story_reply")))
    assert story.kind == "note" and "This is the story reply" in story.text
    assert story.extra["story_url"] == "https://chatwoot-assets.local/sample.png"
    [mention] = channel.parse(post(raw("instagram", "story_mention")))
    assert mention.kind == "note" and "mentioned us in their story" in mention.text
    [share] = channel.parse(post(raw("instagram", "share_unsupported")))
    assert share.kind == "note" and "share" in share.text
    [reaction] = channel.parse(post(raw("instagram", "reaction")))
    assert reaction.kind == "note" and reaction.text.startswith("reacted")
    [deleted] = channel.parse(post(raw("instagram", "message_deleted")))
    assert deleted.kind == "ignored"
    [seen] = channel.parse(post(raw("instagram", "seen")))
    assert seen.kind == "status" and seen.extra == {
        "status_of": "message-id-1",
        "status": "read",
        "reason": None,
    }


# ---- outbound and error classes ---------------------------------------------------------


def outbound(
    text: str, buttons: tuple[Button, ...] = (), role: str = "bot", **context: Any
) -> OutboundMessage:
    return OutboundMessage(
        thread_id="15550001234",
        text=text,
        role=role,
        message_id=1,
        conversation_id=1,
        buttons=buttons,
        context=context,
    )


@pytest.fixture
def graph() -> Any:
    with FakeGraphApi(TOKENS) as fake:
        yield fake


def test_whatsapp_sends_text_buttons_lists_numbers_and_the_template(graph: FakeGraphApi) -> None:
    channel = whatsapp(f"{graph.base_url}/v21.0")
    three = tuple(Button(f"Choice number {i} is long", f"/p{i}") for i in range(3))
    ten = tuple(Button(f"Row {i}", f"/r{i}") for i in range(10))
    eleven = tuple(Button(f"Item {i}", f"/i{i}") for i in range(11))

    async def run() -> list[Any]:
        return [
            await channel.send(outbound("Hello")),
            await channel.send(outbound("Did it help?", three)),
            await channel.send(outbound("Which one?", ten)),
            await channel.send(outbound("Which?", eleven)),
            await channel.send(outbound("", role="agent", template="reopen_chat")),
        ]

    results = asyncio.run(run())
    assert all(r.outcome == "sent" and r.external_id.startswith("wamid.") for r in results)
    text, buttons, listing, numbered, template = (c.body for c in graph.sent("whatsapp"))
    assert text["type"] == "text" and text["text"]["body"] == "Hello"
    assert buttons["interactive"]["type"] == "button"
    replies_ = buttons["interactive"]["action"]["buttons"]
    assert [b["reply"]["id"] for b in replies_] == ["#0", "#1", "#2"]
    assert all(len(b["reply"]["title"]) <= 20 for b in replies_)
    assert listing["interactive"]["type"] == "list"
    assert len(listing["interactive"]["action"]["sections"][0]["rows"]) == 10
    assert numbered["type"] == "text" and "11. Item 10" in numbered["text"]["body"]
    assert template["type"] == "template"
    assert template["template"] == {"name": "reopen_chat", "language": {"code": "en_US"}}


@pytest.mark.parametrize(
    ("code", "status", "outcome", "words"),
    [
        (130429, 429, "retry", "rate limited"),
        (4, 400, "retry", "rate limited"),
        (80007, 400, "retry", "rate limited"),
        (190, 401, "retry", "access token"),
        (131047, 400, "failed", "the 24-hour window has closed: send the template"),
        (131026, 400, "failed", "undeliverable"),
        (131051, 400, "failed", "does not support"),
        (131052, 400, "failed", "media"),
        (10, 400, "failed", "does not allow"),
        (200, 403, "failed", "permission"),
        (551, 400, "failed", "isn't available"),
        (2, 503, "retry", "temporary"),
    ],
)
def test_graph_error_classes(
    graph: FakeGraphApi, code: int, status: int, outcome: str, words: str
) -> None:
    graph.fail_next("whatsapp", code, f"(#{code}) error", status=status, retry_after=7)
    result = asyncio.run(whatsapp(f"{graph.base_url}/v21.0").send(outbound("Hi")))
    assert result.outcome == outcome and words in (result.reason or "")
    if outcome == "retry":
        assert result.retry_after == 7


def test_graph_error_fixtures_classify_as_documented() -> None:
    def answer(channel: str, name: str, status: int = 400) -> Any:
        return meta.classify_error(httpx.Response(status, content=raw(channel, name)))

    assert answer("whatsapp", "error_131047").reason == (
        "the 24-hour window has closed: send the template"
    )
    assert answer("whatsapp", "error_190", 401).outcome == "retry"
    assert answer("messenger", "error_551").outcome == "failed"
    window = answer("messenger", "error_10_window")
    assert window.outcome == "failed" and "outside the messaging window" in (window.reason or "")
    assert meta.classify_error(httpx.Response(502, text="bad gateway")).outcome == "retry"


def test_messenger_tags_people_after_24_hours_and_sends_quick_replies(
    graph: FakeGraphApi,
) -> None:
    channel = messenger(f"{graph.base_url}/v21.0")
    fresh = datetime.now(UTC).isoformat()
    old = (datetime.now(UTC) - timedelta(hours=30)).isoformat()
    choices = tuple(Button(f"A much too long title {i}", f"/q{i}") for i in range(2))

    async def run() -> list[Any]:
        return [
            await channel.send(outbound("Hi", choices, role="bot", customer_last_at=fresh)),
            await channel.send(outbound("Agent here", role="agent", customer_last_at=fresh)),
            await channel.send(outbound("Still there?", role="agent", customer_last_at=old)),
        ]

    assert [r.outcome for r in asyncio.run(run())] == ["sent"] * 3
    bot, agent, late = (c.body for c in graph.sent("messenger"))
    assert bot["messaging_type"] == "RESPONSE" and agent["messaging_type"] == "RESPONSE"
    quick = bot["message"]["quick_replies"]
    assert [q["payload"] for q in quick] == ["#0", "#1"] and len(quick[0]["title"]) <= 20
    assert late["messaging_type"] == "MESSAGE_TAG" and late["tag"] == "HUMAN_AGENT"
    graph.unreachable("instagram", "15550001234")
    blocked = asyncio.run(instagram(f"{graph.base_url}/v21.0").send(outbound("x" * 1500)))
    assert blocked.outcome == "failed" and "isn't available" in (blocked.reason or "")


def test_capabilities_window_and_what_the_console_is_told() -> None:
    wa = whatsapp().capabilities
    now = datetime.now(UTC)
    assert wa.window_hours == 24 and wa.template == "reopen_chat"
    assert wa.window_open(now - timedelta(hours=23), now)
    assert not wa.window_open(now - timedelta(hours=25), now) and not wa.window_open(None, now)
    assert wa.window_closed() == "the 24-hour window has closed: send the template"
    assert any("24 hours" in line and "reopen_chat" in line for line in wa.limits())
    without = whatsapp(template=False).capabilities
    assert without.window_closed().endswith("wait for the customer to write")
    assert messenger().capabilities.window_closed().startswith("the 7-day window")
    assert Capabilities().window_open(None)  # channels without a window never close


def test_channels_yml_keys_for_the_meta_channels() -> None:
    configs = parse_channels(
        json.dumps(
            {
                "whatsapp": {
                    "app_secret": "s",
                    "verify_token": "v",
                    "access_token": "a",
                    "phone_number_id": "1122334455667",
                    "template": {"name": "hello_world", "language": "en_US"},
                },
                "messenger": {"app_secret": "s", "verify_token": "v", "page_access_token": "p"},
                "instagram": {"app_secret": "s", "verify_token": "v", "access_token": "a"},
            }
        )
    )
    assert set(configs) == {"whatsapp", "messenger", "instagram"}
    with pytest.raises(ChannelConfigError, match="phone_number_id"):
        parse_channels("whatsapp: {app_secret: s, verify_token: v, access_token: a}")
    with pytest.raises(ChannelConfigError, match="page_token"):
        parse_channels(
            "messenger: {app_secret: s, verify_token: v, page_access_token: p, page_token: x}"
        )


# ---- the domain hooks -------------------------------------------------------------------


def _record(session: Session, external_id: str, kind: str = "message") -> int:
    row, _ = inbound.record_event(
        session, channel="whatsapp", external_id=external_id, kind=kind, data={}
    )
    assert row is not None
    return row.id


def test_statuses_move_our_message_and_notes_stay_unanswered(session: Session) -> None:
    message, _ = inbound.accept_event(
        session,
        event_id=_record(session, "wamid.IN1"),
        thread_id="15550001234",
        user_id="15550001234",
        text="Hi",
        name="Ann",
        phone="+15550001234",
    )
    assert message is not None and message.conversation.contact.phone == "+15550001234"
    [bot], _ = replies.record_bot_replies(
        session, conversation_id=message.conversation_id, replies=[replies.BotReply("Hello")]
    )
    assert bot.delivery is not None
    outbox.mark_sent(session, delivery_id=bot.delivery.id, external_id="wamid.OUT1")
    read = _record(session, "wamid.OUT1:read", "status")
    delivery, events = inbound.accept_status(
        session, event_id=read, status_of="wamid.OUT1", status="read"
    )
    assert delivery is bot.delivery and events
    assert session.get(InboundEvent, read).status is InboundStatus.PROCESSED  # type: ignore[union-attr]
    assert bot.delivery.status is DeliveryStatus.READ
    unknown = _record(session, "wamid.NOPE:delivered", "status")
    delivery, _ = inbound.accept_status(
        session, event_id=unknown, status_of="wamid.NOPE", status="delivered"
    )
    assert delivery is None
    assert session.get(InboundEvent, unknown).status is InboundStatus.IGNORED  # type: ignore[union-attr]

    note, _ = inbound.accept_event(
        session,
        event_id=_record(session, "wamid.IN2"),
        thread_id="15550001234",
        user_id="15550001234",
        text="(replied to our story) nice",
        kind="note",
    )
    assert note is not None and note.status is MessageStatus.PROCESSED
    assert note.payload["note"] is True and note.conversation_id == message.conversation_id
    last = lookups.last_customer_message_at(session, message.conversation_id)
    assert last is not None and last >= message.created_at
