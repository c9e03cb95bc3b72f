"""Experiment (not product code): MiniLM fine-tuned on a knowledge base's own questions.

SetFit-style body tuning: pairs of questions of the same article, in-batch negatives
(symmetric InfoNCE at scale 20, one pair per article in a batch of up to 32 articles), AdamW
at 2e-5, a fixed number of steps, seed 13. The tuned model then goes through the shipped
pipeline (classifier, BM25, calibration) as a local sentence-transformers folder.

With `--cv` the calibration's cross-validation is replaced by one that tunes a model per
fold on that fold's training questions only, so the operating point is chosen as a new
knowledge base would choose it (no held-out question was seen by the model scoring it).
Without it the calibration's figures are optimistic; the test-set ceiling is not affected.
`--adapter linear` trains a linear map on the frozen MiniLM vectors instead of the model.

Prints the figures of `make eval` and the ceiling: the most in-scope coverage any cut on
top-1 probability and similarity gets with precision >= 0.95 and at most 1% (2%) of the
unrelated test questions answered, read off the test set itself (for understanding only).

Run from the repository root:
    HF_HUB_OFFLINE=1 PYTHONPATH=. .venv/bin/python docs/experiments/tuned_encoder.py clinc \
        --steps 100 --cv
Datasets: clinc, massive, starter (kb_content/'s English articles: the build's
expectations only), dom0..dom4 (the narrow knowledge bases of
retrieval/benchmark_domains.py). Data: FRONTLINE_CLINC150_PATH (data_full.json),
FRONTLINE_MASSIVE_PATH (folder), default ../shared/data/. Models and vectors go to
var/experiments/.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from retrieval import benchmark, calibration
from retrieval.alignment import unit
from retrieval.embedding_cache import CachedEncoder
from retrieval.encoder import MINILM, SentenceTransformerEncoder, packaged_model_path
from retrieval.tuning import Tuning, contrastive_steps, fine_tune

WORK = Path("var/experiments")
CLINC = Path(os.environ.get("FRONTLINE_CLINC150_PATH", "../shared/data/clinc150/data_full.json"))
MASSIVE = Path(os.environ.get("FRONTLINE_MASSIVE_PATH", "../shared/data/massive"))


def tuned_model(groups: list[list[str]], out: Path, steps: int) -> Path:
    """MiniLM fine-tuned on `groups` (each an article's texts) as the product tunes it
    (`retrieval.tuning.fine_tune`), saved at `out` once."""
    if not out.exists():
        fine_tune(packaged_model_path(), groups, out, Tuning(steps=steps))
    return out


class Adapted:
    """Frozen vectors through a map learnt on the knowledge base (`--adapter`)."""

    def __init__(self, base: Any, fn: Any, name: str) -> None:
        self.base, self.fn, self.name, self.dimension = base, fn, name, base.dimension

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self.base.encode(texts)
        if not len(vectors):
            return vectors
        with torch.no_grad():
            return unit(self.fn(torch.from_numpy(np.asarray(vectors))).numpy().astype(np.float32))


def linear_adapter(vectors: np.ndarray, groups: list[list[int]], steps: int) -> Any:
    lin = torch.nn.Linear(vectors.shape[1], vectors.shape[1])
    torch.nn.init.eye_(lin.weight)
    torch.nn.init.zeros_(lin.bias)
    x = torch.from_numpy(vectors)
    contrastive_steps(
        lambda rows: lin(x[rows]), lin.parameters(), groups, Tuning(steps=steps, learning_rate=1e-3)
    )
    return lin


def load(dataset: str) -> tuple[list[Any], benchmark.Split]:
    if dataset == "clinc":
        data = benchmark.load_clinc(CLINC)
        return benchmark.clinc_articles(data), benchmark._split(data, "test", "oos_test")
    if dataset.startswith("dom"):
        from retrieval import benchmark_domains

        data = benchmark.load_clinc(CLINC)
        kbs = benchmark_domains.domain_kbs(data, benchmark_domains.load_domains(CLINC))
        _, articles, test = kbs[int(dataset[3:])]
        return articles, test
    if dataset == "starter":
        # This project's English starter KB: no test questions, only what `kb build` expects.
        from retrieval.sources import load_articles

        english = [a for a in load_articles(Path("kb_content")) if a.lang == "en"]
        return english, benchmark.Split(["how do I reset my password"], [english[0].id])
    articles, test, _ = benchmark.massive_kb(benchmark.load_massive(MASSIVE))
    return articles, test


def ceiling(split: benchmark.Split, outcome: benchmark.Outcome, unrelated: float) -> float:
    oos = np.array([label == benchmark.OOS for label in split.labels])
    right = np.array([r[0] == label for r, label in zip(outcome.ranked, split.labels, strict=True)])
    p, s = outcome.probabilities[:, 0], outcome.similarity[:, 0]
    best = 0.0
    for a in np.unique(np.round(p, 3))[::5]:
        for f in np.arange(0, 0.95, 0.01):
            answered = (p >= a) & (s >= f)
            if answered[oos].mean() > unrelated or not answered.any():
                continue
            if (answered & right & ~oos).sum() / answered.sum() >= 0.95:
                best = max(best, (answered & ~oos).sum() / (~oos).sum())
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--cv", action="store_true")
    parser.add_argument("--adapter", choices=["linear"])
    args = parser.parse_args()
    articles, test = load(args.dataset)
    cache = WORK / "embeddings"
    base = CachedEncoder(SentenceTransformerEncoder(MINILM), cache)
    tag = f"{args.dataset}-{args.steps}"

    def grouped(entries: list[tuple[int, str]]) -> dict[int, list[int]]:
        groups: dict[int, list[int]] = {}
        for i, (owner, _) in enumerate(entries):
            groups.setdefault(owner, []).append(i)
        return groups

    def encoder_for(name: str, entries: list[tuple[int, str]]) -> Any:
        """Tuned on `entries` ((article, text) pairs): the model, or the adapter."""
        texts = [t for _, t in entries]
        groups = grouped(entries)
        if args.steps == 0:
            return base
        if args.adapter:
            index_groups = list(groups.values())
            return Adapted(
                base,
                linear_adapter(base.encode(texts), index_groups, args.steps),
                f"adapter-{name}",
            )
        path = tuned_model(
            [[texts[i] for i in g] for g in groups.values()],
            WORK / f"tuned-{tag}-{name}",
            args.steps,
        )
        return CachedEncoder(SentenceTransformerEncoder(str(path)), cache)

    encoder = encoder_for(
        "all", [(n, t) for n, a in enumerate(articles) for t in (a.title, *a.questions)]
    )
    if args.cv and args.steps:
        shipped = calibration.cross_validate

        def cross_validate(
            texts: Sequence[str],
            kinds: Sequence[str],
            vectors: np.ndarray,
            article: np.ndarray,
            n_articles: int,
            off_texts: Sequence[str],
            *rest: Any,
            **kw: Any,
        ) -> calibration.CrossValidation:
            def fold_vectors(fold: int, train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
                kept = [i for i in train.tolist() if kinds[i] in ("title", "question")]
                fold_encoder = encoder_for(
                    f"fold{fold}", [(int(article[i]), texts[i]) for i in kept]
                )
                return fold_encoder.encode(list(texts)), fold_encoder.encode(list(off_texts))

            kw.pop("fold_vectors", None)  # the index passes None for an untuned encoder
            return shipped(
                texts,
                kinds,
                vectors,
                article,
                n_articles,
                off_texts,
                *rest,
                fold_vectors=fold_vectors,
                **kw,
            )

        calibration.cross_validate = cross_validate
    index, figures = benchmark.build_and_ask(articles, test, encoder)
    outcome = benchmark.run_queries(index, test)
    keys = ("top1", "answered_precision", "coverage", "unrelated_answered", "coverage_at_p95")
    print(
        args,
        {k: figures[k] for k in keys},
        f"ceiling(<=1%) {ceiling(test, outcome, 0.01):.4f}",
        f"ceiling(<=2%) {ceiling(test, outcome, 0.02):.4f}",
    )
    assert index.operating_point is not None
    print(index.operating_point.summary())


if __name__ == "__main__":
    main()
