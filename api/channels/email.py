"""Email: an IMAP mailbox polled for new mail, replies sent by SMTP.

Email has no webhook: the hub fetches (`fetch`, `done`: the intake's Poller) and the
channel is never answered by the bot (`bot=False`), every mail goes to the team's queue.
New mail is what the server calls UNSEEN; it is read with BODY.PEEK[] (which leaves it
unseen) and flagged \\Seen only once stored, so a crash in between fetches it again and
the inbound log's Message-ID key stores it once. The stdlib clients are blocking, so
every call runs in a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import imaplib
import logging
import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from typing import Any

from api.channels.base import (
    Answer,
    Capabilities,
    InboundMessage,
    InboundRequest,
    OutboundMessage,
    Refused,
    SendResult,
)
from api.channels.config import EmailConfig, ImapConfig, SmtpConfig
from api.channels.mail_compose import compose
from api.channels.mail_parse import parse_mail

log = logging.getLogger(__name__)

TIMEOUT = 30.0
MAX_PER_POLL = 50  # mails fetched in one poll; the rest come with the next ones
TEXT_LIMIT = 20_000


class MailboxError(RuntimeError):
    """The IMAP server said NO or BAD."""


def _ok(answer: tuple[str, Sequence[Any]], doing: str) -> list[Any]:
    status, data = answer
    if status != "OK":
        raise MailboxError(f"IMAP {doing}: {status} {data!r}")
    return list(data)


def open_imap(config: ImapConfig) -> imaplib.IMAP4:
    """Logged in and the folder selected (read-write: we set \\Seen)."""
    context = ssl.create_default_context()
    imap: imaplib.IMAP4
    if config.ssl:
        imap = imaplib.IMAP4_SSL(config.host, config.port, ssl_context=context, timeout=TIMEOUT)
    else:
        imap = imaplib.IMAP4(config.host, config.port, timeout=TIMEOUT)
        if config.starttls:
            imap.starttls(ssl_context=context)
    try:
        _ok(imap.login(config.username, config.password), "LOGIN")
        _ok(imap.select(_quoted(config.folder)), f"SELECT {config.folder}")
    except BaseException:
        imap.shutdown()
        raise
    return imap


def open_smtp(config: SmtpConfig) -> smtplib.SMTP:
    """Connected, TLS as configured, logged in when a username is set."""
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if config.ssl:
        smtp = smtplib.SMTP_SSL(config.host, config.port, timeout=TIMEOUT, context=context)
    else:
        smtp = smtplib.SMTP(config.host, config.port, timeout=TIMEOUT)
    try:
        smtp.ehlo()
        if config.starttls and not config.ssl:
            smtp.starttls(context=context)
            smtp.ehlo()
        if config.username:
            smtp.login(config.username, config.password or "")
    except BaseException:
        smtp.close()
        raise
    return smtp


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _said(reason: bytes | str) -> str:
    return reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)


def classify_smtp_error(error: Exception) -> SendResult:
    """An SMTP failure as retry (4xx, a dropped connection, a login problem someone can fix)
    or failed for good (5xx: the server refused the recipient or the mail)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        answers = list(error.recipients.values())
        code, reason = answers[0] if answers else (550, b"refused")
        text = f"{code} {_said(reason)}"
        if 500 <= code < 600:
            return SendResult.failed(f"recipient refused: {text}")
        return SendResult.retry(f"recipient deferred: {text}")
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return SendResult.retry(f"SMTP login failed: {error.smtp_code} {error.smtp_error!r}")
    if isinstance(error, smtplib.SMTPResponseException):
        said = _said(error.smtp_error)
        text = f"{error.smtp_code} {said}"
        if 500 <= error.smtp_code < 600:
            return SendResult.failed(f"SMTP refused: {text}")
        return SendResult.retry(f"SMTP deferred: {text}")
    return SendResult.retry(f"SMTP unreachable: {error!r}")


def _unreadable(raw: bytes, error: Exception) -> InboundMessage:
    digest = hashlib.sha256(raw).hexdigest()[:40]
    return InboundMessage(
        event_id=f"<{digest}@unreadable.invalid>",
        thread_id="",
        user_id="",
        kind="ignored",
        extra={"ignored_because": f"unreadable mail: {error!r}"[:500], "size": len(raw)},
    )


class EmailChannel:
    """The Channel and the intake's Poller for one support mailbox."""

    name = "email"
    capabilities = Capabilities(buttons=0, text_limit=TEXT_LIMIT, markdown="none", bot=False)

    def __init__(self, config: EmailConfig) -> None:
        self._config = config
        self.poll_seconds = config.poll_seconds
        self._imap: imaplib.IMAP4 | None = None
        self._lock = asyncio.Lock()  # one IMAP conversation at a time
        self._uids: dict[str, list[str]] = {}  # event id → mailbox UIDs not yet \Seen

    # ---- no webhook -------------------------------------------------------------------

    def verify(self, request: InboundRequest) -> None:
        raise Refused(404, "email has no webhook: the hub fetches mail from the IMAP mailbox")

    def handshake(self, request: InboundRequest) -> Answer | None:
        return None

    def parse(self, request: InboundRequest) -> Sequence[InboundMessage]:
        return []

    async def after_accept(self, event: InboundMessage) -> None:
        return None

    # ---- the mailbox (Poller) ---------------------------------------------------------

    async def fetch(self) -> Sequence[InboundMessage]:
        """New (UNSEEN) mail as events, oldest first; left unseen until `done`."""
        async with self._lock:
            mails = await asyncio.to_thread(self._fetch_unseen)
        self._uids = {}  # what an earlier, failed poll left is fetched again now
        events: list[InboundMessage] = []
        for uid, raw in mails:
            try:
                event = parse_mail(raw, own_address=self._config.address)
            except Exception as error:  # stored as ignored, with why, so it is not refetched
                log.exception("email: could not parse mail UID %s", uid)
                event = _unreadable(raw, error)
            self._uids.setdefault(event.event_id, []).append(uid)
            events.append(event)
        return events

    async def done(self, event: InboundMessage) -> None:
        """Stored: flag the mail \\Seen so it is not fetched again."""
        uids = self._uids.pop(event.event_id, [])
        if uids:
            async with self._lock:
                await asyncio.to_thread(self._mark_seen, uids)

    def _connection(self) -> imaplib.IMAP4:
        if self._imap is not None:
            try:
                _ok(self._imap.noop(), "NOOP")  # alive, and the server reports new mail
                return self._imap
            except (imaplib.IMAP4.error, OSError, MailboxError):
                self._drop()
        self._imap = open_imap(self._config.imap)
        return self._imap

    def _drop(self) -> None:
        if self._imap is not None:
            with contextlib.suppress(OSError):
                self._imap.shutdown()
            self._imap = None

    def _fetch_unseen(self) -> list[tuple[str, bytes]]:
        try:
            imap = self._connection()
            found = _ok(imap.uid("SEARCH", "UNSEEN"), "UID SEARCH UNSEEN")
            listed = found[0] if found and isinstance(found[0], bytes) else b""
            uids = [u.decode() for u in listed.split()]
            mails: list[tuple[str, bytes]] = []
            for uid in sorted(uids, key=int)[:MAX_PER_POLL]:
                data = _ok(imap.uid("FETCH", uid, "(BODY.PEEK[])"), f"UID FETCH {uid}")
                raw = next((p[1] for p in data if isinstance(p, tuple) and len(p) == 2), None)
                if isinstance(raw, bytes):
                    mails.append((uid, raw))
            return mails
        except (imaplib.IMAP4.error, OSError):
            self._drop()  # reconnect on the next poll
            raise

    def _mark_seen(self, uids: list[str]) -> None:
        try:
            imap = self._connection()
            _ok(imap.uid("STORE", ",".join(uids), "+FLAGS", "(\\Seen)"), "UID STORE \\Seen")
        except (imaplib.IMAP4.error, OSError):
            self._drop()
            raise

    # ---- sending ----------------------------------------------------------------------

    async def send(self, message: OutboundMessage) -> SendResult:
        try:
            mail = compose(message, address=self._config.address, name=self._config.name)
        except ValueError as error:
            return SendResult.failed(str(error))
        try:
            await asyncio.to_thread(self._send_mail, mail)
        except (smtplib.SMTPException, OSError) as error:
            return classify_smtp_error(error)
        return SendResult.sent(str(mail["Message-ID"]))

    def _send_mail(self, mail: EmailMessage) -> None:
        smtp = open_smtp(self._config.smtp)
        try:
            refused = smtp.send_message(mail, from_addr=self._config.address)
            if refused:  # one recipient only: all refused raises instead
                raise smtplib.SMTPRecipientsRefused(refused)
        finally:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()

    # ---- health -----------------------------------------------------------------------

    async def check(self) -> str:
        return await asyncio.to_thread(self._check)

    def _check(self) -> str:
        imap_config, smtp_config = self._config.imap, self._config.smtp
        imap = open_imap(imap_config)
        try:
            unseen = _ok(imap.uid("SEARCH", "UNSEEN"), "UID SEARCH UNSEEN")
            count = len((unseen[0] or b"").split()) if isinstance(unseen[0], bytes) else 0
        finally:
            imap.logout()
        smtp = open_smtp(smtp_config)
        smtp.quit()
        login = f"as {smtp_config.username}" if smtp_config.username else "without login"
        return (
            f"IMAP {imap_config.username}@{imap_config.host}:{imap_config.port}"
            f" {imap_config.folder}: logged in, {count} unseen;"
            f" SMTP {smtp_config.host}:{smtp_config.port}: connected {login};"
            f" sending as {self._config.address}"
        )

    async def aclose(self) -> None:
        async with self._lock:
            await asyncio.to_thread(self._logout)

    def _logout(self) -> None:
        if self._imap is not None:
            # A connection the server already dropped raises ValueError ("readline of closed
            # file") on logout: shutting down must not fail for that.
            with contextlib.suppress(imaplib.IMAP4.error, OSError, ValueError):
                self._imap.logout()
            self._imap = None
