"""The cluster of tests/fakes/cluster.py for the cluster tests: needs the PostgreSQL server of
the test run (FRONTLINE_TEST_DATABASE_URL, as `.ci/run` sets) and Debian's redis-server and
haproxy (`make test` installs them as root); skipped, saying which is missing, otherwise.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from tests.fakes.cluster import Cluster, running_cluster
from tests.fakes.paths import ROOT

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Cluster]:
    pg = os.environ.get("FRONTLINE_TEST_DATABASE_URL", "")
    if not pg:
        pytest.skip("needs PostgreSQL: FRONTLINE_TEST_DATABASE_URL=$(.ci/postgres.sh)")
    if shutil.which("haproxy") is None:
        pytest.skip("haproxy not found: apt-get install haproxy (make test installs it as root)")
    if not any((ROOT / "var" / "models").glob("*.tar.gz")) or not (ROOT / "var" / "index").exists():
        pytest.skip("no trained model or index: `make test` builds them first")
    with running_cluster(pg, redis_url, tmp_path_factory.mktemp("cluster")) as running:
        yield running
