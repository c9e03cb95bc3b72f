"""How well a bot pipeline routes control intents in English, Chinese and Persian.

Run with the Rasa venv's Python (Rasa 3.6 is not importable from the hub's):

    .venv-rasa/bin/python tests/bench/bench_nlu_languages.py [bot/config.yml ...]

Trains an NLU-only model per config on bot/data and scores it on the held-out phrasings in
bot/tests/nlu_heldout.yml: a control intent must be recognised; a product question
(ask_question) must not become a control intent (nlu_fallback is right for it, as the
knowledge base then answers). Prints accuracy per language and each miss.
"""

from __future__ import annotations

import asyncio
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HELD_OUT = ROOT / "bot" / "tests" / "nlu_heldout.yml"


def language_of(text: str) -> str:
    if re.search(r"[\u4e00-\u9fff]", text):
        return "zh"
    if re.search(r"[\u0600-\u06ff]", text):
        return "fa"
    return "en"


def held_out() -> list[tuple[str, str]]:
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(HELD_OUT))
    return [(m.get("text"), m.get("intent")) for m in data.intent_examples]


def right(expected: str, predicted: str) -> bool:
    if expected == "ask_question":
        return predicted in ("ask_question", "nlu_fallback")
    return predicted == expected


async def score(config: Path) -> None:
    from rasa.core.agent import Agent
    from rasa.model_training import train_nlu

    with tempfile.TemporaryDirectory() as out:
        model = train_nlu(
            str(config), str(ROOT / "bot" / "data"), out, domain=str(ROOT / "bot" / "domain.yml")
        )
        agent = Agent.load(model)
        totals: Counter[str] = Counter()
        hits: Counter[str] = Counter()
        misses = []
        for text, expected in held_out():
            parsed = await agent.parse_message(text)
            predicted = parsed["intent"]["name"]
            lang = language_of(text)
            totals[lang] += 1
            if right(expected, predicted):
                hits[lang] += 1
            else:
                misses.append((text, expected, predicted, parsed["intent"]["confidence"]))
    print(f"\n{config}")
    for lang in ("en", "zh", "fa"):
        print(f"  {lang}: {hits[lang]}/{totals[lang]}")
    print(f"  all: {sum(hits.values())}/{sum(totals.values())}")
    for text, expected, predicted, confidence in misses:
        print(f"  miss: {text!r} expected {expected}, got {predicted} ({confidence:.2f})")


if __name__ == "__main__":
    configs = [Path(a) for a in sys.argv[1:]] or [ROOT / "bot" / "config.yml"]
    for c in configs:
        asyncio.run(score(c))
