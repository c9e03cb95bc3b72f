"""The hashing encoder's index of a knowledge base, built once per distinct set of sources
in a test session and copied after that.

A build calibrates itself (k-fold fits of the classifier): about 5 s for the starter
knowledge base, which some 40 unit tests each needed. Tests of building itself (freshness,
rebuilds, calibration) call `retrieval.search.build_index` and are not served from here.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from retrieval.search import build_index
from retrieval.sources import sources_digest
from tests.fakes import HashingEncoder

_built: dict[str, Path] = {}


def hashing_index(source: Path, index_dir: Path) -> Path:
    """Put into `index_dir` (which must not exist yet) an index of `source` exactly as
    `build_index(source, index_dir, HashingEncoder())` makes it; returns `index_dir`."""
    digest = sources_digest(source)
    built = _built.get(digest)
    if built is None:
        # Built apart, so that what a test later publishes into its copy stays its own.
        folder = tempfile.mkdtemp(prefix="frontline-index-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        built = Path(folder) / "index"
        build_index(source, built, HashingEncoder())
        _built[digest] = built
    shutil.copytree(built, index_dir, symlinks=True)
    return index_dir
