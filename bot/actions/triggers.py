"""What in a customer's words calls for a person before any answer is tried."""

from __future__ import annotations

import re

# Outage, data loss, security, money, legal: a person at once, high priority.
_URGENT = re.compile(
    r"\b(outage|is down|are down|went down|goes down|server down|site down|service down"
    r"|not loading for anyone|data loss|lost (all )?(my |our )?data"
    r"|data (is |was )?(gone|deleted|lost)"
    r"|security breach|breach|hacked|compromised|ransomware|payment failed|payment declined"
    r"|charged twice|double charged|legal|lawyer|lawsuit|gdpr complaint)\b",
    re.IGNORECASE,
)
_INSULT = re.compile(
    r"\b(useless|stupid|idiot|dumb|terrible|awful|rubbish|garbage|wtf|ridiculous|pathetic"
    r"|hate (this|you)|worst)\b",
    re.IGNORECASE,
)


def is_urgent(text: str) -> bool:
    return bool(_URGENT.search(text))


def is_shouting(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 8 and sum(c.isupper() for c in letters) / len(letters) >= 0.7


def is_frustrated(text: str, previous_texts: list[str]) -> bool:
    """Insults, shouting, or the same message again (the bot's answers are not landing)."""
    normalised = " ".join(text.lower().split())
    repeated = any(" ".join(p.lower().split()) == normalised for p in previous_texts[-3:])
    return bool(_INSULT.search(text)) or is_shouting(text) or (repeated and len(normalised) > 3)
