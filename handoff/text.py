"""What a storable string is: no NUL, no unpaired UTF-16 surrogates.

Both arrive from real clients: browsers' `JSON.stringify` emits a lone surrogate for a
broken emoji (half of a pair cut by a length limit), and NUL comes from anything that
pastes binary. SQLite stores NUL but PostgreSQL refuses it in text, and no driver can encode
a lone surrogate as UTF-8: either would fail at the INSERT, after the message was accepted.
Customer text is cleaned (a replacement character for the surrogate, NUL dropped) rather
than refused, so a customer's message is never lost for a broken character; the agents'
API refuses such input with 422 instead (`api/inputs.py`), where a client can fix it.
"""

from __future__ import annotations

import re

REPLACEMENT = "\ufffd"
# Any surrogate code point: in a Python str a well-formed pair is one astral character, so
# every surrogate left in a str is unpaired.
_SURROGATE = re.compile("[\ud800-\udfff]")


def is_clean(text: str) -> bool:
    """True when `text` has no NUL and no unpaired surrogate."""
    return "\x00" not in text and _SURROGATE.search(text) is None


def scrub(text: str) -> str:
    """`text` with NUL removed and each unpaired surrogate replaced by U+FFFD."""
    if is_clean(text):
        return text
    return _SURROGATE.sub(REPLACEMENT, text.replace("\x00", ""))
