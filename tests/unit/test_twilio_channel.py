"""The Twilio adapter (SMS and WhatsApp) on its fixtures (tests/fixtures/channels/twilio) and
against the fake Messages API: signatures as twilio-python's RequestValidator computes them,
parsing of messages, media, opt-outs and status callbacks, send outcomes, and the status hook
through the inbound event log."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator

from api.channels.base import Button, InboundRequest, OutboundMessage, Outcome, Refused
from api.channels.config import ChannelConfigError, TwilioConfig, parse_channels
from api.channels.twilio import OPTED_OUT, TwilioChannel, classify, signature
from handoff import inbound, outbox, replies
from handoff.models import InboundEvent
from handoff.states import DeliveryStatus, InboundStatus
from tests.fakes._http import Reply
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilioApi, error, load_form

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "channels" / "twilio"
PUBLIC_URL = "https://support.example.com/channels/twilio"
HUB_URL = "http://127.0.0.1:8000/channels/twilio"  # what the hub sees behind the proxy


def config(api_base: str = "https://api.twilio.com", sender: str = "+15557654321") -> TwilioConfig:
    return TwilioConfig.model_validate(
        {
            "account_sid": ACCOUNT_SID,
            "auth_token": AUTH_TOKEN,
            "from": sender,
            "public_url": PUBLIC_URL,
            "api_base": api_base,
        }
    )


def signed(fields: list[tuple[str, str]], url: str = PUBLIC_URL) -> InboundRequest:
    sig = RequestValidator(AUTH_TOKEN).compute_signature(url, dict(fields))
    return InboundRequest(
        "POST", HUB_URL, {"x-twilio-signature": sig}, {}, urlencode(fields).encode()
    )


@pytest.fixture
def twilio() -> TwilioChannel:
    return TwilioChannel(config())


FORMS = [p.stem for p in sorted(FIXTURES.glob("*.form"))]


@pytest.mark.parametrize("name", FORMS)
def test_signature_is_twilios_and_checked_over_the_public_url(
    twilio: TwilioChannel, name: str
) -> None:
    fields = load_form(name)
    expected = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC_URL, dict(fields))
    assert signature(AUTH_TOKEN, PUBLIC_URL, fields) == expected
    twilio.verify(signed(fields))  # signed over public_url, received at another URL
    good = signed(fields)
    body = good.body
    for index in (0, len(body) // 2, len(body) - 1):
        changed = bytes([body[index] ^ 0x01]) if body[index] != 0x25 else b"A"
        forged = InboundRequest(
            "POST", HUB_URL, good.headers, {}, body[:index] + changed + body[index + 1 :]
        )
        with pytest.raises(Refused) as refused:
            twilio.verify(forged)
        assert refused.value.status in (400, 403)
    with pytest.raises(Refused) as over_hub_url:  # a proxy's URL is not what Twilio signed
        twilio.verify(signed(fields, url=HUB_URL))
    assert over_hub_url.value.status == 403
    with pytest.raises(Refused) as missing:
        twilio.verify(InboundRequest("POST", HUB_URL, {}, {}, body))
    assert missing.value.status == 401


def test_the_sdks_known_answer_and_port_variants() -> None:
    # twilio-python tests/unit/test_request_validator.py
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+14158675309",
        "Digits": "1234",
        "From": "+14158675309",
        "To": "+18005551212",
    }
    uri = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert signature("12345", uri, list(params.items())) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    fields = load_form("inbound_sms")
    channel = TwilioChannel(config())
    # Twilio may sign the URL with the default port spelled out; the SDK accepts both.
    channel.verify(signed(fields, url="https://support.example.com:443/channels/twilio"))
    # Repeated fields are sorted by value, as the SDK does.
    repeated = [("b", "2"), ("a", "x"), ("b", "1")]
    assert signature(AUTH_TOKEN, PUBLIC_URL, repeated) == RequestValidator(
        AUTH_TOKEN
    ).compute_signature(PUBLIC_URL, _MultiDict(repeated))


class _MultiDict(dict[str, str]):
    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        super().__init__(pairs)
        self._pairs = pairs

    def getall(self, name: str) -> list[str]:
        return [v for k, v in self._pairs if k == name]


def test_messages_media_and_opt_outs_are_parsed(twilio: TwilioChannel) -> None:
    [sms] = twilio.parse(signed(load_form("inbound_sms")))
    form = dict(load_form("inbound_sms"))
    assert (sms.event_id, sms.thread_id, sms.user_id) == (
        form["MessageSid"],
        "+15551234567",
        "+15551234567",
    )
    assert sms.kind == "message" and sms.text == "How do I reset my password?"
    assert sms.profile.phone == "+15551234567"

    [whatsapp] = twilio.parse(signed(load_form("inbound_whatsapp_media")))
    assert whatsapp.thread_id == "whatsapp:+5511987654321"
    assert whatsapp.profile.name == "Ana Souza" and whatsapp.profile.phone == "+5511987654321"
    assert [a.content_type for a in whatsapp.attachments] == ["image/jpeg", "application/pdf"]
    assert all(a.external_id and "/Media/ME" in a.external_id for a in whatsapp.attachments)

    [stop] = twilio.parse(signed(load_form("inbound_stop")))
    assert stop.kind == "note" and stop.extra["opt_out"] is True and "opted out" in stop.text
    for keyword in ("unsubscribe", " Stop ", "QUIT"):
        fields = [(k, keyword if k == "Body" else v) for k, v in load_form("inbound_sms")]
        [note] = twilio.parse(signed([f for f in fields if f[0] != "OptOutType"]))
        assert note.kind == "note" and note.extra.get("opt_out")
    fields = [(k, "START" if k == "Body" else v) for k, v in load_form("inbound_sms")]
    [back] = twilio.parse(signed(fields))
    assert back.kind == "note" and back.extra["opt_in"] is True
    fields = [
        (k, "Please stop the order" if k == "Body" else v) for k, v in load_form("inbound_sms")
    ]
    assert twilio.parse(signed(fields))[0].kind == "message"


def test_status_callbacks_become_status_events(twilio: TwilioChannel) -> None:
    [delivered] = twilio.parse(signed(load_form("status_delivered")))
    sid = dict(load_form("status_delivered"))["MessageSid"]
    assert delivered.kind == "status" and delivered.event_id == f"{sid}:delivered"
    assert delivered.extra["status_of"] == sid and delivered.extra["status"] == "delivered"
    [undelivered] = twilio.parse(signed(load_form("status_undelivered_30003")))
    assert undelivered.extra["status"] == "failed"
    assert undelivered.extra["reason"] == "the phone is unreachable (off or out of coverage)"
    [read] = twilio.parse(signed(load_form("status_whatsapp_read")))
    assert read.extra["status"] == "read"
    [queued] = twilio.parse(signed(load_form("status_queued")))
    assert queued.kind == "ignored"
    fields = [("MessageSid", sid), ("MessageStatus", "failed"), ("ErrorCode", "21610")]
    [opted] = twilio.parse(signed([*fields, ("To", "+15551234567")]))
    assert opted.extra["reason"] == OPTED_OUT


@pytest.mark.parametrize("body", [b"", b"Body=hi", b"MessageSid=SM1"])
def test_bodies_that_are_not_twilio_webhooks_are_400(twilio: TwilioChannel, body: bytes) -> None:
    with pytest.raises(Refused) as refused:
        twilio.parse(InboundRequest("POST", HUB_URL, {}, {}, body))
    assert refused.value.status == 400


def test_send_outcomes_are_classified() -> None:
    def answer(name: str, status: int, headers: dict[str, str] | None = None) -> httpx.Response:
        return httpx.Response(status, content=(FIXTURES / name).read_bytes(), headers=headers)

    sent = classify(answer("response_message_queued.json", 201))
    assert sent.outcome is Outcome.SENT and sent.external_id == "SM" + "a" * 32
    limited = classify(answer("response_error_20429.json", 429, {"Retry-After": "4"}))
    assert (limited.outcome, limited.retry_after) == (Outcome.RETRY, 4.0)
    assert classify(httpx.Response(503, text="down")).outcome is Outcome.RETRY
    for name, reason in (
        ("response_error_21610.json", OPTED_OUT),
        ("response_error_21211.json", "not a valid phone number"),
        ("response_error_21614.json", "not a mobile number: it cannot receive SMS"),
        ("response_error_63016.json", "outside WhatsApp's 24-hour window"),
    ):
        result = classify(answer(name, 400))
        assert (
            result.outcome is Outcome.FAILED and result.reason and result.reason.startswith(reason)
        )
    other = classify(httpx.Response(400, json={"code": 21602, "message": "Body required"}))
    assert other.outcome is Outcome.FAILED and "21602" in (other.reason or "")


@pytest.fixture
def fake() -> Iterator[FakeTwilioApi]:
    with FakeTwilioApi() as server:
        yield server


def message(text: str, to: str, buttons: tuple[Button, ...] = ()) -> OutboundMessage:
    return OutboundMessage(
        thread_id=to, text=text, role="bot", message_id=3, conversation_id=1, buttons=buttons
    )


def test_sending_through_the_fake_api(fake: FakeTwilioApi) -> None:
    async def run() -> None:
        channel = TwilioChannel(config(fake.base_url))
        long = " ".join(f"word{n}" for n in range(600))  # about 4,400 characters
        result = await channel.send(message(long, "+15551234567"))
        assert result.outcome is Outcome.SENT
        pieces = fake.sent("+15551234567")
        assert len(pieces) == 3 and all(len(p.body) <= 1600 for p in pieces)
        assert " ".join(p.body for p in pieces) == long and result.external_id == pieces[-1].sid
        assert {p.form["StatusCallback"] for p in pieces} == {PUBLIC_URL}
        assert {p.form["From"] for p in pieces} == {"+15557654321"}

        buttons = (Button("Yes", "/affirm"), Button("No", "/deny"))
        await channel.send(message("Did this help?", "whatsapp:+5511987654321", buttons))
        [whatsapp] = fake.sent("whatsapp:+5511987654321")
        assert whatsapp.form["From"] == "whatsapp:+15557654321"
        assert "1. Yes\n2. No" in whatsapp.body

        fake.opt_out("+15550000001")
        stopped = await channel.send(message("Hello", "+15550000001"))
        assert (stopped.outcome, stopped.reason) == (Outcome.FAILED, OPTED_OUT)
        fake.fail_next(error(429, 20429, "Too Many Requests", {"Retry-After": "2"}))
        later = await channel.send(message("Hello", "+15551234567"))
        assert (later.outcome, later.retry_after) == (Outcome.RETRY, 2.0)
        fake.fail_next(Reply(500, b"oops"))
        assert (await channel.send(message("Hello", "+15551234567"))).outcome is Outcome.RETRY
        fake.fail_next(error(400, 63016, "outside the allowed window"))
        window = await channel.send(message("Hello", "whatsapp:+5511987654321"))
        assert window.outcome is Outcome.FAILED and "24-hour" in (window.reason or "")
        wrong = TwilioChannel(config(fake.base_url).model_copy(update={"auth_token": "x" * 32}))
        assert (await wrong.send(message("Hello", "+15551234567"))).outcome is Outcome.RETRY
        await channel.aclose()
        await wrong.aclose()

    asyncio.run(run())


def test_config_keys() -> None:
    configs = parse_channels(
        f"""
twilio:
  account_sid: "{ACCOUNT_SID}"
  auth_token: "{AUTH_TOKEN}"
  from: "+15557654321"
  public_url: "{PUBLIC_URL}"
"""
    )
    twilio = configs["twilio"]
    assert isinstance(twilio, TwilioConfig) and twilio.from_ == "+15557654321"
    assert twilio.api_base == "https://api.twilio.com"
    with pytest.raises(ChannelConfigError, match="public_url"):
        parse_channels(f"twilio: {{account_sid: {ACCOUNT_SID}, auth_token: x12345678, from: '+1'}}")


def _store(session: Session, event: object) -> int | None:
    from api.channels.base import InboundMessage

    assert isinstance(event, InboundMessage)
    row, _ = inbound.record_event(
        session, channel="twilio", external_id=event.event_id, kind=event.kind, data=event.to_json()
    )
    return row.id if row else None


def test_a_retried_webhook_is_stored_once_and_status_callbacks_move_the_delivery(
    session: Session, twilio: TwilioChannel
) -> None:
    [sms] = twilio.parse(signed(load_form("inbound_sms")))
    first = _store(session, sms)
    assert first is not None and _store(session, sms) is None  # Twilio (or a proxy) retried
    message, _ = inbound.accept_event(
        session, event_id=first, thread_id=sms.thread_id, user_id=sms.user_id, text=sms.text
    )
    assert message is not None
    [bot], _ = replies.record_bot_replies(
        session, conversation_id=message.conversation_id, replies=[replies.BotReply("Hi")]
    )
    assert bot.delivery is not None
    sid = dict(load_form("status_delivered"))["MessageSid"]
    outbox.mark_sent(session, delivery_id=bot.delivery.id, external_id=sid)
    [delivered] = twilio.parse(signed(load_form("status_delivered")))
    row_id = _store(session, delivered)
    assert row_id is not None and _store(session, delivered) is None
    delivery, _ = inbound.accept_status(
        session, event_id=row_id, status_of=sid, status="delivered", reason=None
    )
    assert delivery is not None and delivery.status is DeliveryStatus.DELIVERED
    event = session.get(InboundEvent, row_id)
    assert event is not None and event.status is InboundStatus.PROCESSED
    [failed] = twilio.parse(signed(load_form("status_undelivered_30003")))
    late = _store(session, failed)
    assert late is not None
    stale, _ = inbound.accept_status(
        session, event_id=late, status_of=sid, status="failed", reason="late"
    )
    assert stale is not None and stale.status is DeliveryStatus.DELIVERED  # no going back
    unknown_row = _store(session, twilio.parse(signed(load_form("status_whatsapp_read")))[0])
    assert unknown_row is not None
    nothing, _ = inbound.accept_status(
        session, event_id=unknown_row, status_of="SMunknown", status="read"
    )
    ignored = session.get(InboundEvent, unknown_row)
    assert nothing is None and ignored is not None and ignored.status is InboundStatus.IGNORED


def test_an_opt_out_is_a_note_for_people_not_a_question_for_the_bot(
    session: Session, twilio: TwilioChannel
) -> None:
    [stop] = twilio.parse(signed(load_form("inbound_stop")))
    row_id = _store(session, stop)
    assert row_id is not None
    message, _ = inbound.accept_event(
        session,
        event_id=row_id,
        thread_id=stop.thread_id,
        user_id=stop.user_id,
        text=stop.text,
        kind=stop.kind,
        extra=stop.extra,
    )
    assert message is not None and message.status.value == "processed"
    assert message.payload["note"] is True and message.payload["channel"]["opt_out"] is True
    assert json.dumps(message.payload)  # stored as JSON
