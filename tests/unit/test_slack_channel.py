"""The Slack adapter on real payloads (tests/fixtures/channels/slack, sources in its README):
the v0 signature exactly as slack_sdk's SignatureVerifier decides, the url_verification
handshake, threads, ignored bot and subtype messages, button presses, retries stored once,
and chat.postMessage's answers against the local fake Web API."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk.signature import Clock, SignatureVerifier
from sqlalchemy.orm import Session

from api.channels.base import Button, InboundRequest, OutboundMessage, Outcome, Refused
from api.channels.config import SlackConfig, parse_channels
from api.channels.intake import ChannelIntake
from api.channels.slack import SlackChannel, classify, mrkdwn, signature
from handoff import inbound
from tests.fakes.slack_api import (
    BOT_USER_ID,
    DEFAULT_TOKEN,
    FakeSlackApi,
    form_body,
    load_fixture,
    message_event,
    signed_headers,
)

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # the example secret of Slack's docs
NOW = 1531420618


class _FixedClock(Clock):
    def now(self) -> float:
        return NOW


def slack(api_base: str = "https://slack.invalid/api", now: float = NOW) -> SlackChannel:
    config = SlackConfig(signing_secret=SECRET, bot_token=DEFAULT_TOKEN, api_base=api_base)
    return SlackChannel(config, clock=lambda: now)


def request(body: bytes, headers: dict[str, str] | None = None) -> InboundRequest:
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    return InboundRequest("POST", "http://hub/channels/slack", lowered, {}, body)


def signed(body: bytes, timestamp: int = NOW, **extra: str) -> InboundRequest:
    return request(body, {**signed_headers(SECRET, body, timestamp=timestamp), **extra})


def raw(name: str) -> bytes:
    return json.dumps(load_fixture(name)).encode()


# ---- the signature --------------------------------------------------------------------


def test_the_documented_example_signature() -> None:
    # docs.slack.dev "Verifying requests from Slack", step by step example.
    body = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id"
        b"=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fw"
        b"ebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2"
        b"JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121"
        b".803a0bc887a14d10d2c447fce8b6703c"
    )
    expected = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    assert signature(SECRET, "1531420618", body) == expected
    assert SignatureVerifier(SECRET, _FixedClock()).is_valid(body, "1531420618", expected)
    slack().verify(request(body, {"x-slack-request-timestamp": "1531420618",
                                  "x-slack-signature": expected}))  # fmt: skip


def test_a_changed_byte_a_wrong_secret_or_an_old_timestamp_is_refused() -> None:
    body = raw("event_message_user.json")
    slack().verify(signed(body))
    tampered = body.replace(b"Hi there", b"Hi thera")
    headers = signed_headers(SECRET, body, timestamp=NOW)
    cases = [
        request(tampered, headers),
        request(body, signed_headers("another-secret", body, timestamp=NOW)),
        signed(body, timestamp=NOW - 301),
        signed(body, timestamp=NOW + 301),
        request(body, {}),
        request(body, {**headers, "X-Slack-Request-Timestamp": "yesterday"}),
        request(body, {k: v for k, v in headers.items() if k != "X-Slack-Signature"}),
    ]
    for case in cases:
        with pytest.raises(Refused) as refused:
            slack().verify(case)
        assert refused.value.status == 401
    slack().verify(signed(body, timestamp=NOW - 300))  # the window's edge is inside


@settings(max_examples=200, deadline=None)
@given(
    body=st.text(max_size=300).map(str.encode),
    shift=st.integers(min_value=-400, max_value=400),
    flip=st.integers(min_value=-1, max_value=40),
    secret=st.sampled_from([SECRET, "other"]),
)
def test_accepts_exactly_what_slack_sdk_accepts(
    body: bytes, shift: int, flip: int, secret: str
) -> None:
    """Our check and slack_sdk's SignatureVerifier agree on every request: signed with the
    right or a wrong secret, any timestamp around the window, a byte of the signature or
    body changed."""
    timestamp = str(NOW + shift)
    given_signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    assert given_signature is not None
    sent_body = body
    if 0 <= flip < len(body):
        sent_body = body[:flip] + bytes([body[flip] ^ 1]) + body[flip + 1 :]
    headers = {"x-slack-request-timestamp": timestamp, "x-slack-signature": given_signature}
    try:
        sdk = SignatureVerifier(SECRET, _FixedClock()).is_valid_request(sent_body, headers)
    except UnicodeDecodeError:  # the SDK decodes the body; a flipped byte may break UTF-8
        sdk = False
    try:
        slack().verify(request(sent_body, headers))
        ours = True
    except Refused:
        ours = False
    assert ours == sdk


# ---- the handshake and the events -----------------------------------------------------


def test_url_verification_is_answered_only_when_signed() -> None:
    body = raw("url_verification.json")
    intake = ChannelIntake(None, {"slack": slack(now=time.time())}, None)  # type: ignore[arg-type]
    answer = asyncio.run(intake.accept("slack", signed(body, timestamp=int(time.time()))))
    assert (answer.status, answer.body) == (200, load_fixture("url_verification")["challenge"])
    assert answer.content_type == "text/plain"
    with pytest.raises(Refused):
        asyncio.run(intake.accept("slack", request(body, {"content-type": "application/json"})))


def test_messages_become_one_conversation_per_thread() -> None:
    [channel] = slack().parse(signed(raw("event_message_channel.json")))
    assert channel.event_id == "Ev111" and channel.kind == "message"
    assert channel.thread_id == "C111:1610241741.000200"  # a new thread: its own ts
    assert channel.text == "Hi here!" and channel.user_id == "U222"  # the mention dropped
    [reply] = slack().parse(signed(raw("event_message_thread_reply_im.json")))
    assert reply.thread_id == "D111:1610261600.000100"  # in a thread: the root's ts
    assert reply.extra["channel_type"] == "im"
    [user] = slack().parse(signed(raw("event_message_user.json")))
    assert user.text == "Hi there! Thanks for sharing the info!" and user.user_id == "W111"


@pytest.mark.parametrize(
    "name",
    [
        "event_message_bot.json",
        "event_message_classic_bot.json",
        "event_message_changed.json",
        "event_app_mention.json",
        "app_rate_limited.json",
    ],
)
def test_bots_edits_mentions_and_notices_are_stored_and_ignored(name: str) -> None:
    [event] = slack().parse(signed(raw(name)))
    assert event.kind == "ignored" and event.event_id


def test_a_button_press_is_a_choice_in_the_buttons_thread() -> None:
    payload = load_fixture("block_actions.json")
    [press] = slack().parse(
        signed(form_body(payload), **{"content-type": "application/x-www-form-urlencoded"})
    )
    assert press.kind == "button" and press.choice == "click_me_123" and press.text == "Button"
    assert press.thread_id == "C111:111.222" and press.user_id == "W111"
    assert press.event_id == "action:1596530385.194939:W111"


@pytest.mark.parametrize(
    "body", [b"not json", b"[]", b'{"no": "type"}', b'{"type": "event_callback"}', b"payload=%7B"]
)
def test_malformed_bodies_are_400(body: bytes) -> None:
    with pytest.raises(Refused) as refused:
        slack().parse(signed(body))
    assert refused.value.status == 400


def test_a_retry_is_recognised_and_stored_once(session: Session) -> None:
    body = raw("event_message_user.json")
    [first] = slack().parse(signed(body))
    [again] = slack().parse(
        signed(body, **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    )
    assert again.event_id == first.event_id
    assert again.extra["retry_num"] == "1" and again.extra["retry_reason"] == "http_timeout"
    rows = [
        inbound.record_event(
            session, channel="slack", external_id=e.event_id, kind=e.kind, data=e.to_json()
        )[0]
        for e in (first, again)
    ]
    assert rows[0] is not None and rows[1] is None


# ---- sending ----------------------------------------------------------------------------


def outbound(thread: str, text: str, buttons: tuple[Button, ...] = ()) -> OutboundMessage:
    return OutboundMessage(
        thread_id=thread,
        text=text,
        role="bot",
        message_id=11,
        conversation_id=3,
        buttons=buttons,
        sources=({"title": "Reset your password", "url": "https://help.example/reset"},),
    )


def test_replies_go_into_the_thread_with_buttons_and_errors_are_classified() -> None:
    async def scenario(fake: FakeSlackApi) -> list[Any]:
        channel = slack(fake.api_base, now=time.time())
        sent = await channel.send(
            outbound("D9:1700000000.000100", "Did this help?", (Button("Yes", "/affirm"),))
        )
        # Slack echoes our own post as a message event: we know our user id now.
        own = channel.parse(
            request(json.dumps(message_event("x", user=BOT_USER_ID, channel="D9")).encode())
        )
        fake.fail_next("chat.postMessage", "ratelimited", status=429, retry_after=7)
        limited = await channel.send(outbound("D9:1", "again"))
        fake.break_channel("C404", "channel_not_found")
        gone = await channel.send(outbound("C404:1", "hello"))
        checked = await channel.check()
        await channel.aclose()
        return [sent, own, limited, gone, checked]

    with FakeSlackApi() as fake:
        sent, own, limited, gone, checked = asyncio.run(scenario(fake))
        [post] = fake.posts("D9")
    assert sent.outcome is Outcome.SENT and sent.external_id.startswith("D9:")
    assert post.params["thread_ts"] == "1700000000.000100"
    assert "<https://help.example/reset|Reset your password>" in post.params["text"]
    section, actions = post.params["blocks"]
    assert section["type"] == "section" and actions["type"] == "actions"
    assert actions["elements"][0]["value"] == "/affirm"
    assert actions["elements"][0]["text"]["text"] == "Yes"
    assert own[0].kind == "ignored"
    assert (limited.outcome, limited.retry_after) == (Outcome.RETRY, 7.0)
    assert gone.outcome is Outcome.FAILED and "channel_not_found" in (gone.reason or "")
    assert BOT_USER_ID in checked


@pytest.mark.parametrize(
    "error",
    ["channel_not_found", "not_in_channel", "is_archived", "account_inactive", "invalid_auth"],
)
def test_permanent_errors_fail_for_good(error: str) -> None:
    answer = httpx.Response(200, json=load_fixture(f"response_error_{error}.json"))
    result = classify(answer)
    assert result.outcome is Outcome.FAILED and error in (result.reason or "")


def test_success_rate_limits_and_outages() -> None:
    ok = classify(httpx.Response(200, json=load_fixture("response_postMessage_ok.json")))
    assert ok.outcome is Outcome.SENT and ok.external_id == "C123ABC456:1503435956.000247"
    limited = classify(
        httpx.Response(
            429, json=load_fixture("response_error_ratelimited.json"), headers={"Retry-After": "3"}
        )
    )
    assert (limited.outcome, limited.retry_after) == (Outcome.RETRY, 3.0)
    assert classify(httpx.Response(503, text="down")).outcome is Outcome.RETRY


def test_markdown_becomes_mrkdwn() -> None:
    text = mrkdwn(outbound("C1:1", "See **this** [guide](https://x.example/a) & <b>"))
    assert text.startswith("See *this* <https://x.example/a|guide> &amp; &lt;b&gt;")
    assert text.endswith("• <https://help.example/reset|Reset your password>")


def test_channels_yml_keys() -> None:
    [config] = parse_channels(
        f"slack:\n  signing_secret: s\n  bot_token: {DEFAULT_TOKEN}\n"
    ).values()
    assert isinstance(config, SlackConfig) and config.api_base == "https://slack.com/api"
    with pytest.raises(ValueError, match="slack"):
        parse_channels("slack:\n  signing_secret: s\n")
