"""Experiment (not product code): answer only when the classifier and the nearest entry agree.

The shipped decision answers when the most probable article (classifier logits plus BM25,
softmax) is probable enough and its closest entry is close enough. This adds one condition:
the most probable article must also be the article of the nearest entry of the whole
knowledge base (the plain nearest-neighbour recipe's answer). Two scorers that agree are
wrong less often, and an unrelated question's nearest entry and classifier top often differ.

For each knowledge base (built as `frontline kb build` builds it, default English encoder):

1. **Calibrated, as a new KB would be.** The calibration's own choice (`calibration.choose`)
   on held-out and off-topic questions whose classifier and nearest entry disagree made
   unanswerable (their similarities set below any floor), then the test figures at that
   point beside the shipped point's. Nothing is read off the test questions.
2. **For understanding only**, read off the test set: the share of in-scope and unrelated
   test questions on which the two agree, and the ceiling (the most coverage any cut on
   probability and similarity reaches with precision >= 0.95 and <= 1% unrelated answered)
   with and without the condition.

Run from the repository root:
    HF_HUB_OFFLINE=1 PYTHONPATH=. .venv/bin/python docs/experiments/agreement_gate.py \
        clinc massive dom0 dom1 dom2 dom3 dom4
Datasets as in tuned_encoder.py.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

import tuned_encoder as te

from retrieval import benchmark, calibration
from retrieval.embedding_cache import CachedEncoder
from retrieval.encoder import MINILM, SentenceTransformerEncoder


def agreeing(scored: calibration.Scored, weight: float) -> np.ndarray:
    """Rows whose most probable article is also the article of their nearest entry."""
    return scored.max_logit_article(weight) == scored.similarity.argmax(axis=1)


def gated(scored: calibration.Scored, weight: float) -> calibration.Scored:
    """The same scores, with the rows that disagree unable to pass any similarity floor."""
    similarity = scored.similarity.copy()
    similarity[~agreeing(scored, weight)] = -1.0
    return calibration.Scored(scored.logits, scored.lexical, similarity)


def figures(
    scored: calibration.Scored, point: calibration.OperatingPoint, labels: np.ndarray
) -> tuple[float, float, float]:
    """(precision, coverage, unrelated answered) at `point`; label -1 is unrelated."""
    top, confidence = scored.top(point.lexical_weight, point.temperature)
    similarity = scored.similarity[np.arange(len(top)), top]
    answered = (confidence >= point.answer) & (similarity >= point.min_similarity)
    oos = labels < 0
    right = answered & (top == labels)  # an unrelated question answered is wrong
    return (
        float(right.sum() / max(answered.sum(), 1)),
        float(answered[~oos].mean()),
        float(answered[oos].mean()),
    )


def ceiling(
    p: np.ndarray,
    s: np.ndarray,
    right: np.ndarray,
    oos: np.ndarray,
    allowed: np.ndarray,
    unrelated: float = 0.01,
) -> float:
    best = 0.0
    for a in np.unique(np.round(p, 3))[::5]:
        for f in np.quantile(s, np.arange(0, 1.0, 0.005)):
            answered = (p >= a) & (s >= f) & allowed
            if not answered.any() or answered[oos].mean() > unrelated:
                continue
            if (answered & right & ~oos).sum() / answered.sum() >= 0.95:
                best = max(best, (answered & ~oos).sum() / (~oos).sum())
    return best


def main() -> None:
    encoder = CachedEncoder(SentenceTransformerEncoder(MINILM), Path("var/embeddings"))
    for dataset in sys.argv[1:]:
        articles, test = te.load(dataset)
        index, _ = benchmark.build_and_ask(articles, test, encoder)
        cv = index.cross_validation
        shipped = index.operating_point
        assert cv is not None and test.vectors is not None and shipped is not None
        scored = benchmark.scored_split(index, test)
        ids = {a.id: k for k, a in enumerate(index.articles)}
        labels = np.array([ids.get(label, -1) for label in test.labels])
        oos = labels < 0
        # 1. Calibrated with the condition (the BM25 weight and temperature as shipped:
        # the condition does not change them).
        weight = shipped.lexical_weight
        with_gate = replace(
            cv, held_out=gated(cv.held_out, weight), off_topic=gated(cv.off_topic, weight)
        )
        point = calibration.choose(
            with_gate, calibration.Choice(scorer=(weight, shipped.temperature))
        )
        print(dataset, flush=True)
        for name, chosen, test_scores in (
            ("shipped", shipped, scored),
            ("agreement required", point, gated(scored, weight)),
        ):
            precision, coverage, unrelated = figures(test_scores, chosen, labels)
            print(
                f"  {name:20s} test precision {precision:.3f} coverage {coverage:.3f} "
                f"unrelated {unrelated:.4f} | chosen answer {chosen.answer} floor "
                f"{chosen.min_similarity}, expected precision {chosen.expected_precision}, "
                f"coverage {chosen.expected_coverage}, off-topic {chosen.off_topic_answered}"
            )
        # 2. For understanding, off the test set.
        agree = agreeing(scored, weight)
        held_agree = agreeing(cv.held_out, weight)
        top, p = scored.top(weight, shipped.temperature)
        s = scored.similarity[np.arange(len(top)), top]
        right = top == labels
        print(
            f"  agree: held-out {held_agree.mean():.3f}, test in scope {agree[~oos].mean():.3f} "
            f"(right when agreeing {right[~oos & agree].mean():.3f}, otherwise "
            f"{right[~oos & ~agree].mean():.3f}), unrelated {agree[oos].mean():.3f}; ceiling "
            f"{ceiling(p, s, right, oos, np.ones_like(agree))} -> "
            f"{ceiling(p, s, right, oos, agree)} with the condition",
            flush=True,
        )


if __name__ == "__main__":
    main()
