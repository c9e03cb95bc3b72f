"""How often the hub's language detection (api/i18n/detect.py) switches a conversation's
language, and how often wrongly, on MASSIVE's dev utterances in English, Chinese and Persian.

    PYTHONPATH=. .venv/bin/python tests/bench/bench_language_detection.py [path]

`path`: the MASSIVE folder or its massive_en_zh_fa.jsonl (default: FRONTLINE_MASSIVE_PATH,
else ../shared/data/massive). MASSIVE 1.1 (FitzGerald et al., ACL 2023), CC BY 4.0,
Copyright Amazon.com Inc. or its affiliates.

Prints, per language: detected as itself, undecided, detected as another language; and
the wrong switches that remain under the hub's rule (a detection replaces a hint only in
another script: handoff.languages.adopt_detected_language), for a conversation whose hint
is English (the widget on an English page) and the customer writes in each language.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path

from api.i18n.detect import LanguageDetector
from handoff.languages import script_of

ROOT = Path(__file__).resolve().parents[2]


def rows(path: Path) -> list[dict[str, str]]:
    if path.is_dir():
        path = path / "massive_en_zh_fa.jsonl"
    with path.open(encoding="utf-8") as handle:
        return [r for r in map(json.loads, handle) if r.get("partition") == "dev"]


def main() -> None:
    default = os.environ.get("FRONTLINE_MASSIVE_PATH") or str(ROOT.parent / "shared/data/massive")
    path = Path(sys.argv[1] if len(sys.argv) > 1 else default)
    if not path.exists():
        print(f"MASSIVE not found at {path}; pass its path or set FRONTLINE_MASSIVE_PATH")
        return
    data = rows(path)
    detector = LanguageDetector()
    print(f"MASSIVE dev, {len(data)} utterances per language (CC BY 4.0, Amazon)")
    for language in ("en", "zh", "fa"):
        outcome: Counter[str] = Counter()
        for row in data:
            found = detector.detect(row[language])
            outcome["right" if found == language else "none" if found is None else "wrong"] += 1
            switched = found is not None and script_of(found) != script_of("en")
            outcome["to " + str(found) if switched else "stays en"] += 1
        total = len(data)
        switches = ", ".join(
            f"{k} {v / total:.1%}" for k, v in sorted(outcome.items()) if k.startswith("to ")
        )
        print(
            f"  {language}: detected {outcome['right'] / total:.1%}, "
            f"undecided {outcome['none'] / total:.1%}, wrong {outcome['wrong'] / total:.1%}; "
            f"from an English hint: stays en {outcome['stays en'] / total:.1%}"
            + (f", {switches}" if switches else "")
        )


if __name__ == "__main__":
    main()
