"""One of our messages as a mail in the customer's thread.

The subject keeps the thread's subject with one "Re:" and one "[#N]" ticket tag (the tag
finds the ticket when a client drops the threading headers); In-Reply-To and References
follow RFC 5322 §3.6.4 so the customer's client shows one thread. Bot and system mails
say `Auto-Submitted: auto-replied` (RFC 3834) so other robots do not answer them; an
agent's reply is a person's mail and does not.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from api.channels.base import OutboundMessage
from api.channels.mail_parse import GENERATED_DOMAIN
from api.channels.render import plain_text

MAX_REFERENCES = 20
MAX_REFERENCES_CHARS = 900
# Headers on one line up to RFC 5322's hard limit: the stdlib folds a Message-ID longer than
# 78 characters into RFC 2047 encoded-words, which no client matches when threading.
MAIL_POLICY = policy.SMTP.clone(max_line_length=998)
_PREFIX = re.compile(r"^\s*((re|aw|sv|antw|r|fwd?|wg|tr)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_TAG = re.compile(r"\s*\[#\d{1,9}\]\s*")


def reply_subject(subject: str | None, ticket: int | None) -> str:
    """ "Re: <subject> [#N]": reply prefixes and earlier tags removed first, so neither is
    ever doubled however many times the thread goes back and forth."""
    base = _PREFIX.sub("", subject or "")
    base = _TAG.sub(" ", base).strip()
    base = _PREFIX.sub("", base).strip() or "Your request"
    return f"Re: {base}" + (f" [#{ticket}]" if ticket is not None else "")


def thread_headers(received: Sequence[str], sent: Sequence[str]) -> tuple[str | None, list[str]]:
    """In-Reply-To (the customer's latest mail) and References (the thread's root first,
    then the later ids, the replied-to one last; the oldest after the root go first when
    there are more than MAX_REFERENCES or MAX_REFERENCES_CHARS, so the header fits on one
    line)."""
    real = [i for i in received if i.startswith("<") and not i.endswith(f"@{GENERATED_DOMAIN}>")]
    in_reply_to = real[-1] if real else None
    ordered = list(dict.fromkeys([*real[:1], *real[1:-1], *sent, *real[-1:]]))
    while len(ordered) > 2 and (
        len(ordered) > MAX_REFERENCES or len(" ".join(ordered)) > MAX_REFERENCES_CHARS
    ):
        del ordered[1]
    return in_reply_to, ordered


def compose(message: OutboundMessage, *, address: str, name: str) -> EmailMessage:
    """The mail for one outbound message (To: the thread's customer address). Its
    Message-ID carries the conversation and message ids, e.g.
    `<...conversation-7.message-42@support.example.com>`."""
    context = message.context
    to = context.get("customer_address")
    if not to:
        raise ValueError("the conversation has no customer address to reply to")
    mail = EmailMessage(policy=MAIL_POLICY)
    mail["From"] = Address(display_name=name, addr_spec=address)
    mail["To"] = str(to)
    mail["Subject"] = reply_subject(context.get("subject"), context.get("ticket_number"))
    mail["Date"] = format_datetime(datetime.now(UTC))
    domain = address.rsplit("@", 1)[1]
    idstring = f"conversation-{message.conversation_id}.message-{message.message_id}"
    mail["Message-ID"] = make_msgid(idstring=idstring, domain=domain)
    in_reply_to, references = thread_headers(
        [str(i) for i in context.get("received_ids") or ()],
        [str(i) for i in context.get("sent_ids") or ()],
    )
    if in_reply_to:
        mail["In-Reply-To"] = in_reply_to
    if references:
        mail["References"] = " ".join(references)
    if message.role != "agent":
        mail["Auto-Submitted"] = "auto-replied"
    # Exchange and Outlook: no out-of-office or other automatic answer to our mails.
    mail["X-Auto-Response-Suppress"] = "All"
    mail.set_content(plain_text(message, numbered_buttons=True) + "\n")
    return mail
