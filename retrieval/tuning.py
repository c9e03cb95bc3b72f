"""MiniLM fine-tuned on a knowledge base's own questions at build time (`auto-tuned`, opt-in).

SetFit-style body tuning: in each step, one pair of texts (title or question) from each of up
to 32 articles; the pairs of one article are pulled together and the other articles' pairs in
the batch pushed apart (symmetric InfoNCE, scale 20), AdamW at 2e-5, 100 steps, seed 13; and
32 of the shipped off-topic questions a step pushed away from every article (those the
knowledge base covers left out: retrieval.tuned_build). The index then embeds everything, and
the classifier, BM25 and calibration run, on the tuned model, which is saved inside the
index's version folder (`encoder/`) and served from there.

The calibration must not score held-out questions with a model that saw them: each of its
folds tunes a model of its own on that fold's training questions (`fold_vectors` of
`retrieval.calibration.cross_validate`), so a build is six fine-tunes. Measured as if each
knowledge base were new (`make eval`; docs/kb-engine.md, "Tuning the encoder to the
knowledge base"), against the default: CLINC150 top-1 0.922 → 0.935, unrelated questions
answered 0.7% → 0.4%, coverage 0.480 → 0.500; five narrow knowledge bases precision 0.968 →
0.979 and coverage 0.575 → 0.672 on average. The price is the build: a second or more per
step on two cores (CLINC150's index: 532 s), and 88 MB per index version. It is not the
default for that.
"""

from __future__ import annotations

import hashlib
import random
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The tuned model's folder inside an index version.
ENCODER_FOLDER = "encoder"


@dataclass(frozen=True)
class Tuning:
    steps: int = 100
    batch: int = 32
    scale: float = 20.0
    learning_rate: float = 2e-5
    seed: int = 13
    # Off-topic questions pushed away from every article in each step (`negatives` of
    # `contrastive_steps`); 0 tunes on the articles' questions alone.
    negatives: int = 32


def contrastive_steps(
    embed: Callable[[list[Any]], Any],
    parameters: Iterable[Any],
    groups: Sequence[Sequence[Any]],
    tuning: Tuning,
    negatives: Sequence[Any] = (),
) -> None:
    """`tuning.steps` of symmetric InfoNCE on `parameters`: one (anchor, positive) pair per
    group in a batch of up to `tuning.batch` groups; `embed` maps a list of group members to
    a tensor of vectors. Up to `tuning.negatives` of `negatives` (off-topic questions) a step
    are extra columns each side of a pair must score below its partner: pushed away from
    every article."""
    import torch

    usable = [list(g) for g in groups if len(g) >= 2]
    if not usable or not tuning.steps:
        return
    pool = list(negatives) if tuning.negatives else []
    rng = random.Random(tuning.seed)
    torch.manual_seed(tuning.seed)
    optimiser = torch.optim.AdamW(parameters, lr=tuning.learning_rate)
    normalize, cross_entropy = torch.nn.functional.normalize, torch.nn.functional.cross_entropy
    for _ in range(tuning.steps):
        pairs = [rng.sample(g, 2) for g in rng.sample(usable, min(tuning.batch, len(usable)))]
        pushed = rng.sample(pool, min(tuning.negatives, len(pool))) if pool else []
        anchors = normalize(embed([p[0] for p in pairs]), dim=-1)
        positives = normalize(embed([p[1] for p in pairs]), dim=-1)
        target = torch.arange(len(pairs))
        if pushed:
            away = normalize(embed(pushed), dim=-1)
            loss = (
                cross_entropy(anchors @ torch.cat([positives, away]).T * tuning.scale, target)
                + cross_entropy(positives @ torch.cat([anchors, away]).T * tuning.scale, target)
            ) / 2
        else:
            similarity = anchors @ positives.T * tuning.scale
            loss = (cross_entropy(similarity, target) + cross_entropy(similarity.T, target)) / 2
        optimiser.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        optimiser.step()


def fine_tune(
    base: Path,
    groups: Sequence[Sequence[str]],
    out: Path,
    tuning: Tuning,
    negatives: Sequence[str] = (),
) -> Path:
    """The sentence-transformers model in `base` tuned on `groups` (each an article's titles
    and questions) and away from `negatives` (off-topic questions), saved at `out`."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(base), device="cpu")
    model.train()
    # `tokenize` was renamed `preprocess` in sentence-transformers 6 (the old name warns).
    prepare = getattr(model, "preprocess", None) or model.tokenize
    contrastive_steps(
        lambda texts: model(prepare(texts))["sentence_embedding"],
        model.parameters(),
        groups,
        tuning,
        negatives,
    )
    model.eval()
    if out.exists():
        shutil.rmtree(out)
    model.save(str(out))
    return out


def folder_sha256(folder: Path) -> str:
    """One digest of a model folder's files (names and contents), for the manifest."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        with path.open("rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()
