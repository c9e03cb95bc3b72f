"""The email channel end to end on real servers: a Dovecot IMAP mailbox (.ci/dovecot.sh,
started here), a local SMTP sink (aiosmtpd), and the hub with its pollers and outbox.

Rasa is the unit tests' fake: email never asks the bot (`bot=False`). Marked integration
because it starts Dovecot (installing Debian's dovecot-imapd when missing, as root)."""

from __future__ import annotations

import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from handoff.models import InboundEvent
from handoff.states import InboundStatus
from retrieval.search import build_index
from tests.fakes import HashingEncoder
from tests.fakes.channel_checks import eventually
from tests.fakes.hub_client import login, make_client
from tests.fakes.mail_servers import (
    DovecotUnavailable,
    ImapMailbox,
    SmtpSink,
    free_port,
    start_dovecot,
    stop_dovecot,
)
from tests.fakes.paths import ROOT
from tests.fakes.rasa import FakeRasa

pytestmark = pytest.mark.integration

US = "support@example.test"


@pytest.fixture(scope="module")
def imap() -> Iterator[ImapMailbox]:
    """A throwaway Dovecot with one mailbox; skipped only when it cannot be had."""
    folder = Path(tempfile.mkdtemp(prefix="frontline-dovecot-"))
    folder.chmod(0o755)  # Dovecot runs as the `dovecot` user when we are root
    try:
        settings = start_dovecot(folder, port=free_port(), imaps_port=0, timeout=900)
    except DovecotUnavailable as exc:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"Dovecot could not be installed or started: {exc}")
    try:
        yield ImapMailbox(settings)
    finally:
        stop_dovecot(folder)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("index")
    build_index(ROOT / "kb_content", path, HashingEncoder())
    return path


def customer_mail(message_id: str, subject: str, body: str, headers: str = "") -> bytes:
    return (
        "From: Ada Lovelace <ada@example.org>\n"
        "To: Example Support <support@example.test>\n"
        f"Subject: {subject}\n"
        "Date: Tue, 06 Jan 2026 09:14:03 +0100\n"
        f"Message-ID: {message_id}\n"
        f"{headers}"
        "MIME-Version: 1.0\n"
        'Content-Type: text/plain; charset="UTF-8"\n\n'
        f"{body}"
    ).encode()


def test_email_thread(
    tmp_path: Path, index_dir: Path, database_url: str, imap: ImapMailbox, smtp_sink: SmtpSink
) -> None:
    channels = tmp_path / "channels.yml"
    channels.write_text(
        "email:\n"
        f"  imap: {{host: 127.0.0.1, port: {imap.settings.port}, username: {imap.settings.user},"
        f" password: {imap.settings.password}, ssl: false, starttls: false}}\n"
        f"  smtp: {{host: 127.0.0.1, port: {smtp_sink.port}, starttls: false}}\n"
        f"  address: {US}\n"
        "  name: Example Support\n"
        "  poll_seconds: 0.3\n"
    )
    run = uuid.uuid4().hex[:8]
    question_id = f"<q-{run}@example.org>"
    reply_id = f"<r-{run}@example.org>"
    auto_id = f"<auto-{run}@example.org>"

    def seen(message_id: str) -> bool:
        return imap.seen_flags().get(message_id, False)

    imap.clear()
    with make_client(
        tmp_path, index_dir, FakeRasa(), database_url=database_url, channels_file=channels
    ) as client:
        # 1. A new question: a ticket, and the acknowledgement in the same thread.
        subject = "Cannot log in after password reset"
        question = "I reset my password yesterday, but the login page says invalid credentials."
        imap.append(customer_mail(question_id, subject, f"Hello,\n\n{question}\n\nThanks,\nAda\n"))
        [ack] = smtp_sink.wait_for(1, timeout=20)
        tag = re.fullmatch(rf"Re: {subject} \[#(\d+)\]", ack.message["Subject"])
        assert tag, ack.message["Subject"]
        number = int(tag.group(1))
        assert ack.rcpt_tos == ["ada@example.org"]
        assert ack.message["From"] == f"Example Support <{US}>"
        assert ack.message["In-Reply-To"] == question_id
        assert ack.message["References"] == question_id
        assert ack.message["Auto-Submitted"] == "auto-replied"
        assert f"We have opened ticket #{number}" in ack.message.get_content()
        eventually(lambda: seen(question_id), "the question flagged \\Seen")

        # 2. An agent takes it over and replies: a person's mail in the same thread.
        headers = login(client)
        queued = client.get("/api/conversations", headers=headers).json()["conversations"]
        [conversation] = [c for c in queued if c["channel"] == "email"]
        assert conversation["contact"]["email"] == "ada@example.org"
        assert conversation["ticket"]["number"] == number
        cid = conversation["id"]
        messages = client.get(f"/api/conversations/{cid}", headers=headers).json()["messages"]
        assert messages[0]["role"] == "customer" and messages[0]["text"] == f"Hello,\n\n{question}"
        assert client.post(f"/api/conversations/{cid}/takeover", headers=headers).status_code == 200
        answer = "Hello Ada, I have unlocked your account. Please try again."
        posted = client.post(
            f"/api/conversations/{cid}/messages", headers=headers, json={"text": answer}
        )
        assert posted.status_code == 200, posted.text
        # Taking over says so (a system notice, so auto-submitted), then the reply.
        _, joined, agent_reply = smtp_sink.wait_for(3, timeout=20)
        assert "joined the conversation" in joined.message.get_content()
        assert joined.message["Auto-Submitted"] == "auto-replied"
        agent_mail = agent_reply.message
        assert agent_mail["Subject"] == ack.message["Subject"]
        assert agent_mail["In-Reply-To"] == question_id
        assert agent_mail["References"] == " ".join(
            [question_id, ack.message["Message-ID"], joined.message["Message-ID"]]
        )
        assert agent_mail["Auto-Submitted"] is None
        assert agent_mail["From"] == f"Example Support <{US}>"
        assert answer in agent_mail.get_content()

        # 3. The customer answers with the history quoted: the same conversation, new words.
        thread = f"{question_id} {ack.message['Message-ID']} {agent_mail['Message-ID']}"
        quoted = "\n".join(f"> {line}" for line in agent_mail.get_content().splitlines())
        imap.append(
            customer_mail(
                reply_id,
                f"Re: {agent_mail['Subject']}",
                "That worked, thank you!\n\n-- \nAda Lovelace\n\n"
                f"On Tue, 6 Jan 2026 at 10:31, Example Support <{US}> wrote:\n{quoted}\n",
                f"In-Reply-To: {agent_mail['Message-ID']}\nReferences: {thread}\n",
            )
        )

        def customer_texts() -> list[str]:
            data = client.get(f"/api/conversations/{cid}", headers=headers).json()
            return [m["text"] for m in data["messages"] if m["role"] == "customer"]

        texts = eventually(
            lambda: customer_texts() if len(customer_texts()) == 2 else None, "the reply"
        )
        assert texts[1] == "That worked, thank you!"
        everything = client.get("/api/conversations", headers=headers).json()["conversations"]
        assert [c["id"] for c in everything if c["channel"] == "email"] == [cid]

        # 4. An auto-reply: stored, ignored, never answered.
        imap.append(
            customer_mail(
                auto_id,
                f"Auto: {agent_mail['Subject']}",
                "I am travelling until 12 January.\n",
                f"Auto-Submitted: auto-replied\nIn-Reply-To: {agent_mail['Message-ID']}\n"
                f"References: {thread}\n",
            )
        )
        eventually(lambda: seen(auto_id), "the auto-reply flagged \\Seen")
        time.sleep(2.5)  # a poll and an outbox pass or two: nothing may go out
        assert len(smtp_sink.messages) == 3
        assert customer_texts() == texts

    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            stored = dict(
                connection.execute(
                    select(InboundEvent.external_id, InboundEvent.status).where(
                        InboundEvent.channel == "email"
                    )
                ).all()
            )
    finally:
        engine.dispose()
    assert stored == {
        question_id: InboundStatus.PROCESSED,
        reply_id: InboundStatus.PROCESSED,
        auto_id: InboundStatus.IGNORED,
    }
