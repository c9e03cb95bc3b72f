"""Experiment (not product code): the shipped off-topic questions as negatives in the tuning.

Since shipped in `auto-tuned` (retrieval/tuning.py, retrieval/tuned_build.py); on CLINC150
the product's build gives this script's figures and operating point exactly.

`auto-tuned` pulls each article's questions together and pushes other articles' apart. This
also pushes the shipped off-topic questions (`retrieval/data/off_topic_en*.txt`) away from
every article: in each step, up to `--negatives` of them (32) are extra columns every
anchor must score below its positive (symmetric InfoNCE, scale 20, AdamW 2e-5, 100 steps,
seed 13, as `retrieval/tuning.py`). Off-topic questions the knowledge base covers are not
used: those as close to it as the median correctly answered held-out question under the
untuned MiniLM (the calibration's "covered" rule).

Calibrated as a new knowledge base would be: the off-topic questions are dealt into 5 folds
too (seed 13). Fold k's model is tuned on fold k's training questions and on the off-topic
questions outside off-topic fold k, and scores only off-topic fold k, so no held-out question
and no off-topic question the calibration counts was seen by the model scoring it. The
final model is tuned on every question and every (not covered) off-topic question.

Prints the figures of `make eval` and the ceiling read off the test set (for understanding
only), as tuned_encoder.py does. With `--ceiling-only`, one model tuned on everything and
the shipped calibration (its figures optimistic; the ceiling is not affected).

Run from the repository root:
    HF_HUB_OFFLINE=1 PYTHONPATH=. .venv/bin/python docs/experiments/off_topic_negatives.py dom3
Datasets as in tuned_encoder.py. Models go to var/experiments/.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

import tuned_encoder as te

from retrieval import benchmark, calibration, classifier
from retrieval.calibration import CrossValidation, LexicalIndex, _Fitted, _Gathered, assign_folds
from retrieval.embedding_cache import CachedEncoder
from retrieval.encoder import MINILM, SentenceTransformerEncoder, packaged_model_path
from retrieval.tokenize import tokenize

FOLDS = 5
SEED = 13


def tune_with_negatives(
    groups: Sequence[Sequence[str]], negatives: Sequence[str], out: Path, steps: int, per_step: int
) -> Path:
    """MiniLM tuned on `groups` (each an article's texts) with `negatives` pushed away from
    every article, saved at `out` once."""
    import torch
    from sentence_transformers import SentenceTransformer

    if out.exists():
        return out
    model = SentenceTransformer(str(packaged_model_path()), device="cpu")
    model.train()
    prepare = getattr(model, "preprocess", None) or model.tokenize

    def embed(texts: list[str]) -> Any:
        vectors = model(prepare(texts))["sentence_embedding"]
        return torch.nn.functional.normalize(vectors, dim=-1)

    usable = [list(g) for g in groups if len(g) >= 2]
    rng = random.Random(SEED)
    torch.manual_seed(SEED)
    optimiser = torch.optim.AdamW(model.parameters(), lr=2e-5)
    cross_entropy = torch.nn.functional.cross_entropy
    for _ in range(steps):
        pairs = [rng.sample(g, 2) for g in rng.sample(usable, min(32, len(usable)))]
        pushed = rng.sample(list(negatives), min(per_step, len(negatives))) if per_step else []
        anchors, positives = embed([p[0] for p in pairs]), embed([p[1] for p in pairs])
        target = torch.arange(len(pairs))
        if pushed:
            away = embed(pushed)
            loss = (
                cross_entropy(anchors @ torch.cat([positives, away]).T * 20, target)
                + cross_entropy(positives @ torch.cat([anchors, away]).T * 20, target)
            ) / 2
        else:
            similarity = anchors @ positives.T * 20
            loss = (cross_entropy(similarity, target) + cross_entropy(similarity.T, target)) / 2
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    model.eval()
    model.save(str(out))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset")
    parser.add_argument("--negatives", type=int, default=32, help="off-topic questions a step")
    parser.add_argument("--ceiling-only", action="store_true")
    args = parser.parse_args()
    articles, test = te.load(args.dataset)
    cache = te.WORK / "embeddings"
    base = CachedEncoder(SentenceTransformerEncoder(MINILM), cache)

    # The off-topic questions the untuned knowledge base covers (the shipped rule).
    untuned, _ = benchmark.build_and_ask(articles, test, base)
    cv0, point0 = untuned.cross_validation, untuned.operating_point
    assert cv0 is not None and point0 is not None
    top, _ = cv0.held_out.top(point0.lexical_weight, point0.temperature)
    similarity = cv0.held_out.similarity[np.arange(len(top)), top]
    median = float(np.quantile(similarity[top == cv0.labels], 0.5))
    off = calibration.off_topic_questions(["en"])
    usable = np.asarray(cv0.off_topic_similarity) < median
    off_fold = np.arange(len(off)) % FOLDS
    np.random.default_rng(SEED).shuffle(off_fold)
    print(args.dataset, f"{int(usable.sum())} of {len(off)} off-topic questions as negatives")
    tag = f"{'negtune' if args.ceiling_only else 'negcv'}-{args.dataset}-{args.negatives}"

    def tuned(name: str, groups: Sequence[Sequence[str]], negatives: Sequence[str]) -> Any:
        folder = te.WORK / f"{tag}-{name}"
        path = tune_with_negatives(groups, negatives, folder, 100, args.negatives)
        return CachedEncoder(SentenceTransformerEncoder(str(path)), cache)

    final = tuned(
        "all",
        [[a.title, *a.questions] for a in articles],
        [q for q, u in zip(off, usable, strict=True) if u],
    )

    def cross_validate(
        entry_texts: Sequence[str],
        entry_kinds: Sequence[str],
        entry_vectors: np.ndarray,
        entry_article: np.ndarray,
        n_articles: int,
        off_topic_texts: Sequence[str],
        off_topic_vectors: np.ndarray,
        **_: Any,
    ) -> CrossValidation:
        assert list(off_topic_texts) == off
        fold_of = assign_folds(entry_kinds, entry_article, folds=FOLDS, seed=SEED)
        tokens = [tokenize(t) for t in entry_texts]
        entries = np.asarray(entry_vectors, dtype=np.float32)
        off_similarity = (np.asarray(off_topic_vectors, dtype=np.float32) @ entries.T).max(axis=1)
        held, scored_off = _Gathered(int((fold_of >= 0).sum())), _Gathered(len(off))
        labels = []
        for fold in range(FOLDS):
            rows, train = np.flatnonzero(fold_of == fold), np.flatnonzero(fold_of != fold)
            groups: dict[int, list[str]] = {}
            for i in train.tolist():
                if entry_kinds[i] in ("title", "question"):
                    groups.setdefault(int(entry_article[i]), []).append(entry_texts[i])
            negatives = [
                q for q, u, f in zip(off, usable, off_fold, strict=True) if u and f != fold
            ]
            encoder = tuned(f"fold{fold}", list(groups.values()), negatives)
            vectors = encoder.encode(list(entry_texts))
            own_off = [q for q, f in zip(off, off_fold, strict=True) if f == fold]
            train_vectors, train_article = vectors[train], entry_article[train]
            weights, bias, _ = classifier.fit(train_vectors, train_article, n_articles)
            starts = np.searchsorted(train_article, np.arange(n_articles))
            lexical = LexicalIndex.from_tokens([tokens[i] for i in train.tolist()])
            fitted = _Fitted(weights, bias, lexical, train_vectors, starts)
            held.add(fitted.score([entry_texts[i] for i in rows.tolist()], vectors[rows]))
            labels.append(entry_article[rows])
            scored_off.add(fitted.score(own_off, encoder.encode(own_off)))
        return CrossValidation(
            held.result(),
            np.concatenate(labels).astype(np.int64),
            scored_off.result(),
            n_articles,
            off_similarity,
        )

    if not args.ceiling_only:
        calibration.cross_validate = cross_validate  # type: ignore[assignment]
    index, figures = benchmark.build_and_ask(articles, test, final)
    outcome = benchmark.run_queries(index, test)
    keys = ("top1", "answered_precision", "coverage", "unrelated_answered")
    print(
        args,
        {k: round(figures[k], 4) for k in keys},
        f"ceiling(<=1%) {te.ceiling(test, outcome, 0.01):.4f}",
    )
    assert index.operating_point is not None
    print(index.operating_point.summary())


if __name__ == "__main__":
    main()
