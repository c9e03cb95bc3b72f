"""A build's encoder tuned to its knowledge base (`auto-tuned`; retrieval.tuning says how and
what it costs): the final model, tuned on every title and question, and one per calibration
fold, tuned on that fold's training entries only.

Off-topic questions as negatives: each fine-tune also pushes the shipped off-topic questions
away from every article, except those the knowledge base covers (as close to it, under the
untuned model, as its typical correctly answered held-out question: the calibration's own
"covered" rule). The calibration counts each off-topic question once, under the one fold
model that was not pushed away from it: the questions are dealt into the calibration's
folds, and fold k's model is tuned away from every other fold's. So no question the
calibration counts, held-out or off-topic, was seen by the model that scores it.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from retrieval import calibration
from retrieval.encoder import Encoder
from retrieval.tuning import ENCODER_FOLDER, folder_sha256


@dataclass(frozen=True)
class TuningEntries:
    """The entries of a build, as the tuning needs them (in the index's order)."""

    texts: Sequence[str]
    kinds: Sequence[str]  # "title", "question" or "chunk"
    articles: np.ndarray  # each entry's article position; an article's entries are adjacent


@dataclass(frozen=True)
class Negatives:
    """The off-topic questions the fine-tunes push away, and each one's calibration fold."""

    texts: list[str]
    used: np.ndarray  # (off-topic questions,) bool: pushed away (not covered)
    folds: np.ndarray  # (off-topic questions,) the fold that scores it

    def outside(self, fold: int) -> list[str]:
        """Those a fold's model may be tuned away from: none it scores."""
        return [
            t for t, u, f in zip(self.texts, self.used, self.folds, strict=True) if u and f != fold
        ]

    def every(self) -> list[str]:
        return [t for t, u in zip(self.texts, self.used, strict=True) if u]


class TunedBuild:
    """Made by `start` when the build's encoder is a recipe (has `tune`); `final` is the tuned
    model, kept in `folder` (a temporary folder removed with this object)."""

    def __init__(
        self,
        tune: Callable[..., Encoder],
        entries: TuningEntries,
        negatives: Negatives | None,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self._tune = tune
        self._entries = entries
        self.negatives = negatives
        self._say = say
        self._tuned = 0
        self.work = Path(tempfile.mkdtemp(prefix="frontline-tuning-"))
        # Gone with this object (a failed build's too); a built index keeps it until then.
        weakref.finalize(self, shutil.rmtree, self.work, True)
        self.folder = self.work / ENCODER_FOLDER
        self._seconds = 0.0
        self.final = self._timed(None, self.folder, range(len(entries.texts)))

    @classmethod
    def start(
        cls,
        encoder: Encoder,
        entries: TuningEntries,
        off_topic: Sequence[str],
        say: Callable[[str], None] | None = None,
    ) -> TunedBuild | None:
        """`say`, when given, is told of each fine-tune as it ends (they take minutes)."""
        tune = getattr(encoder, "tune", None)
        if not callable(tune):
            return None
        started = time.perf_counter()
        untuned = getattr(encoder, "untuned", None)
        negatives = (
            choose_negatives(untuned(), entries, off_topic)
            if callable(untuned) and off_topic
            else None
        )
        chosen = time.perf_counter() - started
        build = cls(tune, entries, negatives, say)
        build._seconds += chosen
        return build

    @property
    def off_topic_folds(self) -> np.ndarray | None:
        """For `calibration.cross_validate`: each off-topic question's fold, when the
        fine-tunes were pushed away from them."""
        return None if self.negatives is None else self.negatives.folds

    def fold_vectors(self, off_texts: Sequence[str]) -> calibration.FoldVectors:
        texts = list(self._entries.texts)

        def vectors(fold: int, train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            folder = self.work / f"fold{fold}"
            fold_encoder = self._timed(fold, folder, train.tolist())
            try:
                return fold_encoder.encode(texts), fold_encoder.encode(list(off_texts))
            finally:
                shutil.rmtree(folder, ignore_errors=True)

        return vectors

    def summary(self) -> dict[str, Any]:
        summary: dict[str, Any] = {
            "folder": ENCODER_FOLDER,
            "sha256": folder_sha256(self.folder),
            "seconds": round(self._seconds, 1),
        }
        if self.negatives is not None:
            summary["off_topic_negatives"] = int(self.negatives.used.sum())
            summary["off_topic_covered"] = int((~self.negatives.used).sum())
        return summary

    def _timed(self, fold: int | None, folder: Path, rows: Sequence[int] | range) -> Encoder:
        """A model tuned on the titles and questions among `rows` (and, with negatives, away
        from those `fold` does not score; every one for the final model)."""
        started = time.perf_counter()
        groups = tuning_groups(self._entries, rows)
        if self.negatives is None:
            tuned = self._tune(groups, folder)
        else:
            pushed = self.negatives.every() if fold is None else self.negatives.outside(fold)
            tuned = self._tune(groups, folder, pushed)
        seconds = time.perf_counter() - started
        self._seconds += seconds
        self._tuned += 1
        if self._say is not None:
            what = "on every question" if fold is None else f"for calibration fold {fold + 1}"
            self._say(
                f"Tuned model {self._tuned} of {1 + calibration.FOLDS} ({what}) in {seconds:.0f} s"
            )
        return tuned


def choose_negatives(
    untuned: Encoder, entries: TuningEntries, off_topic: Sequence[str]
) -> Negatives | None:
    """The off-topic questions to push away and their folds; None (tune without) when the
    knowledge base is too small for every calibration fold to hold out a question, or the
    untuned model answers none of them right, so what it covers cannot be told."""
    fold_of = calibration.assign_folds(entries.kinds, entries.articles)
    if any(not (fold_of == fold).any() for fold in range(calibration.FOLDS)):
        return None
    cv = calibration.cross_validate(
        entries.texts,
        entries.kinds,
        untuned.encode(list(entries.texts)),
        entries.articles,
        int(entries.articles.max()) + 1,
        off_topic,
        untuned.encode(list(off_topic)),
    )
    covered = calibration.covered_off_topic(cv)
    if covered is None:
        return None
    return Negatives(list(off_topic), ~covered, deal_folds(len(off_topic)))


def deal_folds(
    n: int, *, folds: int = calibration.FOLDS, seed: int = calibration.SEED
) -> np.ndarray:
    """`n` questions dealt evenly round `folds` folds, in a shuffled order."""
    dealt = np.arange(n) % folds
    np.random.default_rng(seed).shuffle(dealt)
    return dealt


def tuning_groups(entries: TuningEntries, rows: Sequence[int] | range) -> list[list[str]]:
    """Each article's titles and questions among `rows` (its translations' too), the texts an
    encoder is tuned on; sections are left out (they answer questions, they do not ask
    them)."""
    groups: dict[int, list[str]] = {}
    for i in rows:
        if entries.kinds[i] in ("title", "question"):
            groups.setdefault(int(entries.articles[i]), []).append(entries.texts[i])
    return list(groups.values())
