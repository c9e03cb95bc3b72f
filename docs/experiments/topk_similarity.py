"""Experiment (not product code): an article's similarity as the mean of its k closest entries.

The shipped similarity of a question to an article is the cosine of the article's closest
entry (title, question or section): k = 1. An unrelated question can come close to one entry
by chance, while a question the article answers tends to be close to several of its
paraphrases, so the mean of the k highest cosines within the article (the k-nearest-neighbour
out-of-distribution score of Sun et al., 2022, taken per article) might separate the two
better. Here it replaces the similarity everywhere the calibration and the decision see it:
the cross-validation's held-out and off-topic questions (each fold's entries only; the
"covered" rule reads the off-topic questions' similarity from these too) and the test
questions. Each knowledge base is then built and calibrated as `frontline kb build`
does (default English encoder), and the test figures are read at the point it chose, beside
the ceiling (the most coverage any cut on probability and the similarity reaches with
precision >= 0.95 and <= 1% unrelated answered, read off the test set, for understanding
only). k = 1 reproduces the shipped figures; k = 100 is every entry of the article.

Run from the repository root:
    HF_HUB_OFFLINE=1 PYTHONPATH=. .venv/bin/python docs/experiments/topk_similarity.py \
        1,2,3,5,100 dom0 dom1 dom2 dom3 dom4 clinc massive
Datasets as in tuned_encoder.py.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

import as_new

from retrieval import calibration

SHIPPED_SCORE_QUERIES = calibration.score_queries
K = 1


def top_k_mean(cosines: np.ndarray, starts: np.ndarray, k: int) -> np.ndarray:
    """(queries, articles): the mean of each article's k highest cosines (all, if fewer)."""
    ends = np.append(starts[1:], cosines.shape[1])
    result = np.empty((cosines.shape[0], len(starts)), dtype=cosines.dtype)
    for article, (start, end) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        part = cosines[:, start:end]
        keep = min(k, end - start)
        result[:, article] = np.partition(part, end - start - keep, axis=1)[:, -keep:].mean(axis=1)
    return result


def score_queries(texts: Any, vectors: np.ndarray, **kwargs: Any) -> calibration.Scored:
    scored = SHIPPED_SCORE_QUERIES(texts, vectors, **kwargs)
    if K > 1 and len(texts):
        cosines = (
            np.asarray(vectors, dtype=np.float32)
            @ np.asarray(kwargs["entry_vectors"], dtype=np.float32).T
        )
        scored.similarity = top_k_mean(cosines, np.asarray(kwargs["starts"]), K)
    return scored


# cross_validate's folds and benchmark.scored_split look the function up in the module.
calibration.score_queries = score_queries


def main() -> None:
    global K
    encoder = as_new.minilm()
    for k in [int(k) for k in sys.argv[1].split(",")]:
        K = k
        for dataset in sys.argv[2:]:
            print(f"k={k} {dataset}: {as_new.build(dataset, encoder).figures()}", flush=True)


if __name__ == "__main__":
    main()
