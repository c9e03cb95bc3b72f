"""The email channel without a mailbox: every fixture mail parsed (new words, HTML, files,
robots, threading keys), our mails' headers, and sending to a local SMTP sink."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any

import pytest

from api.channels.base import Button, InboundRequest, OutboundMessage, Outcome, Refused
from api.channels.config import EmailConfig
from api.channels.email import EmailChannel
from api.channels.mail_compose import compose, reply_subject, thread_headers
from api.channels.mail_parse import GENERATED_DOMAIN, parse_mail
from api.channels.mail_text import html_to_text, new_words
from tests.fakes.mail_servers import SmtpSink, free_port
from tests.fakes.paths import ROOT

FIXTURES = ROOT / "tests" / "fixtures" / "channels" / "email"
US = "support@example.test"


def mail(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


# file → kind, new words, thread id, ticket number, user id
EXPECTED: dict[str, tuple[str, str, str, int | None, str]] = {
    "new_question.eml": (
        "message",
        'Hello,\n\nI reset my password yesterday, but the login page still says "invalid\n'
        'credentials". I tried two browsers. My account is ada@example.org.\n\n'
        "Could you have a look?",
        "<CAF=q1x8Zp3m0vY9kKd2sT7wQ@mail.example.org>",
        None,
        "ada@example.org",
    ),
    "reply_quoted_signature.eml": (
        "message",
        "That worked, thank you! I can log in again.",
        "<CAF=q1x8Zp3m0vY9kKd2sT7wQ@mail.example.org>",
        1001,
        "ada@example.org",
    ),
    "reply_outlook.eml": (
        "message",
        'Hi,\n\nstill empty after the update, see the file size: 0 bytes. We use the "All'
        ' projects" filter.',
        "<conversation-1002.message-3@support.example.test>",
        1002,
        "b.kowalski@contoso.example",
    ),
    "html_only.eml": (
        "message",
        "Hello,\n\nI returned order #A-55012 on 15 December and the parcel was delivered back"
        " to you (https://tracking.example.net/A55012), but I have not received the refund."
        "\n\n- Amount: 89.00 EUR\n- Paid with: card ending 4242",
        "<form-20260107133000.41c7@shop.example.net>",
        None,
        "carlos.mendes@example.com",
    ),
    "attachment_pdf.eml": (
        "message",
        "Hello,\n\nI was charged twice for January, the invoice is attached.",
        "<CAF=q1x8Zp3m0vY9kKd2sT7wS-invoice@mail.example.org>",
        None,
        "ada@example.org",
    ),
    "reply_subject_tag_only.eml": (
        "message",
        "Sorry, it happened again this morning (writing from my phone, the\n"
        "original mail is not here).",
        "<mobile.1767958278.55@mail.example.org>",
        1001,
        "ada@example.org",
    ),
    "utf8_encoded_subject.eml": (
        "message",
        "Hallo Support-Team,\n\nich habe die Rechnung Nr. 2026-0117 am 2. Januar überwiesen,"
        " aber im Kundenkonto steht sie\nnoch als offen. Können Sie das prüfen? Der Betrag"
        " war 49,90 €.",
        "<8e1d2c3b-4a5f-4e6d-9c7b-0a1b2c3d4e5f@example.de>",
        None,
        "juergen.mueller@example.de",
    ),
    "latin1_body.eml": (
        "message",
        "Bonjour,\n\nje n'arrive plus à me connecter depuis la mise à jour. Le message"
        " d'erreur dit « mot de passe\nincorrect » alors que je l'ai réinitialisé hier.",
        "<20260110101105.GA1234@example.fr>",
        None,
        "helene.lefevre@example.fr",
    ),
    "auto_reply.eml": (
        "ignored",
        "",
        "<conversation-1001.message-4@support.example.test>",
        1001,
        "ada@example.org",
    ),
    "out_of_office.eml": (
        "ignored",
        "",
        "<oof-1736406005-29931@smtp.example.com>",
        1003,
        "t.nguyen@example.com",
    ),
    "auto_reply_exchange.eml": (
        "ignored",
        "",
        "<conversation-1002.message-5@support.example.test>",
        1002,
        "b.kowalski@contoso.example",
    ),
    "bounce_dsn.eml": (
        "ignored",
        "",
        "<20260109092003.4dRBZz8Ds7z9d@mx.example.test>",
        None,
        "mailer-daemon@mx.example.test",
    ),
}


def test_every_fixture_has_an_expectation() -> None:
    assert {p.name for p in FIXTURES.glob("*.eml")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_parsed(name: str) -> None:
    kind, text, thread, ticket, user = EXPECTED[name]
    event = parse_mail(mail(name), own_address=US)
    assert event.kind == kind
    if kind == "message":
        assert event.text == text
    assert event.thread_id == thread
    assert event.extra["ticket_number"] == ticket
    assert event.user_id == user
    assert event.event_id == event.message_id
    assert event.extra["original"]  # the whole text is kept


def test_reply_threading_keys() -> None:
    event = parse_mail(mail("reply_quoted_signature.eml"))
    assert event.event_id == "<CAF=q1x8Zp3m0vY9kKd2sT7wR-reply1@mail.example.org>"
    assert event.extra["in_reply_to"] == "<conversation-1001.message-2@support.example.test>"
    assert event.extra["references"] == [
        "<CAF=q1x8Zp3m0vY9kKd2sT7wQ@mail.example.org>",
        "<conversation-1001.message-2@support.example.test>",
    ]
    assert event.extra["thread_aliases"] == event.extra["references"]
    assert event.extra["subject"] == "Re: [#1001] Cannot log in after password reset"
    assert "> your account was locked" in event.extra["original"]


def test_new_mail_has_no_aliases() -> None:
    event = parse_mail(mail("new_question.eml"))
    assert event.extra["thread_aliases"] == []
    assert event.extra["in_reply_to"] is None
    assert event.profile.name == "Ada Lovelace"
    assert event.profile.email == "ada@example.org"


def test_encoded_headers_decoded() -> None:
    german = parse_mail(mail("utf8_encoded_subject.eml"))
    assert german.extra["subject"] == "Frage zu meiner Rechnung \u2013 Überweisung fehlt 💶"
    assert german.profile.name == "Jürgen Müller"
    assert german.profile.language == "de"
    french = parse_mail(mail("latin1_body.eml"))
    assert french.extra["subject"] == "Problème de connexion"
    assert french.profile.name == "Hélène Lefèvre"


def _gb2312_word(text: str) -> str:
    return "=?gb2312?B?" + base64.b64encode(text.encode("gbk")).decode() + "?="


def test_mail_labelled_gb2312_keeps_its_gbk_characters() -> None:
    # Chinese mail clients label GBK text "gb2312"; 镕 (as in 朱镕基) is GBK only. Read as
    # strict GB2312 it became U+FFFD: the customer's name and words lost a character.
    body = "发票上的增值税号不对，请联系张镕。"  # noqa: RUF001 (Chinese punctuation)
    raw = (
        f"From: {_gb2312_word('张镕')} <zhang@example.cn>\r\nTo: support@example.com\r\n"
        f"Subject: Re: {_gb2312_word('发票镕')} [#1042]\r\nMessage-ID: <gbk@example.cn>\r\n"
        "Content-Type: text/plain; charset=gb2312\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    ).encode() + base64.b64encode(body.encode("gbk"))
    event = parse_mail(raw)
    assert event.text == body
    assert event.extra["subject"] == "Re: 发票镕 [#1042]"
    assert event.extra["ticket_number"] == 1042
    assert event.profile.name == "张镕"


def test_mail_labelled_latin1_keeps_windows_quotes_and_the_euro() -> None:
    raw = (
        b"From: Ann <ann@example.org>\r\nSubject: Price\r\nMessage-ID: <cp@example.org>\r\n"
        b"Content-Type: text/plain; charset=iso-8859-1\r\n\r\nIt says 5\x80, not \x935\x94."
    )
    assert parse_mail(raw).text == "It says 5€, not “5”."


def test_html_only_mail_as_text_without_script() -> None:
    event = parse_mail(mail("html_only.eml"))
    assert "alert" not in event.extra["original"] and "<" not in event.text
    assert "margin" not in event.extra["original"]  # the <style> is dropped too
    # A contact form: the reply goes to Reply-To, the person, not the form's sender.
    assert event.profile.email == "carlos.mendes@example.com"
    assert event.profile.name == "Carlos Mendes"
    assert event.extra["from"] == "noreply-forms@shop.example.net"


def test_attachment_recorded() -> None:
    event = parse_mail(mail("attachment_pdf.eml"))
    assert [(a.name, a.content_type, a.size) for a in event.attachments] == [
        ("invoice-2026-01.pdf", "application/pdf", 218)
    ]
    assert parse_mail(mail("reply_outlook.eml")).attachments == ()  # the HTML twin is no file


@pytest.mark.parametrize(
    ("name", "because"),
    [
        ("auto_reply.eml", "Auto-Submitted: auto-replied"),
        ("out_of_office.eml", "Precedence: auto_reply"),
        ("auto_reply_exchange.eml", "X-Auto-Response-Suppress"),
        ("bounce_dsn.eml", "Auto-Submitted: auto-replied"),
    ],
)
def test_robots_ignored(name: str, because: str) -> None:
    assert parse_mail(mail(name)).extra["ignored_because"] == because


def test_bounce_names_our_returned_mail() -> None:
    event = parse_mail(mail("bounce_dsn.eml"))
    assert event.extra["bounced_ids"] == ["<conversation-1004.message-2@support.example.test>"]


def header_mail(headers: str, body: str = "Hello there.\n") -> bytes:
    return (
        "From: Ann <ann@example.org>\nTo: support@example.test\nSubject: Hi\n"
        f"{headers}Content-Type: text/plain; charset=utf-8\n\n{body}"
    ).encode()


@pytest.mark.parametrize(
    "headers",
    [
        "Auto-Submitted: auto-generated\n",
        "Precedence: bulk\n",
        "Precedence: list\n",
        "X-Autorespond: yes\n",
        "X-Auto-Response-Suppress: DR, OOF\n",
        "Return-Path: <>\n",
        "Content-Type: multipart/report; report-type=delivery-status; boundary=x\n",
    ],
)
def test_more_robot_headers_ignored(headers: str) -> None:
    assert parse_mail(header_mail(headers)).kind == "ignored"


def test_people_not_mistaken_for_robots() -> None:
    assert parse_mail(header_mail("Auto-Submitted: no\nPrecedence: first-class\n")).kind == (
        "message"
    )
    postmaster = header_mail("").replace(b"ann@example.org", b"postmaster@example.org")
    assert parse_mail(postmaster).kind == "ignored"


def test_our_own_mail_ignored() -> None:
    ours = header_mail("").replace(b"ann@example.org", b"Support@Example.test")
    assert parse_mail(ours, own_address=US).extra["ignored_because"] == "our own mail"


def test_missing_message_id_made_stable_from_the_bytes() -> None:
    raw = header_mail("")
    first = parse_mail(raw)
    assert first.event_id.endswith(f"@{GENERATED_DOMAIN}>")
    assert parse_mail(raw.replace(b"\n", b"\r\n")).event_id == first.event_id
    assert parse_mail(raw + b"More.\n").event_id != first.event_id
    assert first.thread_id == first.event_id


def test_new_words_variants() -> None:
    bottom = "On Mon, 5 Jan 2026, Support <s@x> wrote:\n> Is it fixed?\n\nYes, it is.\n"
    assert new_words(bottom) == "Yes, it is."
    wrapped = "Fine now.\n\nOn Mon, 5 Jan 2026 at 10:00, Example Support\n<s@x> wrote:\n> Hi"
    assert new_words(wrapped) == "Fine now."
    outlook = "Thanks!\n\nFrom: Support <s@x>\nSent: Monday\nTo: me\nSubject: Hi\n\nOld text"
    assert new_words(outlook) == "Thanks!"
    german = "Geht wieder.\n\nViele Grüße\nJürgen\n\nAm 5. Jan. 2026 schrieb Support <s@x>:\n> Hi"
    assert new_words(german) == "Geht wieder."
    mobile = "Still broken.\n\nSent from my iPhone\n"
    assert new_words(mobile) == "Still broken."
    only_quote = "> quoted only\n"
    assert new_words(only_quote) == "> quoted only"  # nothing new: keep it all


def test_html_quotes_dropped() -> None:
    html = (
        "<div>Works now.</div><div class='gmail_quote'>On Mon, Ann wrote:"
        "<blockquote>old</blockquote></div><style>x{}</style>"
    )
    assert html_to_text(html) == "Works now."


# ---- outbound -------------------------------------------------------------------------


def outbound(role: str = "system", **context: Any) -> OutboundMessage:
    return OutboundMessage(
        thread_id="<root@example.org>",
        text="We have opened ticket #1001.",
        role=role,
        message_id=42,
        conversation_id=7,
        buttons=(Button("Yes", "/yes"), Button("No", "/no")),
        context={
            "channel": "email",
            "ticket_number": 1001,
            "subject": "Cannot log in",
            "received_ids": ["<root@example.org>", "<second@example.org>"],
            "sent_ids": ["<ours-1@example.test>"],
            "customer_address": "ada@example.org",
            **context,
        },
    )


@pytest.mark.parametrize(
    ("subject", "ticket", "expected"),
    [
        ("Cannot log in", 1001, "Re: Cannot log in [#1001]"),
        ("Re: [#1001] Cannot log in", 1001, "Re: Cannot log in [#1001]"),
        ("RE: Re: AW: Cannot log in [#1001]", 1001, "Re: Cannot log in [#1001]"),
        ("Fwd: Cannot log in", None, "Re: Cannot log in"),
        (None, 5, "Re: Your request [#5]"),
    ],
)
def test_reply_subject(subject: str | None, ticket: int | None, expected: str) -> None:
    assert reply_subject(subject, ticket) == expected


def test_thread_headers_bounded() -> None:
    received = [f"<r{i}@x>" for i in range(30)]
    in_reply_to, references = thread_headers(received, ["<s@y>"])
    assert in_reply_to == "<r29@x>"
    assert references[0] == "<r0@x>" and references[-1] == "<r29@x>"
    assert len(references) == 20
    long_ids = [f"<{'x' * 80}.{i}@example.test>" for i in range(15)]
    _, references = thread_headers(long_ids, [])
    assert references[0] == long_ids[0] and references[-1] == long_ids[-1]
    assert len(" ".join(references)) <= 900
    assert thread_headers([f"<h@{GENERATED_DOMAIN}>"], []) == (None, [])


def test_composed_headers() -> None:
    composed = compose(outbound(), address=US, name="Example Support")
    assert composed["From"] == "Example Support <support@example.test>"
    assert composed["To"] == "ada@example.org"
    assert composed["Subject"] == "Re: Cannot log in [#1001]"
    assert composed["Message-ID"].endswith(".conversation-7.message-42@example.test>")
    assert composed["In-Reply-To"] == "<second@example.org>"
    assert composed["References"] == (
        "<root@example.org> <ours-1@example.test> <second@example.org>"
    )
    assert composed["Auto-Submitted"] == "auto-replied"
    assert composed["X-Auto-Response-Suppress"] == "All"
    # Long ids stay plain on one line (the stdlib would otherwise RFC 2047-encode them).
    wire = composed.as_bytes()
    assert b"=?" not in wire.split(b"\r\n\r\n")[0]
    assert f"Message-ID: {composed['Message-ID']}".encode() in wire
    body = composed.get_content()
    assert "We have opened ticket #1001." in body and "1. Yes\n2. No" in body


def test_agent_reply_is_not_auto_submitted() -> None:
    composed = compose(outbound(role="agent"), address=US, name="Example Support")
    assert composed["Auto-Submitted"] is None
    # Our own mail, were it to come back into the mailbox, is never answered.
    assert parse_mail(composed.as_bytes(), own_address=US).kind == "ignored"


def test_customer_reply_to_our_mail_stays_in_the_thread() -> None:
    ours = compose(outbound(role="agent"), address=US, name="Example Support")
    reply = (
        f"From: Ada <ada@example.org>\nTo: {US}\nSubject: {ours['Subject']}\n"
        f"Message-ID: <reply@example.org>\nIn-Reply-To: {ours['Message-ID']}\n"
        f"References: {ours['References']} {ours['Message-ID']}\n\nThanks, fixed.\n"
    ).encode()
    event = parse_mail(reply, own_address=US)
    assert event.thread_id == "<root@example.org>"
    assert event.extra["ticket_number"] == 1001
    assert ours["Message-ID"] in event.extra["thread_aliases"]


# ---- the channel ----------------------------------------------------------------------


def channel(smtp_port: int) -> EmailChannel:
    return EmailChannel(
        EmailConfig.model_validate(
            {
                "imap": {"host": "127.0.0.1", "port": 1, "username": US, "password": "x"},
                "smtp": {"host": "127.0.0.1", "port": smtp_port, "starttls": False},
                "address": US,
                "name": "Example Support",
                "poll_seconds": 5,
            }
        )
    )


def test_no_webhook_and_capabilities() -> None:
    email = channel(25)
    request = InboundRequest("POST", "http://hub/channels/email", {}, {}, b"{}")
    with pytest.raises(Refused) as refused:
        email.verify(request)
    assert refused.value.status == 404
    assert email.capabilities.bot is False and email.capabilities.buttons == 0
    assert email.poll_seconds == 5


def test_send_to_smtp() -> None:
    with SmtpSink() as sink:
        sink.refuse("gone@example.org", "550 5.1.1 <gone@example.org>: User unknown")
        sink.refuse("full@example.org", "452 4.2.2 Mailbox full")
        email = channel(sink.port)

        sent = asyncio.run(email.send(outbound()))
        assert sent.outcome is Outcome.SENT
        [arrived] = sink.wait_for(1, timeout=20)
        assert arrived.rcpt_tos == ["ada@example.org"]
        assert arrived.mail_from == US
        assert arrived.message["Message-ID"] == sent.external_id

        gone = asyncio.run(email.send(outbound(customer_address="gone@example.org")))
        assert gone.outcome is Outcome.FAILED and "User unknown" in (gone.reason or "")
        full = asyncio.run(email.send(outbound(customer_address="full@example.org")))
        assert full.outcome is Outcome.RETRY and "Mailbox full" in (full.reason or "")
        nobody = asyncio.run(email.send(outbound(customer_address=None)))
        assert nobody.outcome is Outcome.FAILED


def test_send_when_smtp_is_down_retries() -> None:
    result = asyncio.run(channel(free_port()).send(outbound()))
    assert result.outcome is Outcome.RETRY and "unreachable" in (result.reason or "")


def test_fixture_folder_is_the_readme_one() -> None:
    assert (FIXTURES / "README.md").is_file() and isinstance(FIXTURES, Path)
