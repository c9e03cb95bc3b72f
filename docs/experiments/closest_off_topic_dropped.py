"""Diagnostic (not product code): what if the off-topic questions closest to a knowledge base
were all ones it answers?

`kb build` names the shipped off-topic questions the knowledge base is surest of and advises
adding any it does answer to that article, where the "covered" rule then leaves them out of
the off-topic budget. On CLINC150's narrow knowledge bases most of those just under the
covered line are in the knowledge base's domain ("will it rain tomorrow" for one with a
Weather article). This measures the most that advice could buy: the N closest (not covered)
off-topic questions, as `calibration.coverage_limits` ranks them, are taken out of the
calibration as if each had been found answered, the point is chosen again, and the test
questions are asked at it. Nothing is chosen on the test questions; the figures say how far
the test set's own unrelated questions follow when the budget is eased this way.

Run from the repository root:
    HF_HUB_OFFLINE=1 PYTHONPATH=. .venv/bin/python docs/experiments/closest_off_topic_dropped.py \
        dom0 dom1 dom2 dom3 dom4 clinc massive
Datasets as in tuned_encoder.py.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

import as_new

from retrieval import benchmark, calibration
from retrieval.calibration import CrossValidation, Scored

DROPPED = (3, 10, 20, 40)


def without(cv: CrossValidation, questions: set[int]) -> CrossValidation:
    """`cv` with those off-topic questions gone (rows are fold after fold of all of them)."""
    n = len(cv.off_topic_similarity)
    rows = np.array([row % n not in questions for row in range(len(cv.off_topic.logits))])
    scored = cv.off_topic
    return replace(
        cv,
        off_topic=Scored(scored.logits[rows], scored.lexical[rows], scored.similarity[rows]),
        off_topic_similarity=cv.off_topic_similarity[[q not in questions for q in range(n)]],
    )


def main() -> None:
    encoder = as_new.minilm()
    for dataset in sys.argv[1:]:
        built = as_new.build(dataset, encoder)
        cv, index, test = built.cv, built.index, built.test
        limits = calibration.coverage_limits(cv, built.point, closest=max(DROPPED))
        closest = [question for question, _, _ in limits.closest_off_topic]
        scores = benchmark.scored_split(index, test)
        labels, n = as_new.test_labels(index, test), len(index.articles)
        print(f"{dataset} shipped: {built.figures()}", flush=True)
        for dropped in DROPPED:
            chosen = calibration.choose(without(cv, set(closest[:dropped])))
            line = as_new.figures_line(scores, chosen, labels, n)
            print(f"{dataset} closest {dropped} dropped: {line}", flush=True)


if __name__ == "__main__":
    main()
