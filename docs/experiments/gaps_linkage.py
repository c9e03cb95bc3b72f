"""Experiment (not product code): which linkage groups the knowledge-gaps questions best.

The gaps report (retrieval/topics.py) groups questions by average-linkage clustering, cut at
the floor that regroups the knowledge base's own questions into their articles best. This
tries complete and weighted linkage too, each cut the same way (its own floor, from the
knowledge base's own questions only), on six labelled sets of gaps:

- MASSIVE English: the dev questions of the four scenarios left out of the knowledge base,
  as `frontline kb gaps-eval` measures (its intents as labels);
- CLINC150's five narrow knowledge bases (retrieval/benchmark_domains.py): the test
  questions of the eight domains each leaves out (120 intents, 3,600 questions).

Run from the repository root (MiniLM, vectors cached in var/embeddings):
    HF_HUB_OFFLINE=1 PYTHONPATH=. .venv/bin/python docs/experiments/gaps_linkage.py
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform
from sklearn.metrics import adjusted_rand_score, v_measure_score

from retrieval import benchmark
from retrieval.benchmark_domains import domain_kbs, load_domains
from retrieval.embedding_cache import CachedEncoder
from retrieval.encoder import MINILM, SentenceTransformerEncoder
from retrieval.topics import FLOOR_GRID

METHODS = ("average", "complete", "weighted")
encoder = CachedEncoder(SentenceTransformerEncoder(MINILM), Path("var/embeddings"))


def tree(vectors: np.ndarray, method: str) -> np.ndarray:
    v = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    distances = np.clip(1 - v @ v.T, 0, 2)
    np.fill_diagonal(distances, 0)
    return linkage(squareform((distances + distances.T) / 2, checks=False), method=method)


def purity(labels: Sequence[str], predicted: np.ndarray) -> float:
    array = np.array(labels)
    right = sum(
        np.unique(array[predicted == c], return_counts=True)[1].max() for c in set(predicted)
    )
    return float(right / len(array))


def evaluate(
    own: Sequence[str], owners: Sequence[str], gaps: Sequence[str], labels: Sequence[str], name: str
) -> None:
    own_vectors, gap_vectors = encoder.encode(list(own)), encoder.encode(list(gaps))
    for method in METHODS:
        own_tree = tree(own_vectors, method)
        floor = max(
            FLOOR_GRID,
            key=lambda f: adjusted_rand_score(
                owners, fcluster(own_tree, t=1 - f, criterion="distance")
            ),
        )
        predicted = fcluster(tree(gap_vectors, method), t=1 - floor, criterion="distance")
        print(
            f"{name:24s} {method:9s} floor {floor:.3f} topics {len(set(predicted)):4d} "
            f"purity {purity(labels, predicted):.3f} V {v_measure_score(labels, predicted):.3f} "
            f"ARI {adjusted_rand_score(labels, predicted):.3f}",
            flush=True,
        )


def main() -> None:
    rows = benchmark.load_massive(Path("../shared/data/massive"))
    articles, _test, held_out = benchmark.massive_kb(rows)
    gaps = [r for r in rows if r["partition"] == "dev" and r["intent"].split("_", 1)[0] in held_out]
    evaluate(
        [q for a in articles for q in a.questions], [a.id for a in articles for _ in a.questions],
        [r["text"] for r in gaps], [r["intent"] for r in gaps], "MASSIVE en",
    )  # fmt: skip
    path = Path("../shared/data/clinc150/data_full.json")
    data = benchmark.load_clinc(path)
    for names, kb, _split in domain_kbs(data, load_domains(path)):
        ids = {a.id for a in kb}
        other = [(text, label) for text, label in data["test"] if label not in ids]
        evaluate(
            [q for a in kb for q in a.questions], [a.id for a in kb for _ in a.questions],
            [t for t, _ in other], [label for _, label in other], " + ".join(names),
        )  # fmt: skip


if __name__ == "__main__":
    main()
