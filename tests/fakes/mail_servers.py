"""Real mail servers for the email channel's tests: an SMTP sink and a Dovecot IMAP mailbox.

The email adapter speaks SMTP and IMAP through real client libraries, so it is tested
against real protocol servers rather than mocks: `SmtpSink` is an aiosmtpd server in a
thread that keeps every message it is given; `start_dovecot()` runs .ci/dovecot.sh (Debian's
Dovecot with a private configuration) and `ImapMailbox` drops fixture mails into its INBOX.
"""

from __future__ import annotations

import email
import email.policy
import imaplib
import os
import re
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import unquote, urlsplit

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

REPO = Path(__file__).resolve().parents[2]
DOVECOT_SCRIPT = REPO / ".ci" / "dovecot.sh"
FIXTURES = REPO / "tests" / "fixtures" / "channels" / "email"


def load_eml(name: str) -> bytes:
    """A fixture from tests/fixtures/channels/email, by file name with or without .eml."""
    return (FIXTURES / (name if name.endswith(".eml") else f"{name}.eml")).read_bytes()


def parse_eml(raw: bytes) -> EmailMessage:
    """Parses with `policy.default`; CRLF from the wire becomes LF, as the email package expects."""
    message = email.message_from_bytes(raw.replace(b"\r\n", b"\n"), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class ReceivedMail:
    """One message as the sink got it: the SMTP envelope and the parsed content."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes
    login: str | None
    time: float = field(default_factory=time.time)


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self._sink = sink

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        refusal = self._sink._refusal(address)
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        return self._sink._deliver(session, envelope)


class SmtpSink:
    """An SMTP server on 127.0.0.1 that accepts everything and records it.

    With `username`/`password` it offers AUTH PLAIN and LOGIN without TLS (aiosmtpd's
    `auth_require_tls=False`) and accepts only those credentials; `require_auth` then
    refuses mail from clients that did not log in. `fail_next(reply)` answers the next
    DATA with an SMTP error such as "451 4.3.0 Try again later" to test retries;
    `refuse(address, answer)` answers every RCPT TO:<address> with one ("550 5.1.1 ...").
    """

    def __init__(
        self,
        *,
        username: str | None = None,
        password: str | None = None,
        require_auth: bool = False,
        host: str = "127.0.0.1",
        port: int | None = None,
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.username = username
        self.password = password
        self._lock = threading.Condition()
        self._messages: list[ReceivedMail] = []
        self._failures: list[str] = []
        self._refused: dict[str, str] = {}
        kwargs: dict[str, Any] = {}
        if username is not None:
            kwargs.update(
                authenticator=self._authenticate,
                auth_require_tls=False,
                auth_required=require_auth,
            )
        self._controller = Controller(
            _Handler(self),
            hostname=host,
            port=self.port,
            server_hostname="smtp-sink.example.test",
            **kwargs,
        )
        self._started = False

    def start(self) -> None:
        if not self._started:
            self._controller.start()
            self._started = True

    def stop(self) -> None:
        if self._started:
            self._controller.stop()
            self._started = False

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def fail_next(self, reply: str = "451 4.3.0 Try again later", count: int = 1) -> None:
        with self._lock:
            self._failures.extend([reply] * count)

    def refuse(self, address: str, answer: str) -> None:
        """Answer RCPT TO:<address> with e.g. "550 5.1.1 User unknown" from now on."""
        with self._lock:
            self._refused[address.lower()] = answer

    @property
    def messages(self) -> list[ReceivedMail]:
        with self._lock:
            return list(self._messages)

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()
            self._failures.clear()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedMail]:
        """Blocks until `count` messages arrived; TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self._messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(self._messages)} of {count} mails within {timeout}s")
                self._lock.wait(left)
            return list(self._messages)

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == self.username
            and data.password.decode() == self.password
        )
        return AuthResult(success=ok, handled=False, auth_data=data if ok else None)

    def _refusal(self, address: str) -> str | None:
        with self._lock:
            return self._refused.get(address.lower())

    def _deliver(self, session: Session, envelope: Envelope) -> str:
        with self._lock:
            if self._failures:
                return self._failures.pop(0)
            content = envelope.original_content or envelope.content or b""
            raw = content if isinstance(content, bytes) else content.encode()
            auth = session.auth_data
            self._messages.append(
                ReceivedMail(
                    mail_from=envelope.mail_from or "",
                    rcpt_tos=list(envelope.rcpt_tos),
                    message=parse_eml(raw),
                    raw=raw,
                    login=auth.login.decode() if isinstance(auth, LoginPassword) else None,
                )
            )
            self._lock.notify_all()
        return "250 Message accepted for delivery"


@dataclass(frozen=True)
class ImapSettings:
    """Where the test IMAP server listens. `imaps_port` is None when IMAPS is off."""

    host: str
    port: int
    user: str
    password: str
    imaps_port: int | None = None
    started_here: bool = False

    @property
    def url(self) -> str:
        return f"imap://{self.user.replace('@', '%40')}:{self.password}@{self.host}:{self.port}"

    @classmethod
    def from_url(cls, url: str, **extra: Any) -> ImapSettings:
        parts = urlsplit(url)
        if parts.scheme not in ("imap", "imaps") or not parts.hostname:
            raise ValueError(f"not an imap:// URL: {url!r}")
        return cls(
            host=parts.hostname,
            port=parts.port or (993 if parts.scheme == "imaps" else 143),
            user=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            **extra,
        )


class DovecotUnavailable(RuntimeError):
    """The test IMAP server could not be started; the message says why (skip on it)."""


def _dovecot_dir(directory: Path | None) -> Path:
    return directory or REPO / "var" / "dovecot"


def _dovecot_running(directory: Path) -> bool:
    pidfile = directory / "run" / "master.pid"
    try:
        os.kill(int(pidfile.read_text().strip()), 0)
    except (OSError, ValueError):
        return False
    return True


def start_dovecot(
    directory: Path | None = None,
    *,
    port: int | None = None,
    imaps_port: int | None = None,
    timeout: float = 300.0,
) -> ImapSettings:
    """Runs .ci/dovecot.sh (idempotent) and returns where the server listens.

    Ports default to the script's (IMAP_PORT 10143, IMAPS_PORT 10993; imaps_port=0 turns
    IMAPS off). If the server in `directory` already runs, its port is returned. Raises
    DovecotUnavailable with the script's own explanation when it cannot start (no bash,
    not root and Dovecot missing, port taken, ...). `started_here` tells whether this call
    started it, so a fixture knows whether to stop it.
    """
    folder = _dovecot_dir(directory)
    was_running = _dovecot_running(folder)
    env = dict(os.environ)
    if port is not None:
        env["IMAP_PORT"] = str(port)
    if imaps_port is not None:
        env["IMAPS_PORT"] = str(imaps_port)
    try:
        done = subprocess.run(
            ["bash", str(DOVECOT_SCRIPT), str(folder)],
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DovecotUnavailable(f"{DOVECOT_SCRIPT} could not run: {exc}") from exc
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise DovecotUnavailable(
            f"{DOVECOT_SCRIPT} failed ({done.returncode}): {done.stderr.strip()[-2000:]}"
        )
    conf = (folder / "dovecot.conf").read_text() if (folder / "dovecot.conf").exists() else ""
    imaps = re.search(r"port = (\d+) # imaps", conf)
    imaps_value = int(imaps[1]) if imaps and int(imaps[1]) else None
    return ImapSettings.from_url(lines[-1], imaps_port=imaps_value, started_here=not was_running)


def stop_dovecot(directory: Path | None = None) -> None:
    subprocess.run(
        ["bash", str(DOVECOT_SCRIPT), "stop", str(_dovecot_dir(directory))],
        capture_output=True,
        check=False,
        timeout=60,
    )


_APPENDUID = re.compile(rb"APPENDUID \d+ (\d+)")


class ImapMailbox:
    """Puts mails into a mailbox and reads them back, with a fresh IMAP login per call.

    A new connection each time keeps the helper stateless and shows the adapter's own
    connection exactly what a separate mail client would have delivered.
    """

    def __init__(self, settings: ImapSettings, mailbox: str = "INBOX") -> None:
        self.settings = settings
        self.mailbox = mailbox

    def _connect(self) -> imaplib.IMAP4:
        conn = imaplib.IMAP4(self.settings.host, self.settings.port, timeout=10)
        conn.login(self.settings.user, self.settings.password)
        return conn

    def append(self, raw: bytes, *, seen: bool = False) -> int | None:
        """Appends one message (LF or CRLF line ends); returns its UID when the server says."""
        conn = self._connect()
        try:
            typ, data = conn.append(self.mailbox, "(\\Seen)" if seen else None, None, raw)
            if typ != "OK":
                raise RuntimeError(f"APPEND failed: {data!r}")
            match = _APPENDUID.search(data[0] or b"") if data else None
            return int(match[1]) if match else None
        finally:
            conn.logout()

    def append_fixture(self, name: str, *, seen: bool = False) -> int | None:
        return self.append(load_eml(name), seen=seen)

    def uids(self) -> list[int]:
        conn = self._connect()
        try:
            conn.select(self.mailbox, readonly=True)
            typ, data = conn.uid("SEARCH", "ALL")
            return [int(u) for u in (data[0] or b"").split()] if typ == "OK" else []
        finally:
            conn.logout()

    def fetch(self, uid: int) -> bytes:
        """The message's full raw bytes (BODY.PEEK: does not set \\Seen)."""
        conn = self._connect()
        try:
            conn.select(self.mailbox, readonly=True)
            typ, data = conn.uid("FETCH", str(uid), "(BODY.PEEK[])")
            for item in data:
                if isinstance(item, tuple):
                    return bytes(item[1])
            raise KeyError(f"no message with UID {uid}: {typ} {data!r}")
        finally:
            conn.logout()

    def messages(self) -> list[tuple[int, EmailMessage]]:
        return [(uid, parse_eml(self.fetch(uid))) for uid in self.uids()]

    def flags(self, uid: int) -> str:
        conn = self._connect()
        try:
            conn.select(self.mailbox, readonly=True)
            _, data = conn.uid("FETCH", str(uid), "(FLAGS)")
            first = data[0] if data else None
            return first.decode() if isinstance(first, bytes) else ""
        finally:
            conn.logout()

    def seen_flags(self) -> dict[str, bool]:
        """Message-ID → whether the mail is flagged \\Seen."""
        conn = self._connect()
        try:
            conn.select(self.mailbox, readonly=True)
            typ, data = conn.uid("SEARCH", "ALL")
            assert typ == "OK", data
            flags: dict[str, bool] = {}
            for uid in (data[0] or b"").split():
                typ, parts = conn.uid(
                    "FETCH", uid.decode(), "(FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])"
                )
                assert typ == "OK", parts
                for part in parts:
                    if isinstance(part, tuple):
                        header = parse_eml(part[1])
                        flags[str(header["Message-ID"]).strip()] = b"\\Seen" in part[0]
            return flags
        finally:
            conn.logout()

    def clear(self) -> None:
        """Deletes and expunges every message in the mailbox."""
        conn = self._connect()
        try:
            conn.select(self.mailbox)
            typ, data = conn.search(None, "ALL")
            if typ == "OK" and data and data[0]:
                conn.store("1:*", "+FLAGS.SILENT", "(\\Deleted)")
                conn.expunge()
        finally:
            conn.logout()
