"""The widget's credentials: signed visitor tokens (which conversation a browser may resume)
and signed identities (a site vouching for its signed-in user), both HMAC-SHA256, compared in
constant time."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

TOKEN_CONTEXT = b"frontline-widget-token:"
_HEX = re.compile(r"[0-9a-fA-F]{64}")


class Refused(Exception):
    """A hello the hub will not accept; `code` tells the widget what to do about it."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


# ---- Signed visitor tokens -------------------------------------------------------------


def _token_signature(key: bytes, public_token: str) -> str:
    digest = hmac.new(key, TOKEN_CONTEXT + public_token.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign_token(key: bytes, public_token: str) -> str:
    """The visitor token the widget keeps: the conversation's token and its signature."""
    return f"{public_token}.{_token_signature(key, public_token)}"


def verify_token(key: bytes, token: str) -> str | None:
    """The conversation token inside a signed visitor token, or None if the signature is bad."""
    public_token, dot, signature = token.rpartition(".")
    if not dot or not public_token:
        return None
    expected = _token_signature(key, public_token)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        return None
    return public_token


# ---- Signed identities -----------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    user_id: str
    name: str | None
    email: str | None


def identity_hash(secret: bytes, user_id: str) -> str:
    """What a site computes for its user: hex HMAC-SHA256 of the user id."""
    return hmac.new(secret, user_id.encode(), hashlib.sha256).hexdigest()


def verify_identity(secret: bytes, raw: object) -> Identity:
    """The identity in a hello, if its hash verifies; raises Refused otherwise."""
    if not isinstance(raw, dict):
        raise Refused("identity must be an object with user_id and user_hash", "identity")
    user_id, user_hash = raw.get("user_id"), raw.get("user_hash")
    if isinstance(user_id, int) and not isinstance(user_id, bool):
        user_id = str(user_id)
    if not isinstance(user_id, str) or not user_id.strip() or len(user_id) > 200:
        raise Refused("identity.user_id must be a string of 1-200 characters", "identity")
    if not secret:
        raise Refused(
            "identity refused: this hub does not verify identities (FRONTLINE_IDENTITY_SECRET"
            " is not set)",
            "identity",
        )
    if not isinstance(user_hash, str) or not _HEX.fullmatch(user_hash):
        raise Refused("identity refused: user_hash must be a hex HMAC-SHA256", "identity")
    if not hmac.compare_digest(identity_hash(secret, user_id).encode(), user_hash.lower().encode()):
        raise Refused("identity refused: user_hash does not match user_id", "identity")
    name, email = raw.get("name"), raw.get("email")
    name = name.strip()[:200] if isinstance(name, str) and name.strip() else None
    email = email.strip() if isinstance(email, str) and email.strip() else None
    if email is not None and (
        "@" not in email or len(email) > 320 or any(c.isspace() for c in email)
    ):
        raise Refused(f"identity refused: not an email address: {email[:80]!r}", "identity")
    return Identity(user_id.strip(), name, email)
