"""Experiment (not product code): what limits the coverage of the shipped operating point.

For each knowledge base (built as `frontline kb build` builds it, default English encoder):

1. **Which constraint binds.** The test figures at the point each variant of the calibration
   chooses: shipped; the off-topic budget at 1% (the product's target) instead of 0.5%; no
   confidence bound; no off-topic budget; and an off-topic question "covered" when it is as
   close to its most probable article as that article's own typical (median) correctly
   answered held-out question, instead of the knowledge base's typical one.
2. **Other out-of-scope signals** (for understanding: AUROC of in-scope against unrelated
   test questions, and the ceiling, the most coverage a cut on probability and the signal
   reaches with precision >= 0.95 and <= 1% of unrelated questions answered, read off the test
   set): the similarity (shipped); the similarity minus the query's cosine to the nearest
   shipped off-topic question (a nearest-neighbour "background", the covered ones left out),
   whole or halved; the similarity minus the article's typical leave-one-out similarity of its
   own entries, whole or halved.
3. **Whether held-out questions are easier than customers'.** The held-out questions' cosine
   to their own article under the cross-validation against the test questions' cosine to
   theirs, and how many of each article's questions have a near-twin (cosine >= 0.9).

Run from the repository root:
    HF_HUB_OFFLINE=1 PYTHONPATH=. .venv/bin/python docs/experiments/operating_point_limits.py \
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

VARIANTS = {
    "shipped": calibration.Choice(),
    "off-topic budget 1%": calibration.Choice(off_topic_budget=0.01),
    "no confidence bound": calibration.Choice(z=0.0),
    "no off-topic budget": calibration.Choice(off_topic_budget=1.0),
}


def auroc(positive: np.ndarray, negative: np.ndarray) -> float:
    ranks = np.concatenate([positive, negative]).argsort().argsort() + 1
    n, m = len(positive), len(negative)
    return float((ranks[:n].sum() - n * (n + 1) / 2) / (n * m))


def ceiling(p: np.ndarray, signal: np.ndarray, right: np.ndarray, oos: np.ndarray) -> float:
    best = 0.0
    for a in np.unique(np.round(p, 3))[::5]:
        for f in np.quantile(signal, np.arange(0, 1.0, 0.005)):
            answered = (p >= a) & (signal >= f)
            if not answered.any() or answered[oos].mean() > 0.01:
                continue
            if (answered & right & ~oos).sum() / answered.sum() >= 0.95:
                best = max(best, (answered & ~oos).sum() / (~oos).sum())
    return best


def per_article_covered(cv: calibration.CrossValidation) -> calibration.OperatingPoint:
    """The shipped choice, with off-topic questions covered per article (see above)."""
    point = calibration.choose(cv)
    top, _ = cv.held_out.top(point.lexical_weight, point.temperature)
    similarity = cv.held_out.similarity[np.arange(len(top)), top]
    correct = top == cv.labels
    typical = np.full(cv.articles, np.median(similarity[correct]))
    for article in np.unique(cv.labels[correct]):
        typical[article] = np.median(similarity[correct & (cv.labels == article)])
    off_top, _ = cv.off_topic.top(point.lexical_weight, point.temperature)
    off_similarity = cv.off_topic.similarity[np.arange(len(off_top)), off_top]
    keep = off_similarity < typical[off_top]
    kept = calibration.Scored(
        cv.off_topic.logits[keep], cv.off_topic.lexical[keep], cv.off_topic.similarity[keep]
    )
    # Nothing more is covered: every kept question is below the highest typical similarity.
    return calibration.choose(replace(cv, off_topic=kept), calibration.Choice(covered_quantile=1.0))


def main() -> None:
    encoder = CachedEncoder(SentenceTransformerEncoder(MINILM), Path("var/embeddings"))
    off_texts = calibration.off_topic_questions()
    off_vectors = encoder.encode(off_texts)
    for dataset in sys.argv[1:]:
        articles, test = te.load(dataset)
        index, figures = benchmark.build_and_ask(articles, test, encoder)
        cv = index.cross_validation
        assert cv is not None and test.vectors is not None
        print(dataset, {k: round(figures[k], 4) for k in ("top1", "answered_precision")})
        # 1. The constraint that binds.
        points = {name: calibration.choose(cv, choice) for name, choice in VARIANTS.items()}
        points["per-article covered"] = per_article_covered(cv)
        # calibration_ablations asks at a fixed point for a variant of None: that one's.
        saved = benchmark.CALIBRATION_VARIANTS, benchmark.CLINC_TUNED
        benchmark.CALIBRATION_VARIANTS = {**VARIANTS, "per-article covered": None}
        benchmark.CLINC_TUNED = points["per-article covered"]
        table = benchmark.calibration_ablations(index, test)
        benchmark.CALIBRATION_VARIANTS, benchmark.CLINC_TUNED = saved
        for name, row in table.items():
            point = points[name]
            print(
                f"  {name:22s} test precision {row['answered_precision']:.3f} coverage "
                f"{row['coverage']:.3f} unrelated {row['unrelated_answered']:.4f} | chosen "
                f"answer {point.answer} floor {point.min_similarity}, expected precision "
                f"{point.expected_precision} (>= {point.expected_precision_lower}), coverage "
                f"{point.expected_coverage}, off-topic answered {point.off_topic_answered}"
            )
        # 2. Other out-of-scope signals.
        outcome = benchmark.run_queries(index, test)
        oos = np.array([label == benchmark.OOS for label in test.labels])
        right = np.array(
            [r[0] == label for r, label in zip(outcome.ranked, test.labels, strict=True)]
        )
        p, s = outcome.probabilities[:, 0], outcome.similarity[:, 0]
        queries = np.asarray(test.vectors)
        entries = np.asarray(index.vectors)
        covered = (off_vectors @ entries.T).max(axis=1) >= np.median(s[~oos & right])
        background = (queries @ off_vectors[~covered].T).max(axis=1)
        typical = {}
        for k, article in enumerate(index.articles):
            own = entries[index.article_starts[k] : index.article_ends[k]]
            cosines = own @ own.T
            np.fill_diagonal(cosines, -1)
            typical[article.id] = float(np.median(cosines.max(axis=1)))
        own_typical = np.array([typical[r[0]] for r in outcome.ranked])
        signals = {
            "similarity": s,
            "similarity - background": s - background,
            "similarity - background/2": s - background / 2,
            "similarity - article's typical": s - own_typical,
            "similarity - article's typical/2": s - own_typical / 2,
        }
        for name, signal in signals.items():
            print(
                f"  {name:34s} AUROC {auroc(signal[~oos], signal[oos]):.4f} "
                f"ceiling {ceiling(p, signal, right, oos):.3f}"
            )
        # 3. Held-out questions against customers'.
        labels = cv.labels
        held = cv.held_out.similarity[np.arange(len(labels)), labels]
        asked = []
        for i in np.flatnonzero(~oos):
            k = index.article_ids[test.labels[i]]
            own = entries[index.article_starts[k] : index.article_ends[k]]
            asked.append(float((own @ queries[i]).max()))
        twins = []
        for article in articles:
            vectors = encoder.encode(list(article.questions))
            cosines = vectors @ vectors.T
            np.fill_diagonal(cosines, -1)
            twins += list(cosines.max(axis=1) >= 0.9)
        print(
            f"  cosine to own article: held out {np.mean(held):.3f} (median "
            f"{np.median(held):.3f}), test {np.mean(asked):.3f} (median {np.median(asked):.3f}); "
            f"questions with a near-twin (>= 0.9) {np.mean(twins):.3f}"
        )
        sys.stdout.flush()


if __name__ == "__main__":
    main()
