"""The knowledge-gaps report: the questions the bot could not settle, grouped into topics,
each with what the support data says about it and a suggestion for the knowledge base."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import yaml

from retrieval.search import KnowledgeBase
from retrieval.topics import calibrate_floor, group_vectors

EXAMPLES = 5
AGENT_ANSWERS = 3
NOT_HELPFUL = "not_helpful"


class Asked(Protocol):
    """One gap question (`handoff.gaps.GapQuestion` is one)."""

    @property
    def question(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def channel(self) -> str: ...
    @property
    def language(self) -> str: ...
    @property
    def ticket_number(self) -> int: ...
    @property
    def agent_answers(self) -> tuple[str, ...]: ...


_floors: dict[int, tuple[Any, float]] = {}


def topic_floor(kb: KnowledgeBase) -> float:
    """The cut that regroups this knowledge base's own questions into their articles best
    (computed once per published index)."""
    key = id(kb)
    built = kb.index.manifest.get("built_at")
    cached = _floors.get(key)
    if cached is not None and cached[0] == built:
        return cached[1]
    index = kb.index
    rows = [i for i, e in enumerate(index.entries) if e.kind == "question"]
    owners = [index.entries[i].article_id for i in rows]
    default = kb.thresholds.clarify_floor
    floor = calibrate_floor(index.vectors[rows], owners, default=default) if rows else default
    _floors[key] = (built, floor)
    return floor


def _distinct(texts: Sequence[str]) -> list[str]:
    seen: dict[str, str] = {}
    for text in texts:
        seen.setdefault(" ".join(text.lower().split()), text.strip())
    return list(seen.values())


def slug(text: str) -> str:
    """An article id from a question, in any script (letters and digits kept)."""
    words = re.findall(r"\w+", unicodedata.normalize("NFKC", text).lower())
    return "-".join(words)[:60].strip("-") or "new-article"


def draft_article(questions: Sequence[str], answers: Sequence[str]) -> str:
    """A new article to finish by hand: the customers' questions as its questions, what
    agents answered quoted in its body."""
    title = questions[0].rstrip("?!. ")
    meta = {
        "id": slug(title),
        "title": title[:1].upper() + title[1:],
        "questions": list(questions[:10]),
        "tags": ["draft"],
    }
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False).strip()
    quoted = "\n\n".join("> " + a.strip().replace("\n", "\n> ") for a in answers) or "> (none)"
    return (
        f"---\n{front}\n---\n"
        "Write the answer here, then remove the `draft` tag. "
        "What agents answered in these conversations:\n\n"
        f"{quoted}\n"
    )


def gap_topics(kb: KnowledgeBase, asked: Sequence[Asked]) -> list[dict[str, Any]]:
    """Topics, largest first: size, example questions, why they were gaps, channels and
    languages, tickets, agents' answers, and a suggestion (`add_phrasings` to an article the
    topic is close to, or a `new_article` draft)."""
    if not asked:
        return []
    vectors = np.asarray(kb.encoder.encode([a.question for a in asked]))
    groups = group_vectors(vectors, min_similarity=topic_floor(kb))
    topics = []
    for group in groups:
        members = [asked[i] for i in group.members]
        questions = _distinct([m.question for m in members])
        answers = _distinct([text for m in members for text in m.agent_answers])
        kinds = Counter(m.kind for m in members)
        topics.append(
            {
                "size": len(members),
                "examples": questions[:EXAMPLES],
                "questions": questions,
                "kinds": dict(kinds),
                "channels": dict(Counter(m.channel for m in members)),
                "languages": dict(Counter(m.language for m in members)),
                "tickets": sorted({m.ticket_number for m in members}),
                "agent_answers": answers[:AGENT_ANSWERS],
                "suggestion": {
                    **_suggestion(kb, questions, answers, kinds),
                    # The language most of its questions were asked in.
                    "lang": Counter(m.language for m in members).most_common(1)[0][0],
                },
            }
        )
    return topics


def _suggestion(
    kb: KnowledgeBase, questions: list[str], answers: list[str], kinds: Counter[str]
) -> dict[str, Any]:
    """More phrasings when the topic sits close to an article (as close as the knowledge
    base needs to offer it) and customers did not mostly reject that article's answers;
    else a new article."""
    best = kb.search(questions[0]).best
    rejected = kinds[NOT_HELPFUL] * 2 > sum(kinds.values())
    if best is not None and best.similarity >= kb.thresholds.clarify_floor and not rejected:
        known = {
            " ".join(e.text.lower().split())
            for e in kb.index.entries
            if e.kind == "question" and e.article_id == best.article_id
        }
        new = [q for q in questions if " ".join(q.lower().split()) not in known]
        if new:
            return {
                "action": "add_phrasings",
                "article_id": best.article_id,
                "title": best.title,
                "questions": new,
            }
    return {"action": "new_article", "draft": draft_article(questions, answers)}
