"""Experiment (not product code): a knowledge base in a language the product ships no off-topic
questions in, simulated with MASSIVE's Chinese and Persian knowledge bases (which do have
them), through the product's own build (`retrieval/benchmark_languages.py`'s pairs):

- "shipped": as built for Chinese and Persian, with their own off-topic questions;
- "English only": as if the language had none, before: the English questions stand in;
- "own (shipped)": as if the language had none, now: the knowledge base's own questions of
  held-out articles stand in (retrieval/own_off_topic.py).

Nothing is chosen on the test questions: each run is a build as `kb build` makes it, then
asked MASSIVE's dev questions (four scenarios held out as unrelated).

Run from the repository root (vectors cached in var/embeddings):
    HF_HUB_OFFLINE=1 PYTHONPATH=. .venv/bin/python docs/experiments/own_off_topic.py zh fa
"""

from __future__ import annotations

import sys
from pathlib import Path
from unittest import mock

from retrieval import benchmark_languages, calibration, own_off_topic
from retrieval.embedding_cache import CachedEncoder
from retrieval.encoder import MULTILINGUAL_E5, open_encoder


def main() -> None:
    encoder = CachedEncoder(open_encoder(MULTILINGUAL_E5), Path("var/embeddings"))
    rows = benchmark_languages.load_rows(Path("../shared/data/massive"))
    shipped = calibration.off_topic_languages()
    for lang in sys.argv[1:]:
        without = [x for x in shipped if x != lang]
        variants = {
            "shipped": [],
            "English only": [
                mock.patch.object(
                    calibration, "off_topic_languages", lambda without=without: without
                ),
                mock.patch.object(own_off_topic, "in_place_of_shipped", lambda *a, **k: None),
            ],
            "own (new)": [
                mock.patch.object(
                    calibration, "off_topic_languages", lambda without=without: without
                )
            ],
        }
        for name, patches in variants.items():
            for patch in patches:
                patch.start()
            try:
                figures = benchmark_languages.evaluate_pair(rows, lang, lang, encoder)
            finally:
                for patch in patches:
                    patch.stop()
            print(
                f"{lang}/{lang} {name:13s} top-1 {figures['top1']:.3f} precision "
                f"{figures['answered_precision']:.3f} coverage {figures['coverage']:.3f} "
                f"unrelated {figures['unrelated_answered']:.2%} | {figures['operating_point']}",
                flush=True,
            )


if __name__ == "__main__":
    main()
