"""A mail as fetched from the mailbox (RFC 5322 bytes) → one normalised InboundMessage.

Threading: `thread_id` is the thread's root Message-ID (the first of References, else
In-Reply-To, else the mail's own), `thread_aliases` every id the mail refers to, and
`ticket_number` the N of a "[#N]" subject tag, so handoff.inbound finds the conversation
whichever of these the customer's client kept. Robots (auto-replies, out-of-office
notices, bounces, list mail, our own mail) become `kind="ignored"`: stored, never
answered, so two auto-responders cannot write to each other forever (RFC 3834).
"""

from __future__ import annotations

import hashlib
import re
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.parser import HeaderParser
from email.utils import getaddresses
from typing import Any

from api.channels.base import Attachment, InboundMessage, Profile
from api.channels.mail_text import html_to_text, new_words, unflow

MAX_ORIGINAL_CHARS = 100_000
MAX_REFERENCES = 50
GENERATED_DOMAIN = "message-id.invalid"  # ids we make up for mails that have none
_MSGID = re.compile(r"<[^<>\s]+>")
_TICKET = re.compile(r"\[#(\d{1,9})\]")
_ROBOT_SENDERS = {"mailer-daemon", "postmaster"}
_BULK = {"bulk", "junk", "list", "auto_reply"}
# Mail clients label text with a charset and write its superset: "gb2312" mail holds GBK
# characters, "iso-8859-1" holds Windows quotes and the euro sign. The WHATWG Encoding
# Standard (what browsers do) decodes these labels with the superset; so do we, or such a
# character would become U+FFFD and the customer's words would be lost.
_SUPERSETS = {
    **dict.fromkeys(
        ("gb2312", "gb_2312", "gb_2312-80", "csgb2312", "iso-ir-58", "chinese", "gbk", "x-gbk"),
        "gb18030",
    ),
    **dict.fromkeys(("big5", "csbig5", "x-x-big5", "big5-hkscs", "cn-big5"), "big5hkscs"),
    **dict.fromkeys(("us-ascii", "ascii", "iso-8859-1", "latin1", "iso_8859-1", "l1"), "cp1252"),
    **dict.fromkeys(
        ("euc-kr", "ks_c_5601-1987", "ks_c_5601-1989", "korean", "csksc56011987"), "cp949"
    ),
    **dict.fromkeys(
        ("shift_jis", "shift-jis", "sjis", "x-sjis", "ms_kanji", "csshiftjis"), "cp932"
    ),
    **dict.fromkeys(("tis-620", "iso-8859-11", "windows-874"), "cp874"),
}


def message_ids(value: object) -> list[str]:
    """The `<id@host>` tokens of a Message-ID, In-Reply-To or References header."""
    return _MSGID.findall(str(value or ""))


def ticket_number(subject: str) -> int | None:
    found = _TICKET.search(subject)
    return int(found.group(1)) if found else None


def _header(mail: Message, name: str) -> str:
    try:
        value = mail.get(name)
    except Exception:  # a malformed header the registry cannot parse
        value = mail.get_all(name, failobj=[None])[0] if hasattr(mail, "get_all") else None
    return re.sub(r"\s+", " ", str(value)).strip() if value is not None else ""


_ENCODED_WORD_CHARSET = re.compile(r"=\?([^?*]+)(?:\*[^?]*)?\?[bq]\?", re.IGNORECASE)


def _superset_words(mail: Message, name: str) -> str | None:
    """The header's text with its RFC 2047 encoded words read by their charsets' supersets
    (_SUPERSETS), when it has any whose charset has one; else None (the registry's text
    stands)."""
    raw = next((str(v) for k, v in mail.raw_items() if k.lower() == name.lower()), None)
    if raw is None:
        return None
    if not any(c.lower() in _SUPERSETS for c in _ENCODED_WORD_CHARSET.findall(raw)):
        return None
    try:
        parts = [
            (chunk.decode(_SUPERSETS[charset], errors="replace").encode(), "utf-8")
            if isinstance(chunk, bytes) and charset in _SUPERSETS
            else (chunk, charset)
            for chunk, charset in decode_header(raw)
        ]
        return re.sub(r"\s+", " ", str(make_header(parts))).strip()
    except Exception:  # a malformed header: the registry's reading stands
        return None


def _subject(mail: Message) -> str:
    return _superset_words(mail, "Subject") or _header(mail, "Subject")


def _display_name(mail: Message, name: str, address: Address | None) -> str:
    """`address`'s display name, read again from the raw header when it has encoded words
    in a charset with a superset."""
    if address is None:
        return ""
    text = _superset_words(mail, name)
    if text is not None:
        for found_name, addr_spec in getaddresses([text]):
            if addr_spec.lower() == address.addr_spec.lower() and found_name:
                return found_name
    return address.display_name


def _address(mail: Message, name: str) -> Address | None:
    try:
        header = mail.get(name)
        addresses = getattr(header, "addresses", ())
    except Exception:
        return None
    for address in addresses:
        if isinstance(address, Address) and "@" in address.addr_spec:
            return address
    return None


def robot_reason(mail: Message, own_address: str | None = None) -> str | None:
    """Why this mail comes from a machine (or from us) and must not be answered; None for a
    person's mail."""
    auto = _header(mail, "Auto-Submitted").lower().split(";")[0].strip()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    precedence = _header(mail, "Precedence").lower()
    if precedence in _BULK:
        return f"Precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond"):
        if mail.get(name) is not None:
            return name
    suppress = {t.strip().lower() for t in _header(mail, "X-Auto-Response-Suppress").split(",")}
    if suppress & {"oof", "all"}:
        return "X-Auto-Response-Suppress"
    if mail.get_content_type() == "multipart/report":
        return "delivery report"
    sender = _address(mail, "From")
    if sender is not None and sender.username.lower() in _ROBOT_SENDERS:
        return f"from {sender.username}"
    if mail.get("Return-Path") is not None and _header(mail, "Return-Path") in ("<>", ""):
        return "empty Return-Path"
    if own_address and sender is not None and sender.addr_spec.lower() == own_address.lower():
        return "our own mail"
    return None


def _decoded(part: Message) -> str:
    """A text part's content by its declared charset, read as its superset (_SUPERSETS);
    bad bytes or an unknown charset degrade to U+FFFD or UTF-8 instead of failing."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    declared = (part.get_content_charset() or "utf-8").strip().lower()
    try:
        return payload.decode(_SUPERSETS.get(declared, declared), errors="replace")
    except LookupError:
        return payload.decode("utf-8", errors="replace")


def body_text(mail: EmailMessage) -> tuple[str, Message | None]:
    """The mail's text (its text/plain part, else its HTML as text) and the part used."""
    part = mail.get_body(preferencelist=("plain", "html"))
    if part is None:
        return "", None
    text = _decoded(part).replace("\r\n", "\n")
    if part.get_content_type() == "text/html":
        return html_to_text(text), part
    if str(part.get_param("format") or "").lower() == "flowed":
        text = unflow(text, delsp=str(part.get_param("delsp") or "").lower() == "yes")
    return text.strip(), part


def attachments(mail: Message, body: Message | None) -> tuple[Attachment, ...]:
    """Files sent with the mail (name, type, size); an attached mail counts as one file."""
    found: list[Attachment] = []

    def visit(part: Message) -> None:
        if part is body:
            return
        kind = part.get_content_type()
        if part.is_multipart() and kind != "message/rfc822":
            for child in part.get_payload():
                if isinstance(child, Message):
                    visit(child)
            return
        name = part.get_filename()
        disposition = part.get_content_disposition()
        if (
            disposition != "attachment"
            and name is None
            and part.get_content_maintype()
            in (
                "text",
                "multipart",
            )
        ):
            return  # an alternative rendering of the body, not a file
        if kind == "message/rfc822":
            inner = part.get_payload()
            first = inner[0] if isinstance(inner, list) and inner else None
            size = len(first.as_bytes()) if isinstance(first, Message) else None
        else:
            payload = part.get_payload(decode=True)
            size = len(payload) if isinstance(payload, bytes) else None
        found.append(Attachment(name=name, content_type=kind, size=size))

    if mail.is_multipart():
        visit(mail)
    return tuple(found)


def _bounced_ids(mail: Message) -> list[str]:
    """Message-IDs of our mails a delivery report returns (text/rfc822-headers part)."""
    ids: list[str] = []
    for part in mail.walk():
        if part.get_content_type() in ("text/rfc822-headers", "message/rfc822-headers"):
            headers = HeaderParser().parsestr(_decoded(part).lstrip())
            ids += message_ids(headers.get("Message-ID"))[:1]
        elif part.get_content_type() == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                ids += message_ids(inner[0].get("Message-ID"))[:1]
    return ids


def parse_mail(raw: bytes, *, own_address: str | None = None) -> InboundMessage:
    """One fetched mail as an event (see the module's docstring for the threading keys)."""
    mail = message_from_bytes(raw, policy=policy.default)
    assert isinstance(mail, EmailMessage)
    own_ids = message_ids(_header(mail, "Message-ID"))
    digest = hashlib.sha256(raw.replace(b"\r\n", b"\n")).hexdigest()[:40]
    message_id = own_ids[0] if own_ids else f"<{digest}@{GENERATED_DOMAIN}>"
    references = message_ids(_header(mail, "References"))[-MAX_REFERENCES:]
    replied = message_ids(_header(mail, "In-Reply-To"))
    in_reply_to = replied[0] if replied else None
    root = references[0] if references else (in_reply_to or message_id)
    aliases = list(dict.fromkeys([*references, *replied]))
    subject = _subject(mail)

    sender = _address(mail, "From")
    replying = _address(mail, "Reply-To")
    reply_to = replying or sender  # a contact form writes from itself
    email = reply_to.addr_spec.lower() if reply_to else ""
    name = _display_name(mail, "Reply-To" if replying else "From", reply_to) or _display_name(
        mail, "From", sender
    )
    language = _header(mail, "Content-Language").split(",")[0].strip().split("-")[0].lower()

    try:
        text, body = body_text(mail)
    except Exception:  # a broken MIME structure: keep the mail, say so
        text, body = "", None
    reason = robot_reason(mail, own_address)
    if reason is None and not email:
        reason = "no sender address"
    extra: dict[str, Any] = {
        "subject": subject,
        "thread_aliases": aliases,
        "ticket_number": ticket_number(subject),
        "in_reply_to": in_reply_to,
        "references": references,
        "from": sender.addr_spec.lower() if sender else None,
        "original": text[:MAX_ORIGINAL_CHARS],
    }
    if reason is not None:
        extra["ignored_because"] = reason
        bounced = _bounced_ids(mail) if mail.get_content_type() == "multipart/report" else []
        if bounced:
            extra["bounced_ids"] = bounced
    return InboundMessage(
        event_id=message_id,
        thread_id=root,
        user_id=email,
        text=new_words(text, sender=name) if reason is None else text,
        kind="message" if reason is None else "ignored",
        message_id=message_id,
        profile=Profile(
            name=name or None,
            email=email or None,
            language=language if re.fullmatch(r"[a-z]{2,3}", language) else None,
        ),
        attachments=attachments(mail, body),
        extra=extra,
    )
