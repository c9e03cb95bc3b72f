"""Diagnostic (not product code): the classifier's C on every benchmark knowledge base.

C = 20 (`retrieval/classifier.py`) was chosen on CLINC150's validation split, where C = 10-50
is a plateau: the one constant left from that tuning. This builds each knowledge base as
`kb build` does with other values of C (everything else shipped, calibration included) and
prints the cross-validation's held-out top-1 and log-likelihood (what a per-knowledge-base
choice of C could go by) beside the test figures at the point the build chose.

Run from the repository root:
    HF_HUB_OFFLINE=1 PYTHONPATH=. .venv/bin/python docs/experiments/classifier_c.py \
        5,20,80 dom0 dom1 dom2 dom3 dom4 clinc massive
Datasets as in tuned_encoder.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import as_new

from retrieval import classifier


def main() -> None:
    encoder = as_new.minilm()
    for c in [float(c) for c in sys.argv[1].split(",")]:
        classifier.REGULARISATION_C = c  # read at each fit
        for dataset in sys.argv[2:]:
            built = as_new.build(dataset, encoder)
            cv, point = built.cv, built.point
            weight, temperature = point.lexical_weight, point.temperature
            held_top1 = float((cv.held_out.max_logit_article(weight) == cv.labels).mean())
            nll = cv.held_out.mean_nll(cv.labels, weight, temperature)
            print(
                f"C={c:g} {dataset}: held-out top-1 {held_top1:.3f} nll {nll:.3f} | "
                f"{built.figures()}",
                flush=True,
            )


if __name__ == "__main__":
    main()
