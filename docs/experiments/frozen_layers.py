"""Experiment (not product code): the tuned encoder with only its top layers tuned.

The opt-in `auto-tuned` fine-tunes all of MiniLM's six layers, six times a build (one model
per calibration fold and one on everything; `retrieval/tuning.py`). Here the token embeddings
and the bottom `--frozen` layers (4 by default) stay as they are: their output for each text
is computed once, and each training step runs only the layers above, on those outputs
(padding masked as the model masks it, tokens mean-pooled as the model pools them). The recipe
is otherwise the product's (`Tuning()`: 100 steps, batch 32, scale 20, AdamW 2e-5, seed 13),
and the build is the product's (`KnowledgeIndex.build` with `TuningEncoder`, the per-fold
tuning included); only `fine_tune` is replaced.

Before anything else the script checks that the top layers run on the cached outputs give the
model's own vectors (texts of different lengths in one batch).

    HF_HUB_OFFLINE=1 PYTHONPATH=. .venv/bin/python docs/experiments/frozen_layers.py \
        dom0 dom1 dom2 dom3 dom4 clinc massive
    HF_HUB_OFFLINE=1 PYTHONPATH=. .venv/bin/python docs/experiments/frozen_layers.py --time clinc

`--time` tunes one model on the knowledge base's titles and questions with every layer, then
with the bottom layers frozen, in one run, and prints both times. Datasets as in
tuned_encoder.py. Tuned models go to a temporary folder.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

import tuned_encoder as te

from retrieval import benchmark
from retrieval import encoder as encoder_module
from retrieval.encoder import TuningEncoder, packaged_model_path
from retrieval.tuning import Tuning, contrastive_steps, fine_tune


def top_layers(
    model: Any, prepare: Callable[[list[str]], Any], texts: Sequence[str], frozen: int
) -> Callable[[list[str]], Any]:
    """An `embed` for `contrastive_steps` that runs only the layers above the `frozen` bottom
    ones, from their outputs computed once per text; those layers and the token embeddings
    stop taking gradients. The model mean-pools its tokens (all-MiniLM-L6-v2 does), and so
    does this; `check` shows that both give the same vectors."""
    import torch

    bert = model[0].auto_model
    layers = bert.encoder.layer
    for module in (bert.embeddings, *layers[:frozen]):
        for parameter in module.parameters():
            parameter.requires_grad = False

    def run(stack: Any, hidden: Any, mask: Any) -> Any:
        # Padding is masked by adding a large negative to its attention scores.
        additive = (1.0 - mask[:, None, None, :].to(hidden.dtype)) * torch.finfo(hidden.dtype).min
        for layer in stack:
            out = layer(hidden, attention_mask=additive)
            hidden = out[0] if isinstance(out, tuple) else out
        return hidden

    bottom: dict[str, Any] = {}
    bert.eval()  # the frozen part without dropout: its outputs are computed once
    with torch.no_grad():
        unique = sorted(set(texts))
        for start in range(0, len(unique), 64):
            chunk = unique[start : start + 64]
            features = prepare(chunk)
            mask = features["attention_mask"]
            hidden = bert.embeddings(
                input_ids=features["input_ids"], token_type_ids=features.get("token_type_ids")
            )
            hidden = run(layers[:frozen], hidden, mask)
            for row, text in enumerate(chunk):
                bottom[text] = hidden[row, : int(mask[row].sum())]
    bert.train()

    def embed(batch: list[str]) -> Any:
        width = max(bottom[t].shape[0] for t in batch)
        hidden = torch.zeros(len(batch), width, bottom[batch[0]].shape[1])
        mask = torch.zeros(len(batch), width, dtype=torch.long)
        for row, text in enumerate(batch):
            hidden[row, : bottom[text].shape[0]] = bottom[text]
            mask[row, : bottom[text].shape[0]] = 1
        hidden = run(layers[frozen:], hidden, mask)
        weights = mask[:, :, None].to(hidden.dtype)
        return (hidden * weights).sum(dim=1) / weights.sum(dim=1)

    return embed


def preparer(model: Any) -> Callable[[list[str]], Any]:
    return getattr(model, "preprocess", None) or model.tokenize


def fine_tune_top(
    base: Path, groups: Sequence[Sequence[str]], out: Path, tuning: Tuning, frozen: int
) -> Path:
    """`retrieval.tuning.fine_tune` with the bottom `frozen` layers kept."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(base), device="cpu")
    model.train()
    embed = top_layers(model, preparer(model), [t for g in groups for t in g], frozen)
    contrastive_steps(embed, [p for p in model.parameters() if p.requires_grad], groups, tuning)
    model.eval()
    if out.exists():
        shutil.rmtree(out)
    model.save(str(out))
    return out


def check(frozen: int) -> None:
    import torch
    from sentence_transformers import SentenceTransformer

    texts = ["hi", "I can't log in", "where is the invoice for last month, and the one before?"]
    model = SentenceTransformer(str(packaged_model_path()), device="cpu")
    expected = model.encode(texts, normalize_embeddings=True)
    embed = top_layers(model, preparer(model), texts, frozen)
    model.eval()
    with torch.no_grad():
        vectors = torch.nn.functional.normalize(embed(texts), dim=-1).numpy()
    gap = float(np.abs(vectors - expected).max())
    assert gap < 1e-5, gap
    print(f"top layers above {frozen} on cached outputs: largest difference {gap:.1e}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("datasets", nargs="+")
    parser.add_argument("--frozen", type=int, default=4)
    parser.add_argument("--time", action="store_true")
    args = parser.parse_args()
    check(args.frozen)
    for dataset in args.datasets:
        articles, test = te.load(dataset)
        if args.time:
            groups = [[a.title, *a.questions] for a in articles]
            with tempfile.TemporaryDirectory() as work:
                started = time.perf_counter()
                fine_tune(packaged_model_path(), groups, Path(work) / "all", Tuning())
                every = time.perf_counter() - started
                started = time.perf_counter()
                fine_tune_top(
                    packaged_model_path(), groups, Path(work) / "top", Tuning(), args.frozen
                )
                top = time.perf_counter() - started
            print(
                f"{dataset}: one fine-tune, every layer {every:.1f} s, bottom {args.frozen} "
                f"frozen {top:.1f} s ({every / top:.2f}x)",
                flush=True,
            )
            continue
        encoder_module.fine_tune = lambda base, groups, out, tuning: fine_tune_top(  # type: ignore[assignment]
            base, groups, out, tuning, args.frozen
        )
        started = time.perf_counter()
        index, figures = benchmark.build_and_ask(articles, test, TuningEncoder())
        seconds = time.perf_counter() - started
        outcome = benchmark.run_queries(index, test)
        keys = ("top1", "answered_precision", "coverage", "unrelated_answered", "coverage_at_p95")
        print(
            dataset,
            f"bottom {args.frozen} frozen",
            {k: round(figures[k], 4) for k in keys},
            f"ceiling(<=1%) {te.ceiling(test, outcome, 0.01):.4f}",
            f"built in {seconds:.0f} s",
            flush=True,
        )


if __name__ == "__main__":
    main()
