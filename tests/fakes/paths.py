"""Where things are: the repository's root, and the folder the integration tests write to."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
ARTIFACTS = ROOT / "var" / "test-artifacts"  # screenshots, linked from the README
