"""Fixtures shared by the unit tests of the hub: a knowledge index and a fake Rasa."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.search import build_index
from tests.fakes import HashingEncoder
from tests.fakes.paths import ROOT
from tests.fakes.rasa import FakeRasa


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The knowledge base's index, built with the hashing encoder (once per test module)."""
    path = tmp_path_factory.mktemp("index")
    build_index(ROOT / "kb_content", path, HashingEncoder())
    return path


@pytest.fixture
def fake_rasa() -> FakeRasa:
    """Rasa's REST channel, faked; `.received` and `.metadata` record what it was sent."""
    return FakeRasa()
