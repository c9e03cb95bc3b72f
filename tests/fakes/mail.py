"""Mail test doubles: a local SMTP sink (aiosmtpd) that keeps what it is sent, and helpers
to put mail into a real IMAP mailbox (Dovecot, .ci/dovecot.sh)."""

from __future__ import annotations

import imaplib
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage


@dataclass
class _Handler:
    """aiosmtpd handler: refuses the recipients in `refuse` with their SMTP answer."""

    received: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address.lower() in self.refuse:
            return self.refuse[address.lower()]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self.arrived:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
            self.arrived.notify_all()
        return "250 Message accepted"


class SmtpSink:
    """An SMTP server on 127.0.0.1 that accepts everything (plain, no auth) and keeps it."""

    def __init__(self) -> None:
        self._handler = _Handler()
        self.port = free_port()
        self._controller = Controller(self._handler, hostname="127.0.0.1", port=self.port)

    @property
    def received(self) -> list[Received]:
        return self._handler.received

    def refuse(self, address: str, answer: str) -> None:
        """Answer RCPT TO:<address> with e.g. "550 5.1.1 User unknown"."""
        self._handler.refuse[address.lower()] = answer

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        """Until at least `count` mails have arrived."""
        deadline = time.monotonic() + timeout
        with self._handler.arrived:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} mails, got {len(self.received)}")
                self._handler.arrived.wait(left)
            return list(self.received)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()


@contextmanager
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()


@contextmanager
def imap_session(
    port: int, user: str, password: str, host: str = "127.0.0.1"
) -> Iterator[imaplib.IMAP4]:
    imap = imaplib.IMAP4(host, port, timeout=10)
    imap.login(user, password)
    try:
        yield imap
    finally:
        imap.logout()


def append(imap: imaplib.IMAP4, raw: bytes, folder: str = "INBOX") -> None:
    """Deliver a mail into the folder, unseen (imaplib turns LF line ends into CRLF)."""
    status, data = imap.append(folder, "", None, raw)
    assert status == "OK", data


def seen_flags(imap: imaplib.IMAP4, folder: str = "INBOX") -> dict[str, bool]:
    """Message-ID → whether the mail is flagged \\Seen."""
    imap.select(folder, readonly=True)
    status, data = imap.uid("SEARCH", "ALL")
    assert status == "OK", data
    flags: dict[str, bool] = {}
    for uid in (data[0] or b"").split():
        status, parts = imap.uid(
            "FETCH", uid.decode(), "(FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])"
        )
        assert status == "OK", parts
        for part in parts:
            if isinstance(part, tuple):
                header = message_from_bytes(part[1], policy=policy.default)
                flags[str(header["Message-ID"]).strip()] = b"\\Seen" in part[0]
    return flags


def empty(imap: imaplib.IMAP4, folder: str = "INBOX") -> None:
    """Delete every mail in the folder (a test starts from an empty mailbox)."""
    imap.select(folder)
    imap.uid("STORE", "1:*", "+FLAGS", "(\\Deleted)")
    imap.expunge()
