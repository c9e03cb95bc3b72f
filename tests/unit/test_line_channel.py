"""The LINE adapter on real payloads (tests/fixtures/channels/line, sources in its README):
X-Line-Signature exactly as line-bot-sdk's SignatureValidator and WebhookParser decide, every
event of a batch, redeliveries stored once, and reply-or-push against the local fake API."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.webhook import SignatureValidator, WebhookParser
from sqlalchemy.orm import Session

from api.channels.base import Button, InboundRequest, OutboundMessage, Outcome, Refused
from api.channels.config import LineConfig, parse_channels
from api.channels.line import LineChannel, classify, messages, retry_key, signature
from handoff import inbound
from tests.fakes.line_api import (
    DEFAULT_TOKEN,
    FakeLineApi,
    load_fixture,
    sign,
    text_event,
    webhook,
)

SECRET = "5bd1e5fd2a0f6c4e8d1b3a7c9e0f2d4b"


def line(api_base: str = "https://line.invalid") -> LineChannel:
    config = LineConfig(
        channel_secret=SECRET, channel_access_token=DEFAULT_TOKEN, api_base=api_base
    )
    return LineChannel(config)


def request(body: bytes, signature_: str | None = None) -> InboundRequest:
    headers = {"x-line-signature": signature_ if signature_ is not None else sign(SECRET, body)}
    return InboundRequest("POST", "http://hub/channels/line", headers, {}, body)


def raw(name: str) -> bytes:
    return json.dumps(load_fixture(name)).encode()


# ---- the signature --------------------------------------------------------------------


def test_the_sdk_parses_what_we_accept_and_refuses_a_changed_byte() -> None:
    body = raw("webhook_sdk_v3_tests.json")
    ours = signature(SECRET, body)
    line().verify(request(body, ours))
    assert SignatureValidator(SECRET).validate(body.decode(), ours)
    parsed = WebhookParser(SECRET).parse(body.decode(), ours)
    assert len(parsed) == len(line().parse(request(body)))  # every event of the batch
    tampered = body.replace(b"Hello, world", b"Hello, World")
    with pytest.raises(InvalidSignatureError):
        WebhookParser(SECRET).parse(tampered.decode(), ours)
    for case in (request(tampered, ours), request(body, ""), request(body, ours[:-2] + "==")):
        with pytest.raises(Refused) as refused:
            line().verify(case)
        assert refused.value.status == 401


@settings(max_examples=200, deadline=None)
@given(
    body=st.text(max_size=300),
    secret=st.sampled_from([SECRET, "other"]),
    flip=st.integers(min_value=-1, max_value=40),
)
def test_accepts_exactly_what_line_bot_sdk_accepts(body: str, secret: str, flip: int) -> None:
    given_signature = sign(secret, body.encode())
    if 0 <= flip < len(given_signature):
        swapped = "A" if given_signature[flip] != "A" else "B"
        given_signature = given_signature[:flip] + swapped + given_signature[flip + 1 :]
    sdk = SignatureValidator(SECRET).validate(body, given_signature)
    try:
        line().verify(request(body.encode(), given_signature))
        ours = True
    except Refused:
        ours = False
    assert ours == sdk


# ---- parsing ------------------------------------------------------------------------------


def test_every_event_of_the_sdk_batch() -> None:
    events = line().parse(request(raw("webhook_sdk_v3_tests.json")))
    body = load_fixture("webhook_sdk_v3_tests.json")
    assert len(events) == len(body["events"])
    kinds = {e.kind for e in events}
    assert kinds == {"message", "button", "ignored"}
    text = events[0]
    assert (text.text, text.user_id, text.thread_id) == (
        "Hello, world",
        "U206d25c2ea6bd87c17655609a1c37cb8",
        "U206d25c2ea6bd87c17655609a1c37cb8",
    )
    assert text.event_id == "testwebhookeventid" and text.extra["reply_token"]
    assert text.extra["source_type"] == "user" and text.extra["redelivery"] is False
    image = events[1]
    assert image.thread_id == "Ra8dbf4673c4c812cd491258042226c99"  # a room is the chat
    assert image.attachments[0].content_type == "image/jpeg"
    location, sticker = events[4], events[5]
    assert location.text == "[location: my location, Tokyo]"
    assert sticker.text == "[sticker: Just sticker]"
    follow, unfollow = events[6], events[7]
    assert follow.kind == unfollow.kind == "ignored"
    [file_event] = [e for e in events if e.attachments and e.attachments[0].name == "file.txt"]
    assert file_event.attachments[0].size == 2138
    group = next(e for e in events if e.extra.get("source_type") == "group" and e.kind == "message")
    assert group.thread_id == "Ca56f94637cc4347f90a25382909b24b9"
    assert group.user_id == "U206d25c2ea6bd87c17655609a1c37cb8"
    postback = next(e for e in events if e.kind == "button")
    assert postback.choice == postback.text == "action=buyItem&itemId=123123&color=red"
    assert any(e.extra.get("redelivery") for e in events)


def test_a_batch_is_every_event_and_standby_is_ignored() -> None:
    first, second = line().parse(request(raw("webhook_batch_two_texts.json")))
    assert first.event_id != second.event_id and second.text == "How do I reset my password?"
    [standby] = line().parse(request(raw("webhook_text_standby.json")))
    assert standby.kind == "ignored"
    assert line().parse(request(raw("webhook_empty_verify.json"))) == []


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"destination": "U1"}'])
def test_malformed_bodies_are_400(body: bytes) -> None:
    with pytest.raises(Refused) as refused:
        line().parse(request(body))
    assert refused.value.status == 400


def test_a_redelivery_is_recognised_and_stored_once(session: Session) -> None:
    [first] = line().parse(request(raw("webhook_text.json")))
    [again] = line().parse(request(raw("webhook_text_redelivered.json")))
    assert again.event_id == first.event_id and again.extra["redelivery"] is True
    rows = [
        inbound.record_event(
            session, channel="line", external_id=e.event_id, kind=e.kind, data=e.to_json()
        )[0]
        for e in (first, again)
    ]
    assert rows[0] is not None and rows[1] is None


# ---- sending ----------------------------------------------------------------------------


def outbound(
    text: str,
    *,
    latest: dict[str, Any] | None = None,
    buttons: tuple[Button, ...] = (),
    mid: int = 5,
) -> OutboundMessage:
    return OutboundMessage(
        thread_id="Ucustomer",
        text=text,
        role="bot",
        message_id=mid,
        conversation_id=2,
        buttons=buttons,
        context={"latest_extra": latest or {}},
    )


def fresh(token: str, age: float = 2.0, redelivery: bool = False) -> dict[str, Any]:
    return {
        "reply_token": token,
        "timestamp": int((time.time() - age) * 1000),
        "redelivery": redelivery,
    }


def test_reply_while_fresh_then_push_with_a_stable_retry_key() -> None:
    async def scenario(fake: FakeLineApi) -> dict[str, Any]:
        channel = line(fake.base_url)
        token = fake.issue_reply_token("Ucustomer")
        out = {
            "replied": await channel.send(outbound("Answer", latest=fresh(token))),
            # The same token again (a second message answering the same question): push.
            "second": await channel.send(outbound("More", latest=fresh(token), mid=6)),
            "stale": await channel.send(outbound("Later", latest=fresh("old", age=120), mid=7)),
        }
        expired = fake.issue_reply_token("Ucustomer")
        fake.expire(expired)  # LINE says "Invalid reply token": push instead
        out["expired"] = await channel.send(outbound("Expired", latest=fresh(expired), mid=8))
        again = fake.issue_reply_token("Ucustomer")
        out["redelivered"] = await channel.send(
            outbound("Redelivered", latest=fresh(again, redelivery=True), mid=9)
        )
        # The hub retries message 7 (its answer was lost): LINE runs it only once.
        out["retried"] = await channel.send(outbound("Later", mid=7))
        fake.fail_next("push", 429, "The API rate limit has been exceeded.", retry_after=2)
        out["limited"] = await channel.send(outbound("Busy", mid=10))
        fake.block("Ucustomer")
        out["blocked"] = await channel.send(outbound("Gone", mid=11))
        await channel.aclose()
        return out

    with FakeLineApi() as fake:
        out = asyncio.run(scenario(fake))
        calls = [(c.endpoint, c.status, c.texts) for c in fake.calls]
        keys = {c.texts[0]: c.headers.get("x-line-retry-key") for c in fake.calls if c.texts}
    assert calls[0] == ("reply", 200, ["Answer"])
    assert calls[1] == ("push", 200, ["More"])
    assert calls[2] == ("push", 200, ["Later"])
    assert calls[3] == ("reply", 400, ["Expired"]) and calls[4] == ("push", 200, ["Expired"])
    assert calls[5] == ("push", 200, ["Redelivered"])
    assert calls[6] == ("push", 409, ["Later"]) and out["retried"].outcome is Outcome.SENT
    assert keys["Later"] == retry_key(7) and keys["More"] == retry_key(6)
    assert all(out[k].outcome is Outcome.SENT for k in ("replied", "second", "stale", "expired"))
    assert (out["limited"].outcome, out["limited"].retry_after) == (Outcome.RETRY, 2.0)
    assert out["blocked"].outcome is Outcome.FAILED
    assert "blocked" in (out["blocked"].reason or "")


def test_quick_replies_and_their_postbacks() -> None:
    buttons = tuple(
        Button(f"A rather long choice number {n}", f'/choose{{"n": {n}}}') for n in range(3)
    )
    [message] = messages(outbound("Pick one", buttons=buttons))
    items = message["quickReply"]["items"]
    assert len(items) == 3 and all(len(i["action"]["label"]) <= 20 for i in items)
    data = items[1]["action"]["data"]
    body = webhook([{**text_event("", user_id="U1", reply_token=None), "type": "postback",
                     "postback": {"data": data}}])  # fmt: skip
    [press] = line().parse(request(json.dumps(body).encode()))
    assert press.kind == "button" and press.choice == buttons[1].payload
    assert press.text == buttons[1].title
    many = tuple(Button(str(n), f"/n{n}") for n in range(14))
    [numbered] = messages(outbound("Pick", buttons=many))
    assert "quickReply" not in numbered and "14. 13" in numbered["text"]
    long = messages(outbound("x" * 12000))
    assert [len(m["text"]) for m in long] == [5000, 5000, 2000]


def test_classification_of_the_documented_answers() -> None:
    def answer(status: int, name: str, **headers: str) -> httpx.Response:
        return httpx.Response(status, json=load_fixture(name), headers=headers)

    ok = classify(answer(200, "response_push_ok.json"))
    assert ok.outcome is Outcome.SENT and ok.external_id == "461230966842064897"
    accepted = classify(
        answer(
            409,
            "response_error_409_retry_key_accepted.json",
            **{"x-line-accepted-request-id": "r1"},
        )
    )
    assert (accepted.outcome, accepted.external_id) == (Outcome.SENT, "r1")
    assert classify(answer(429, "response_error_429.json")).outcome is Outcome.RETRY
    assert classify(answer(403, "response_error_403_not_friend.json")).outcome is Outcome.FAILED
    bad = classify(answer(400, "response_error_400_invalid_reply_token.json"))
    assert bad.outcome is Outcome.FAILED
    assert classify(httpx.Response(500)).outcome is Outcome.RETRY


def test_profile_is_fetched_for_the_contact() -> None:
    async def scenario(fake: FakeLineApi) -> Any:
        channel = line(fake.base_url)
        [event] = channel.parse(request(raw("webhook_text.json")))
        fake.add_profile(event.user_id, "LINE taro", "ja")
        enriched = await channel.after_accept(event)
        await channel.aclose()
        return enriched

    with FakeLineApi() as fake:
        enriched = asyncio.run(scenario(fake))
    assert enriched.profile.name == "LINE taro" and enriched.profile.language == "ja"


def test_channels_yml_keys() -> None:
    [config] = parse_channels("line:\n  channel_secret: s\n  channel_access_token: t\n").values()
    assert isinstance(config, LineConfig) and config.api_base == "https://api.line.me"
    with pytest.raises(ValueError, match="line"):
        parse_channels("line:\n  channel_secret: s\n")
