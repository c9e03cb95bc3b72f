"""The channel fakes and fixtures themselves: if these fail, adapter tests prove nothing."""

from __future__ import annotations

import base64
import email.policy
import hashlib
import hmac
import imaplib
import json
import shutil
import smtplib
import ssl
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from tests.fakes import mail_servers, telegram_api
from tests.fakes.mail_servers import (
    DovecotUnavailable,
    ImapMailbox,
    SmtpSink,
    free_port,
    load_eml,
    parse_eml,
    start_dovecot,
    stop_dovecot,
)
from tests.fakes.telegram_api import (
    BLOCKED,
    CHAT_NOT_FOUND,
    DEFAULT_TOKEN,
    FakeTelegramApi,
    callback_update,
    load_update,
    post_update,
    text_update,
)
from tests.fakes.webhook_receiver import (
    WebhookReceiver,
    load_body,
    load_vectors,
    new_secret,
    sign,
)

CHAT = 1760450482
GERMAN_SUBJECT = "Frage zu meiner Rechnung \u2013 \u00dcberweisung fehlt \U0001f4b6"


@pytest.fixture
def telegram() -> Iterator[FakeTelegramApi]:
    with FakeTelegramApi() as fake:
        yield fake


def _bot(
    fake: FakeTelegramApi, method: str, token: str = DEFAULT_TOKEN, **params: object
) -> httpx.Response:
    return httpx.post(f"{fake.base_url}/bot{token}/{method}", json=params, timeout=5)


# Telegram


def test_telegram_fixtures_are_updates_or_responses() -> None:
    files = sorted(telegram_api.FIXTURES.glob("*.json"))
    assert len(files) >= 14
    for path in files:
        data = json.loads(path.read_text(encoding="utf-8"))
        if path.name.startswith("update_"):
            assert isinstance(data["update_id"], int)
            assert len(set(data) - {"update_id"}) == 1, path.name
        else:
            assert isinstance(data["ok"], bool), path.name
            assert ("result" in data) == data["ok"], path.name
    assert load_update("update_edited_message_rasa")["edited_message"]["text"] == "Hello!"
    assert load_update("response_error_429_retry_after")["parameters"]["retry_after"] == 35


def test_send_message_returns_a_message_with_new_ids(telegram: FakeTelegramApi) -> None:
    markup = {"inline_keyboard": [[{"text": "Yes", "callback_data": "/affirm"}]]}
    first = _bot(telegram, "sendMessage", chat_id=CHAT, text="Hello", reply_markup=markup)
    second = _bot(telegram, "sendMessage", chat_id=str(CHAT), text="Again", parse_mode="HTML")
    assert first.status_code == 200 and first.json()["ok"] is True
    message = first.json()["result"]
    assert message["chat"]["id"] == CHAT and message["text"] == "Hello"
    assert message["reply_markup"] == markup
    assert second.json()["result"]["message_id"] == message["message_id"] + 1
    sent = telegram.wait_for_sent(2, timeout=2)
    assert [c.params["text"] for c in sent] == ["Hello", "Again"]
    assert sent[0].params["reply_markup"] == markup
    assert sent[1].chat_id == CHAT and sent[1].params["parse_mode"] == "HTML"
    assert telegram.sent(chat_id=CHAT) == sent and telegram.sent(chat_id=1) == []


def test_form_encoded_calls_are_understood(telegram: FakeTelegramApi) -> None:
    markup = {"inline_keyboard": [[{"text": "No", "callback_data": "/deny"}]]}
    reply = httpx.post(
        f"{telegram.base_url}/bot{DEFAULT_TOKEN}/sendMessage",
        data={"chat_id": str(CHAT), "text": "form", "reply_markup": json.dumps(markup)},
    )
    assert reply.json()["ok"] is True
    assert telegram.sent()[0].params == {"chat_id": CHAT, "text": "form", "reply_markup": markup}
    multipart = httpx.post(
        f"{telegram.base_url}/bot{DEFAULT_TOKEN}/sendMessage",
        data={"chat_id": str(CHAT), "text": "multipart"},
        files={"unused": ("a.txt", b"x", "text/plain")},
    )
    assert multipart.json()["ok"] is True
    assert telegram.sent()[1].params["text"] == "multipart"


def test_scripted_429_carries_retry_after_then_recovers(telegram: FakeTelegramApi) -> None:
    telegram.fail_next(
        "sendMessage", 429, "Too Many Requests: retry after 3", retry_after=3, count=2
    )
    for _ in range(2):
        reply = _bot(telegram, "sendMessage", chat_id=CHAT, text="hi")
        assert reply.status_code == 429
        assert reply.json() == {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 3",
            "parameters": {"retry_after": 3},
        }
        assert reply.headers["Retry-After"] == "3"
    assert _bot(telegram, "sendMessage", chat_id=CHAT, text="hi").status_code == 200
    assert [c.status for c in telegram.calls] == [429, 429, 200]
    assert len(telegram.sent()) == 1


def test_blocked_chat_answers_403_and_unknown_chat_400() -> None:
    with FakeTelegramApi(known_chats=[CHAT, 42]) as fake:
        fake.block_chat(42)
        blocked = _bot(fake, "sendMessage", chat_id=42, text="hi")
        assert blocked.status_code == 403
        assert blocked.json()["description"] == BLOCKED
        assert _bot(fake, "sendChatAction", chat_id=42, action="typing").status_code == 403
        unknown = _bot(fake, "sendMessage", chat_id=99, text="hi")
        assert unknown.status_code == 400
        assert unknown.json() == {"ok": False, "error_code": 400, "description": CHAT_NOT_FOUND}
        assert _bot(fake, "sendMessage", chat_id=CHAT, text="hi").status_code == 200
        assert fake.sent() == fake.sent(CHAT)


def test_wrong_token_unknown_method_and_bad_text(telegram: FakeTelegramApi) -> None:
    wrong = _bot(telegram, "getMe", token="7000000001:wrong")
    assert wrong.status_code == 401
    assert wrong.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    assert _bot(telegram, "sendSticker", chat_id=CHAT).status_code == 404
    assert _bot(telegram, "sendMessage", chat_id=CHAT, text="").status_code == 400
    too_long = _bot(telegram, "sendMessage", chat_id=CHAT, text="x" * 4097)
    assert too_long.json()["description"] == "Bad Request: message is too long"
    assert telegram.sent() == []


def test_webhook_methods_and_the_rest(telegram: FakeTelegramApi) -> None:
    me = _bot(telegram, "getMe").json()["result"]
    assert me["is_bot"] is True and me["username"] == "frontline_test_bot"
    set_reply = _bot(
        telegram,
        "setWebhook",
        url="https://hub.example.test/channels/telegram",
        secret_token="s3cret_-X",
    )
    assert set_reply.json() == {"ok": True, "result": True, "description": "Webhook was set"}
    assert telegram.webhook["secret_token"] == "s3cret_-X"
    info = _bot(telegram, "getWebhookInfo").json()["result"]
    assert info["url"] == "https://hub.example.test/channels/telegram"
    assert (
        _bot(telegram, "setWebhook", url="https://x.test", secret_token="bad token!").status_code
        == 400
    )
    assert _bot(telegram, "deleteWebhook").json()["result"] is True
    assert _bot(telegram, "getWebhookInfo").json()["result"]["url"] == ""
    assert _bot(telegram, "answerCallbackQuery", callback_query_id="7561").json()["result"] is True
    assert _bot(telegram, "sendChatAction", chat_id=CHAT, action="typing").json()["result"] is True
    sent = _bot(
        telegram,
        "sendMessage",
        chat_id=CHAT,
        text="Did it help?",
        reply_markup={"inline_keyboard": [[{"text": "Yes", "callback_data": "/affirm"}]]},
    ).json()["result"]
    edited = _bot(
        telegram,
        "editMessageReplyMarkup",
        chat_id=CHAT,
        message_id=sent["message_id"],
        reply_markup={"inline_keyboard": []},
    ).json()["result"]
    assert "reply_markup" not in edited and edited["edit_date"] >= sent["date"]
    missing = _bot(telegram, "editMessageReplyMarkup", chat_id=CHAT, message_id=1)
    assert missing.json()["description"] == "Bad Request: message to edit not found"
    assert [c.method for c in telegram.calls][:3] == ["getMe", "setWebhook", "getWebhookInfo"]


def test_post_update_sends_the_secret_header_like_telegram() -> None:
    seen: list[tuple[str, str | None, dict[str, Any]]] = []

    def hub(request: httpx.Request) -> httpx.Response:
        seen.append(
            (
                request.url.path,
                request.headers.get("x-telegram-bot-api-secret-token"),
                json.loads(request.content),
            )
        )
        return httpx.Response(200)

    with httpx.Client(transport=httpx.MockTransport(hub), base_url="http://hub") as client:
        update = text_update("/start")
        assert post_update("", update, "tok_1", client=client).status_code == 200
        post_update("", callback_update("/affirm"), None, client=client)
    assert seen[0] == ("/channels/telegram", "tok_1", update)
    assert update["message"]["entities"][0]["type"] == "bot_command"
    assert seen[1][1] is None and seen[1][2]["callback_query"]["data"] == "/affirm"


# Standard Webhooks


def test_vectors_match_the_standardwebhooks_package() -> None:
    doc = load_vectors()
    assert doc["vectors"][0]["signature"] == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    for vector in doc["vectors"]:
        when = datetime.fromtimestamp(vector["timestamp"], tz=UTC)
        body = vector["body"]
        if vector["name"].endswith(".json"):
            assert load_body(vector["name"]).decode() == body
        assert Webhook(vector["secret"]).sign(vector["msg_id"], when, body) == vector["signature"]
        key = base64.b64decode(vector["secret"].removeprefix("whsec_") + "==")
        mac = hmac.new(
            key, f"{vector['msg_id']}.{vector['timestamp']}.{body}".encode(), hashlib.sha256
        )
        assert vector["signature"] == "v1," + base64.b64encode(mac.digest()).decode()
        assert (
            sign(vector["secret"], vector["msg_id"], vector["timestamp"], body)["webhook-signature"]
            == vector["signature"]
        )


def test_inbound_bodies_follow_our_contract() -> None:
    for name in ("inbound_message.json", "inbound_button.json", "inbound_anonymous.json"):
        data = json.loads(load_body(name))
        assert set(data) == {"conversation_id", "message_id", "text", "payload", "user"}
        assert set(data["user"]) == {"id", "name", "email"}
        assert data["payload"] is None or isinstance(data["payload"], str)


def test_receiver_verifies_a_signed_callback_and_rejects_a_changed_byte() -> None:
    secret = new_secret()
    body = load_body("inbound_message.json")
    with WebhookReceiver(secret) as receiver:
        headers = {**sign(secret, "msg_1", None, body), "Content-Type": "application/json"}
        good = httpx.post(receiver.url, content=body, headers=headers)
        tampered = body.replace(b"4417", b"4418", 1)
        bad = httpx.post(receiver.url, content=tampered, headers=headers)
        old = sign(secret, "msg_2", time.time() - 301, body)
        stale = httpx.post(receiver.url, content=body, headers=old)
        assert (good.status_code, bad.status_code, stale.status_code) == (200, 401, 401)
        got = receiver.wait_for(1)
        assert (
            len(got) == 1 and got[0].msg_id == "msg_1" and got[0].payload["text"].startswith("Hi")
        )
        everything = receiver.callbacks
        assert [c.verified for c in everything] == [True, False, False]
        assert "No matching signature" in (everything[1].error or "")
        assert "too old" in (everything[2].error or "")
        assert everything[1].body == tampered


def test_receiver_rotation_and_scripted_failures() -> None:
    secret = new_secret()
    body = b'{"text": "hi"}'
    with WebhookReceiver(secret) as receiver:
        headers = sign(secret, "msg_r", None, body)
        wrong_first = "v1," + base64.b64encode(b"\0" * 32).decode()
        rotated = {**headers, "webhook-signature": f"{wrong_first} {headers['webhook-signature']}"}
        assert httpx.post(receiver.url, content=body, headers=rotated).status_code == 200
        receiver.fail_next(500)
        receiver.fail_next(429, retry_after=7)
        receiver.fail_next(410, count=2)
        answers = [httpx.post(receiver.url, content=body, headers=headers) for _ in range(5)]
        assert [a.status_code for a in answers] == [500, 429, 410, 410, 200]
        assert answers[1].headers["Retry-After"] == "7"
        assert all(c.verified for c in receiver.callbacks)
        assert [c.status for c in receiver.callbacks] == [200, 500, 429, 410, 410, 200]


def test_vector_negative_cases_fail_as_recorded() -> None:
    doc = load_vectors()
    by_name = {v["name"]: v for v in doc["vectors"]}
    for case in doc["negative"]:
        vector = by_name[case["of"]]
        now = int(time.time())
        fresh = sign(vector["secret"], vector["msg_id"], now, vector["body"])
        wh = Webhook(vector["secret"])
        body = vector["body"]
        if case["name"] == "body-one-byte-changed":
            with pytest.raises(WebhookVerificationError):
                wh.verify(body.replace("4417", "4418", 1), fresh)
        else:
            signature = case["signature_header"].replace(
                vector["signature"], fresh["webhook-signature"]
            )
            headers = {**fresh, "webhook-signature": signature}
            if case["expect"].startswith("valid"):
                wh.verify(body, headers)
            else:
                with pytest.raises(WebhookVerificationError):
                    wh.verify(body, headers)


# Email


def test_eml_fixtures_parse_without_defects() -> None:
    names = sorted(p.name for p in mail_servers.FIXTURES.glob("*.eml"))
    assert len(names) >= 10
    for name in names:
        message = parse_eml(load_eml(name))
        assert message["Message-ID"] or message["Message-Id"], name
        assert not message.defects, (name, message.defects)
    subject = parse_eml(load_eml("utf8_encoded_subject"))["Subject"]
    assert subject == GERMAN_SUBJECT
    reply = parse_eml(load_eml("reply_quoted_signature"))
    assert "<conversation-1001.message-2@support.example.test>" in reply["References"]
    assert "\n-- \n" in reply.get_content()
    pdf = next(parse_eml(load_eml("attachment_pdf")).iter_attachments())
    assert pdf.get_filename() == "invoice-2026-01.pdf"
    assert pdf.get_content().startswith(b"%PDF-1.4")
    bounce = parse_eml(load_eml("bounce_dsn"))
    assert bounce.get_content_type() == "multipart/report"
    assert bounce.get_param("report-type") == "delivery-status"


def test_smtp_sink_receives_a_mail_sent_with_smtplib() -> None:
    mail = EmailMessage(policy=email.policy.SMTP)
    mail["From"] = "Example Support <support@example.test>"
    mail["To"] = "ada@example.org"
    mail["Subject"] = "Re: [#1001] Grüße"
    mail["Message-ID"] = "<conversation-1001.message-3@support.example.test>"
    mail.set_content("Hello Ada,\n\nunlocked.\n")
    with SmtpSink(username="hub", password="pw") as sink:
        with smtplib.SMTP(sink.host, sink.port, timeout=5) as client:
            client.login("hub", "pw")
            client.send_message(mail, to_addrs=["ada@example.org", "cc@example.org"])
        got = sink.wait_for(1, timeout=5)[0]
        assert got.mail_from == "support@example.test"
        assert got.rcpt_tos == ["ada@example.org", "cc@example.org"]
        assert got.login == "hub"
        assert got.message["Subject"] == "Re: [#1001] Grüße"
        assert got.message.get_content() == "Hello Ada,\n\nunlocked.\n"
        with (
            smtplib.SMTP(sink.host, sink.port, timeout=5) as client,
            pytest.raises(smtplib.SMTPAuthenticationError),
        ):
            client.login("hub", "wrong")
        sink.fail_next("451 4.3.0 Try again later")
        with (
            smtplib.SMTP(sink.host, sink.port, timeout=5) as client,
            pytest.raises(smtplib.SMTPDataError) as refused,
        ):
            client.send_message(mail)
        assert refused.value.smtp_code == 451
        assert len(sink.messages) == 1


@pytest.fixture(scope="module")
def dovecot() -> Iterator[ImapMailbox]:
    # Its own folder, searchable by the `dovecot` user (the hub's umask 077 makes var/ private).
    folder = Path(tempfile.mkdtemp(prefix="frontline-dovecot-"))
    folder.chmod(0o755)
    try:
        settings = start_dovecot(folder, port=free_port(), imaps_port=0)
    except DovecotUnavailable as exc:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(str(exc))
    try:
        yield ImapMailbox(settings)
    finally:
        stop_dovecot(folder)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.integration
def test_dovecot_append_fetch_round_trip(dovecot: ImapMailbox) -> None:
    dovecot.clear()
    assert dovecot.uids() == []
    uid = dovecot.append_fixture("reply_quoted_signature")
    dovecot.append_fixture("utf8_encoded_subject", seen=True)
    uids = dovecot.uids()
    assert len(uids) == 2 and uid == uids[0]
    raw = dovecot.fetch(uids[0])
    assert raw.replace(b"\r\n", b"\n") == load_eml("reply_quoted_signature")
    subjects = [m["Subject"] for _, m in dovecot.messages()]
    assert subjects[1] == GERMAN_SUBJECT
    assert "\\Seen" not in dovecot.flags(uids[0]) and "\\Seen" in dovecot.flags(uids[1])
    settings = dovecot.settings
    conn = imaplib.IMAP4(settings.host, settings.port, timeout=5)
    conn.login(settings.user, settings.password)
    conn.select("INBOX")
    typ, found = conn.search(None, '(HEADER In-Reply-To "conversation-1001.message-2")')
    conn.logout()
    assert typ == "OK" and found[0].split() == [b"1"]
    assert settings.url == f"imap://support%40example.test:support-pass@127.0.0.1:{settings.port}"
    if settings.imaps_port:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        secure = imaplib.IMAP4_SSL(settings.host, settings.imaps_port, ssl_context=context)
        assert secure.login(settings.user, settings.password)[0] == "OK"
        secure.logout()
    dovecot.clear()
    assert dovecot.uids() == []
