"""How well a bot pipeline routes control intents in English, Chinese and Persian.

Run with the Rasa venv's Python (Rasa 3.6 is not importable from the hub's):

    .venv-rasa/bin/python tests/bench/bench_nlu_languages.py [bot/config.yml ...]

Trains an NLU-only model per config on bot/data (and the knowledge base's questions, as
`frontline bot train` does) and scores it on the held-out phrasings in
bot/tests/nlu_heldout.yml: a control intent must be recognised; a product question
(ask_question) must not become a control intent (nlu_fallback is right for it, as the
knowledge base then answers). Prints accuracy per language and each miss; then, when
MASSIVE is there (FRONTLINE_MASSIVE_PATH, else ../shared/data/massive), how often its dev
utterances in en, zh and fa are taken for a control intent.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HELD_OUT = ROOT / "bot" / "tests" / "nlu_heldout.yml"
GENERATED = ROOT / "var" / "models" / "generated"


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
        data = Path(out) / "data"
        data.mkdir()
        # What `frontline bot train` trains on: bot/data and the knowledge base's questions
        # (var/models/generated, written by the last `frontline bot train`), when there.
        for source in [*(ROOT / "bot" / "data").glob("*.yml"), *GENERATED.glob("*.yml")]:
            shutil.copy(source, data / source.name)
        model = train_nlu(str(config), str(data), out, domain=str(ROOT / "bot" / "domain.yml"))
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
    if MASSIVE.is_file():
        await false_controls(agent)


# MASSIVE's dev utterances (1.1, FitzGerald et al. 2023, CC BY 4.0, Amazon): requests to a
# voice assistant, none of them one of our control intents, in en, zh and fa. Its "general"
# scenario (greetings, jokes, thanks...) is left out, as those may rightly be ours.
MASSIVE = (
    Path(os.environ.get("FRONTLINE_MASSIVE_PATH") or ROOT.parent / "shared" / "data" / "massive")
    / "massive_en_zh_fa.jsonl"
)
CONTROL = {
    "greet", "goodbye", "thank", "affirm", "deny", "request_human", "start_over", "helpful",
    "not_helpful", "bot_challenge", "capabilities",
}  # fmt: skip


async def false_controls(agent: object) -> None:
    """How often a message that is not a control intent is taken for one (a false hand-off
    is the costly one)."""
    rows = [json.loads(line) for line in MASSIVE.read_text(encoding="utf-8").splitlines()]
    rows = [r for r in rows if r["partition"] == "dev" and not r["intent"].startswith("general_")]
    for lang in ("en", "zh", "fa"):
        taken: Counter[str] = Counter()
        for row in rows:
            parsed = await agent.parse_message(row[lang])  # type: ignore[attr-defined]
            name = parsed["intent"]["name"]
            if name in CONTROL:
                taken[name] += 1
        wrong = sum(taken.values())
        print(
            f"  MASSIVE dev {lang} ({len(rows)}, not 'general'): taken for a control intent "
            f"{wrong / len(rows):.1%}, request_human {taken['request_human'] / len(rows):.1%}"
        )


if __name__ == "__main__":
    configs = [Path(a) for a in sys.argv[1:]] or [ROOT / "bot" / "config.yml"]
    for c in configs:
        asyncio.run(score(c))
