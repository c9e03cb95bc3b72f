"""Fixtures shared by the unit tests of the hub: a knowledge index and a fake Rasa."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes.hashing_index import hashing_index
from tests.fakes.paths import ROOT
from tests.fakes.rasa import FakeRasa


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The knowledge base's index, built with the hashing encoder; each test module gets a
    copy of its own (built once a session: tests/fakes/hashing_index.py)."""
    return hashing_index(ROOT / "kb_content", tmp_path_factory.mktemp("index") / "index")


@pytest.fixture
def fake_rasa() -> FakeRasa:
    """Rasa's REST channel, faked; `.received` and `.metadata` record what it was sent."""
    return FakeRasa()
