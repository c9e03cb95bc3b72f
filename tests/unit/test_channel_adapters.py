"""The Telegram and signed-webhook adapters on real payload fixtures (tests/fixtures/channels,
sources in each folder's README), and channels.yml parsing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from api.channels.base import Button, InboundRequest, OutboundMessage, Outcome, Refused
from api.channels.config import (
    ChannelConfigError,
    TelegramConfig,
    WebhookConfig,
    parse_channels,
)
from api.channels.render import plain_text, split_text
from api.channels.telegram import TelegramChannel, classify
from api.channels.webhook import SignedWebhookChannel
from api.channels.webhook import classify as classify_callback

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "channels"
SECRET = "s3cret-token"


def telegram_fixture(name: str) -> bytes:
    return (FIXTURES / "telegram" / name).read_bytes()


def request(body: bytes, headers: dict[str, str] | None = None) -> InboundRequest:
    return InboundRequest("POST", "http://hub/channels/x", headers or {}, {}, body)


@pytest.fixture
def telegram() -> TelegramChannel:
    return TelegramChannel(TelegramConfig(bot_token="123:ABC", secret_token=SECRET))


def test_telegram_secret_token_is_required(telegram: TelegramChannel) -> None:
    body = telegram_fixture("update_message_text.json")
    telegram.verify(request(body, {"x-telegram-bot-api-secret-token": SECRET}))
    for headers in ({}, {"x-telegram-bot-api-secret-token": SECRET + "x"}):
        with pytest.raises(Refused) as refused:
            telegram.verify(request(body, headers))
        assert refused.value.status == 401


def test_telegram_message_edit_button_and_unknown_updates(telegram: TelegramChannel) -> None:
    [text] = telegram.parse(request(telegram_fixture("update_message_text.json")))
    update = json.loads(telegram_fixture("update_message_text.json"))
    assert text.event_id == str(update["update_id"]) and text.kind == "message"
    assert text.thread_id == str(update["message"]["chat"]["id"])
    assert text.text == update["message"]["text"]
    assert text.profile.name == "Martin Man" and text.profile.language == "en"

    [edit] = telegram.parse(request(telegram_fixture("update_edited_message_rasa.json")))
    assert edit.kind == "edit" and edit.text == "Hello!" and edit.event_id == "280069275"

    [start] = telegram.parse(request(telegram_fixture("update_command_start.json")))
    assert start.text == "Hello" and start.extra["command"].startswith("/start")

    callback_update = json.loads(telegram_fixture("update_callback_query.json"))
    [press] = telegram.parse(request(telegram_fixture("update_callback_query.json")))
    query = callback_update["callback_query"]
    assert press.kind == "button" and press.choice == query["data"]
    assert press.extra["callback_query_id"] == query["id"]
    titles = [b["text"] for row in query["message"]["reply_markup"]["inline_keyboard"] for b in row]
    assert press.text in titles

    for name in ("update_poll.json", "update_my_chat_member_blocked.json"):
        [ignored] = telegram.parse(request(telegram_fixture(name)))
        assert ignored.kind == "ignored"


def test_telegram_attachments_are_recorded(telegram: TelegramChannel) -> None:
    [document] = telegram.parse(request(telegram_fixture("update_message_document.json")))
    assert document.attachments and document.attachments[0].content_type == "application/pdf"
    [photo] = telegram.parse(request(telegram_fixture("update_message_photo.json")))
    assert photo.attachments[0].content_type == "image/jpeg" and photo.text  # the caption


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"message": {}}', b'{"update_id": "1"}'])
def test_telegram_malformed_bodies_are_400(telegram: TelegramChannel, body: bytes) -> None:
    with pytest.raises(Refused) as refused:
        telegram.parse(request(body))
    assert refused.value.status == 400


def test_telegram_send_results_are_classified() -> None:
    def answer(name: str, status: int) -> httpx.Response:
        return httpx.Response(status, content=telegram_fixture(name))

    sent = classify(answer("response_sendMessage_ok.json", 200))
    assert sent.outcome is Outcome.SENT and sent.external_id
    limited = classify(answer("response_error_429_retry_after.json", 429))
    expected = json.loads(telegram_fixture("response_error_429_retry_after.json"))
    assert limited.outcome is Outcome.RETRY
    assert limited.retry_after == expected["parameters"]["retry_after"]
    blocked = classify(answer("response_error_403_blocked.json", 403))
    assert (blocked.outcome, blocked.reason) == (Outcome.FAILED, "the customer blocked the bot")
    missing = classify(answer("response_error_400_chat_not_found.json", 400))
    assert (missing.outcome, missing.reason) == (Outcome.FAILED, "unknown chat")
    assert classify(httpx.Response(502, text="bad gateway")).outcome is Outcome.RETRY


def outbound(text: str, buttons: tuple[Button, ...] = ()) -> OutboundMessage:
    return OutboundMessage(
        thread_id="42", text=text, role="bot", message_id=7, conversation_id=1, buttons=buttons
    )


def test_long_texts_split_at_word_boundaries_and_buttons_become_numbers() -> None:
    words = " ".join(f"word{n}" for n in range(2000))
    chunks = split_text(words, 4096)
    assert all(len(c) <= 4096 for c in chunks) and " ".join(chunks) == words
    text = plain_text(
        outbound("Which one?", (Button("Reset", "/a"), Button("Export", "/b"))),
        numbered_buttons=True,
    )
    assert "1. Reset\n2. Export" in text


def test_webhook_signatures_match_the_standard_and_its_vectors() -> None:
    vectors = json.loads((FIXTURES / "webhook" / "vectors.json").read_text())["vectors"]
    for vector in vectors:
        moment = datetime.fromtimestamp(vector["timestamp"], UTC)
        hook = Webhook(vector["secret"])
        assert hook.sign(vector["msg_id"], moment, vector["body"]) == vector["signature"]


def test_webhook_inbound_verified_with_a_5_minute_window() -> None:
    secret = "whsec_" + "ZnJvbnRsaW5lLXRlc3Qtd2ViaG9vay1zZWNyZXQtMzI="
    channel = SignedWebhookChannel(WebhookConfig(secret=secret, callback_url="http://x/hook"))
    body = (FIXTURES / "webhook" / "inbound_message.json").read_text()
    headers = {k.lower(): v for k, v in channel.sign("msg_1", body).items()}
    channel.verify(request(body.encode(), headers))
    [event] = channel.parse(request(body.encode(), headers))
    assert event.event_id == "msg_1" and event.thread_id == "crm-7f3a2c9e"
    assert event.profile.email == "ada@example.org"
    tampered = body.replace("4417", "4418").encode()
    old = {
        k.lower(): v
        for k, v in channel.sign("msg_2", body, datetime(2020, 1, 1, tzinfo=UTC)).items()
    }
    for bad_body, bad_headers in ((tampered, headers), (body.encode(), old), (body.encode(), {})):
        with pytest.raises(Refused) as refused:
            channel.verify(request(bad_body, bad_headers))
        assert refused.value.status == 401
    with pytest.raises(Refused) as malformed:
        channel.parse(request(b'{"text": "no ids"}', headers))
    assert malformed.value.status == 400


def test_webhook_callback_answers_are_classified() -> None:
    assert classify_callback(httpx.Response(204)).outcome is Outcome.SENT
    later = classify_callback(httpx.Response(429, headers={"retry-after": "7"}))
    assert (later.outcome, later.retry_after) == (Outcome.RETRY, 7.0)
    assert classify_callback(httpx.Response(503)).outcome is Outcome.RETRY
    assert classify_callback(httpx.Response(410)).outcome is Outcome.FAILED
    assert classify_callback(httpx.Response(400)).outcome is Outcome.FAILED


def test_channels_yml_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TG_TOKEN", "123:XYZ")
    configs = parse_channels(
        """
telegram:
  bot_token: "${TG_TOKEN}"
  secret_token: "s3cret-token"
  api_base: "http://127.0.0.1:9"
webhook:
  secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
  callback_url: "https://example.com/hook"
email:
  imap: {host: imap.example.com, port: 993, username: u, password: p, ssl: true, folder: INBOX}
  smtp: {host: smtp.example.com, port: 587, username: u, password: p, starttls: true}
  address: "support@example.com"
  poll_seconds: 30
"""
    )
    telegram = configs["telegram"]
    assert isinstance(telegram, TelegramConfig) and telegram.bot_token == "123:XYZ"
    for bad, why in (
        ("slack2: {}", "unknown channel"),
        ("telegram: {bot_token: '1:A'}", "secret_token"),
        ("telegram: {bot_token: '${NOPE_UNSET}', secret_token: x}", "NOPE_UNSET"),
        ("webhook: {secret: plain, callback_url: 'https://x/y'}", "secret"),
    ):
        with pytest.raises(ChannelConfigError, match=why):
            parse_channels(bad)
