"""What a chat client tells us about its customer besides the text: Rasa-style message
metadata (rasa-webchat's `customData`) and the customer's language.

Metadata comes from the embedding site, not the customer, but it travels through the
customer's browser: it is kept only as a small JSON object, and it never overrides what the
hub itself tells the bot (see api/dialogue.py).
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_METADATA_CHARS = 2000
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8}){0,3}")


class MetadataRefused(ValueError):
    """Metadata that is not kept; the message it came with still is."""


def client_metadata(raw: object) -> dict[str, Any]:
    """`raw` as a JSON object of at most MAX_METADATA_CHARS characters, or MetadataRefused."""
    if not isinstance(raw, dict):
        raise MetadataRefused(f"metadata must be a JSON object, not {type(raw).__name__}")
    if not all(isinstance(key, str) for key in raw):
        raise MetadataRefused("metadata keys must be strings")
    try:
        encoded = json.dumps(raw, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise MetadataRefused(f"metadata is not plain JSON: {error}") from error
    if len(encoded) > MAX_METADATA_CHARS:
        raise MetadataRefused(
            f"metadata is {len(encoded)} characters as JSON; at most {MAX_METADATA_CHARS} are kept"
        )
    parsed: dict[str, Any] = json.loads(encoded)  # a copy, detached from the caller's objects
    return parsed


def primary_language(raw: object) -> str | None:
    """The primary subtag of a BCP 47 language tag ("en-GB" is "en"), as teams list their
    languages; None when `raw` is not such a tag."""
    if isinstance(raw, str) and _LANGUAGE.fullmatch(raw.strip()):
        return re.split(r"[-_]", raw.strip())[0].lower()
    return None
