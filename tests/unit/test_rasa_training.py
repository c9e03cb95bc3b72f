from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from api.rasa_process import RasaError, model_path, train, training_fingerprint
from tests.fakes.paths import ROOT


@pytest.fixture
def bot_dir(tmp_path: Path) -> Path:
    target = tmp_path / "bot"
    shutil.copytree(
        ROOT / "bot", target, ignore=shutil.ignore_patterns("actions", "__pycache__", ".rasa")
    )
    return target


def test_fingerprint_follows_training_data_only(bot_dir: Path) -> None:
    before = training_fingerprint(bot_dir)
    (bot_dir / "endpoints.yml").write_text("# not training data\n")
    assert training_fingerprint(bot_dir) == before
    with (bot_dir / "data" / "nlu.yml").open("a") as f:
        f.write("\n")
    assert training_fingerprint(bot_dir) != before


def test_existing_model_for_the_same_data_is_reused(bot_dir: Path, tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    cached = model_path(bot_dir, models)
    cached.write_bytes(b"model")
    # rasa_bin does not exist: proves nothing was run.
    assert train(bot_dir, models, tmp_path / "no-rasa") == (cached, False)
    with pytest.raises(RasaError, match="Rasa not found"):
        train(bot_dir, models, tmp_path / "no-rasa", force=True)
