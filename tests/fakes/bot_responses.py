"""What a customer sees of our actions' messages: a `response` ("utter_...") rendered from
bot/domain.yml as Rasa does it (the variation whose `language` slot condition matches, else
the unconditioned English one; the action's own buttons added after the response's), literal
texts as they are."""

from __future__ import annotations

from functools import cache
from typing import Any

import yaml

from tests.fakes.paths import ROOT


@cache
def domain_responses() -> dict[str, list[dict[str, Any]]]:
    domain = yaml.safe_load((ROOT / "bot" / "domain.yml").read_text(encoding="utf-8"))
    return dict(domain["responses"])


def variation(name: str, language: str = "en") -> dict[str, Any]:
    """The variation of response `name` Rasa picks when the `language` slot is `language`."""
    variations = domain_responses()[name]
    for v in variations:
        if any(c["name"] == "language" and c["value"] == language for c in v.get("condition", [])):
            return v
    [default] = [v for v in variations if "condition" not in v]
    return default


def rendered(message: dict[str, Any], language: str = "en") -> dict[str, Any]:
    """One message an action sent (rasa-sdk's dispatcher output), as Rasa would utter it."""
    name = message.get("response")
    if not name:
        return message
    chosen = variation(name, language)
    out = {k: v for k, v in message.items() if v and k != "response"}
    out["text"] = chosen["text"]
    buttons = [*chosen.get("buttons", []), *(message.get("buttons") or [])]
    if buttons:
        out["buttons"] = buttons
    return out


def said(out: dict[str, Any], language: str = "en") -> list[dict[str, Any]]:
    """Every message of an action's result (`responses`), rendered."""
    return [rendered(m, language) for m in out["responses"]]
