"""A stand-in for `retrieval.tuning.TuningEncoder`: `tune` writes the texts it was given to
the model folder and records them (and the off-topic questions it was to push away), and the
"tuned" encoder is the hashing one, remembering the folder it was loaded from."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from tests.fakes import HashingEncoder


class FolderEncoder(HashingEncoder):
    name = "test:tuned"

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder
        # Read now, as the real one loads its weights now: the folder may be pruned later.
        self.groups = json.loads((folder / "groups.json").read_text(encoding="utf-8"))


class TuningHashingEncoder(HashingEncoder):
    name = "test:tuned"

    def __init__(self) -> None:
        super().__init__()
        self.tuned_on: list[list[list[str]]] = []
        self.pushed_away: list[list[str]] = []
        self.folders: list[Path] = []

    def encode(self, texts: Sequence[str]) -> object:
        raise TypeError("not tuned yet")

    def details(self) -> dict[str, object]:
        return {"tuning": "fake"}

    def tune(
        self, groups: Sequence[Sequence[str]], folder: Path, negatives: Sequence[str] = ()
    ) -> FolderEncoder:
        self.tuned_on.append([list(g) for g in groups])
        self.pushed_away.append(list(negatives))
        self.folders.append(folder)
        folder.mkdir(parents=True)
        (folder / "groups.json").write_text(json.dumps(self.tuned_on[-1]), encoding="utf-8")
        return FolderEncoder(folder)

    def load_tuned(self, folder: Path) -> FolderEncoder:
        return FolderEncoder(folder)

    def untuned(self) -> HashingEncoder:
        return HashingEncoder()


class TuningWithoutNegatives(TuningHashingEncoder):
    """A recipe with no untuned model to tell covered off-topic questions by: tuned on the
    articles' questions alone, as `auto-tuned` was before negatives."""

    untuned = None  # type: ignore[assignment]
