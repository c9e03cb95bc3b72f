"""The password policy for agent accounts: long enough, not the email, not a common password.

Length is what makes a password hard to guess; the list (handoff/data/common-passwords.txt,
one a line, compared without case) refuses the long ones everybody tries first. The demo
agent's password is the one exception, and the hub refuses to serve it on a public address.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from handoff.errors import InvalidInput

MIN_LENGTH = 12
MAX_LENGTH = 1000  # what the login form accepts; argon2 hashes any length in the same time
COMMON_FILE = Path(__file__).resolve().parent / "data" / "common-passwords.txt"


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    lines = COMMON_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip())


def check_password(password: str, *, email: str) -> None:
    """Raise InvalidInput, saying what to change, unless `password` may be used."""
    if len(password) < MIN_LENGTH:
        raise InvalidInput(
            f"the password needs at least {MIN_LENGTH} characters (it has {len(password)});"
            " a few unrelated words make a good one"
        )
    if len(password) > MAX_LENGTH:
        raise InvalidInput(f"the password may have at most {MAX_LENGTH} characters")
    lowered = password.strip().lower()
    address = email.strip().lower()
    local = address.partition("@")[0]
    if lowered in (address, local) or (len(local) >= 4 and lowered.startswith(local)):
        raise InvalidInput("the password must not be (or start with) the account's email")
    if lowered in common_passwords() or len(set(lowered)) < 4:
        raise InvalidInput("that password is too common or too easy to guess; choose another")
