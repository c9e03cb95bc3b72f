"""How well the knowledge-gaps report groups questions, measured on a labelled set nobody
tuned it on: MASSIVE's held-out scenarios (the questions a knowledge base built from the
other scenarios cannot answer, i.e. its gaps), grouped at the floor that knowledge base
sets from its own articles' questions, and compared with MASSIVE's intent labels."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sklearn.metrics import adjusted_rand_score, v_measure_score

from retrieval.benchmark import SEED, load_massive, massive_kb
from retrieval.encoder import Encoder
from retrieval.index import KnowledgeIndex
from retrieval.search import Thresholds
from retrieval.topics import assignment, calibrate_floor, group_vectors, purity


def run_gaps(
    data_path: Path, encoder: Encoder, *, say: Callable[[str], None] = print
) -> dict[str, Any]:
    rows = load_massive(data_path)
    articles, _test, held_out = massive_kb(rows)
    index = KnowledgeIndex.build(articles, encoder)
    questions = [q for a in articles for q in a.questions]
    owners = [a.id for a in articles for _ in a.questions]
    kb_floor = Thresholds.of(index.operating_point).clarify_floor
    floor = calibrate_floor(encoder.encode(questions), owners, default=kb_floor)
    gaps = [r for r in rows if r["partition"] == "dev" and r["intent"].split("_", 1)[0] in held_out]
    texts = [r["text"] for r in gaps]
    labels = [r["intent"] for r in gaps]
    groups = group_vectors(encoder.encode(texts), min_similarity=floor)
    predicted = assignment(groups, len(texts))
    figures = {
        "questions": len(texts),
        "intents": len(set(labels)),
        "topics": len(groups),
        "topics_of_5_or_more": sum(1 for g in groups if len(g.members) >= 5),
        "floor": round(floor, 4),
        "purity": round(purity(groups, labels), 4),
        "v_measure": round(float(v_measure_score(labels, predicted)), 4),
        "adjusted_rand": round(float(adjusted_rand_score(labels, predicted)), 4),
    }
    say(
        "Knowledge gaps, grouping (MASSIVE English dev, CC BY 4.0): the questions of the "
        f"{len(held_out)} scenarios left out of the knowledge base ({', '.join(held_out)}; "
        f"seed {SEED}), grouped at the floor that regroups that knowledge base's own "
        f"questions best ({figures['floor']}), compared with MASSIVE's intents"
    )
    for key in ("questions", "intents", "topics", "topics_of_5_or_more"):
        say(f"  {key.replace('_', ' '):<22} {figures[key]}")
    share = "(share of questions in a topic of their own intent)"
    say(f"  {'purity':<22} {figures['purity']:.3f}  {share}")
    say(f"  {'V-measure':<22} {figures['v_measure']:.3f}")
    say(f"  {'adjusted Rand index':<22} {figures['adjusted_rand']:.3f}")
    return figures
