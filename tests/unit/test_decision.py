from __future__ import annotations

from dataclasses import replace

import pytest

from retrieval.index import Hit
from retrieval.search import Thresholds, decide

T = Thresholds(answer=0.6, clarify=0.5, min_similarity=0.3, candidate=0.1)


def hits(*scores: float, similarity: float = 0.8) -> list[Hit]:
    return [
        Hit(f"a{i}", f"A{i}", s, None, "", None, similarity if i == 0 else 0.0)
        for i, s in enumerate(scores)
    ]


@pytest.mark.parametrize(
    ("scores", "similarity", "decision"),
    [
        ((0.9, 0.05), 0.8, "answer"),
        ((0.6, 0.3), 0.8, "answer"),  # at the threshold
        ((0.35, 0.3, 0.1), 0.8, "clarify"),
        ((0.3, 0.15, 0.05), 0.8, "escalate"),  # too little mass on the candidates
        ((0.45, 0.08, 0.05), 0.8, "escalate"),  # one candidate is no choice
        ((0.9, 0.05), 0.2, "escalate"),  # confident among unrelated articles: out of scope
    ],
)
def test_decision(scores: tuple[float, ...], similarity: float, decision: str) -> None:
    result = decide("q", hits(*scores, similarity=similarity), T)
    assert result.decision == decision
    assert result.confidence == scores[0]


def test_clarify_candidates_are_the_plausible_ones() -> None:
    result = decide("q", hits(0.35, 0.3, 0.05, 0.01), T)
    assert [h.article_id for h in result.candidates] == ["a0", "a1"]
    assert [h.article_id for h in result.hits] == ["a0", "a1", "a2", "a3"]


def test_no_hits_escalates() -> None:
    assert decide("q", [], T).decision == "escalate"


def test_choices_need_one_offered_article_close_enough_at_their_own_floor() -> None:
    own = Thresholds(answer=0.6, clarify=0.5, min_similarity=0.5, clarify_similarity=0.35)

    def vague(*similarities: float) -> list[Hit]:
        scores = (0.5, 0.4, 0.05)
        return [
            Hit(f"a{i}", f"A{i}", s, None, "", None, sim)
            for i, (s, sim) in enumerate(zip(scores, similarities, strict=True))
        ]

    # The best article is far, the second close enough for choices (not for an answer).
    result = decide("q", vague(0.2, 0.4, 0.6), own)
    assert result.decision == "clarify"
    assert [h.article_id for h in result.candidates] == ["a0", "a1"]  # a2: too improbable
    assert decide("q", vague(0.2, 0.3, 0.9), own).decision == "escalate"
    # Without a floor of its own, choices use the answer's.
    assert decide("q", vague(0.2, 0.4, 0.6), T).decision == "clarify"
    assert decide("q", vague(0.2, 0.4, 0.6), replace(own, clarify_similarity=None)).decision == (
        "escalate"
    )
    # Probable enough but too far to answer: choices, not an answer.
    confident = [
        Hit("a0", "A0", 0.8, None, "", None, 0.4),
        Hit("a1", "A1", 0.15, None, "", None, 0.3),
    ]
    assert decide("q", confident, own).decision == "clarify"


def test_a_logit_floor_refuses_answers_the_other_thresholds_would_give() -> None:
    gated = replace(T, min_logit=5.0)

    def with_logit(logit: float | None, *scores: float) -> list[Hit]:
        return [replace(h, logit=logit if i == 0 else None) for i, h in enumerate(hits(*scores))]

    assert decide("q", with_logit(5.0, 0.9, 0.05), gated).decision == "answer"  # at the floor
    # Probable and close, but its fused logit is low: what a failed similarity floor gives.
    assert decide("q", with_logit(4.9, 0.9, 0.05), gated).decision == "escalate"
    assert decide("q", with_logit(4.9, 0.55, 0.3), gated).decision == "clarify"
    refused = decide("q", with_logit(4.9, 0.9, 0.05), gated)
    too_far = decide("q", with_logit(4.9, 0.9, 0.05), replace(T, min_similarity=0.9))
    assert (refused.decision, refused.candidates) == (too_far.decision, too_far.candidates)
    # A hit without its logit cannot show it reaches a floor; without a floor it needs none.
    assert decide("q", hits(0.9, 0.05), gated).decision == "escalate"
    assert decide("q", hits(0.9, 0.05), T).decision == "answer"
    assert T.min_logit is None
