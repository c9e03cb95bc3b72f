"""The section that answers: best-matching section, its anchor, trimmed to whole sentences."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.actions import payloads
from retrieval.index import (
    SNIPPET_CHARACTERS,
    KnowledgeIndex,
    _about_the_whole_article,
    _within_article,
)
from retrieval.search import KnowledgeBase, SearchResult
from retrieval.sections import section_anchors, slug, trim_to_sentences
from retrieval.sources import load_articles
from tests.fakes import HashingEncoder

BILLING = """---
id: billing
title: Payments and invoices
questions: [where are my invoices, how do I pay]
url: https://help.example/billing
---
Owners manage payments in Admin > Billing.

## Payment methods
Cards, PayPal and bank transfer are accepted. Replace the card under Payment method.

## VAT and sales tax
Prices are shown without VAT. EU businesses with a valid VAT number are invoiced without VAT
under the reverse-charge rule. Add the VAT number in Company details before renewal.

## FAQ
Questions about receipts.

## FAQ
More questions.
"""


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("VAT and sales tax", "vat-and-sales-tax"),
        ("What's new in **v2.1**?", "whats-new-in-v21"),
        ("Step 1: sign in", "step-1-sign-in"),
        ("Use [SSO](https://x.example) now", "use-sso-now"),
        ("Réglages & options", "réglages--options"),
        ("snake_case stays", "snake_case-stays"),
    ],
)
def test_anchors_are_github_style_slugs(heading: str, anchor: str) -> None:
    assert slug(heading) == anchor


def test_repeated_headings_are_numbered_like_github() -> None:
    assert section_anchors([None, "FAQ", "FAQ", "FAQ-1", "FAQ"]) == [
        None,
        "faq",
        "faq-1",
        "faq-1-1",
        "faq-2",
    ]


def test_long_text_is_trimmed_to_whole_sentences() -> None:
    text = " ".join(f"Sentence number {i} says something useful." for i in range(40))
    trimmed = trim_to_sentences(text, 600)
    assert len(trimmed) <= 600
    assert trimmed.endswith("useful.")
    assert text.startswith(trimmed)
    assert len(trimmed) > 550  # as many whole sentences as fit
    assert trim_to_sentences("Short. Text.", 600) == "Short. Text."


def test_list_items_and_lines_are_boundaries_and_an_endless_sentence_is_cut_at_a_word() -> None:
    listing = "Steps:\n" + "\n".join(f"{i}. Open the menu and choose item {i}" for i in range(40))
    trimmed = trim_to_sentences(listing, 200)
    assert len(trimmed) <= 200 and listing.startswith(trimmed)
    last = trimmed.splitlines()[-1]
    assert last == f"{len(trimmed.splitlines()) - 2}. Open the menu and choose item {last[0]}"
    endless = "word " * 300
    cut = trim_to_sentences(endless, 100)
    assert len(cut) <= 100 and cut.endswith("word…")


@pytest.fixture
def billing(tmp_path: Path) -> KnowledgeBase:
    (tmp_path / "billing.md").write_text(BILLING)
    (tmp_path / "other.md").write_text(
        "---\ntitle: Reset your password\nquestions: [forgot my password]\n---\nUse Forgot.\n"
    )
    index = KnowledgeIndex.build(load_articles(tmp_path), HashingEncoder())
    return KnowledgeBase(index, HashingEncoder())


def test_the_best_matching_section_answers_with_its_anchor(billing: KnowledgeBase) -> None:
    hit = billing.search("my invoice shows the wrong VAT number").hits[0]
    assert hit.article_id == "billing"
    assert hit.section == "VAT and sales tax"
    assert hit.snippet.startswith("Prices are shown without VAT.")
    assert hit.link == "https://help.example/billing#vat-and-sales-tax"
    assert hit.to_dict()["url"] == hit.link and hit.to_dict()["section"] == hit.section
    lead = billing.search("who manages payments in admin billing").hits[0]
    assert lead.section is None and lead.snippet == "Owners manage payments in Admin > Billing."
    assert lead.link == "https://help.example/billing"  # the lead has no anchor


def test_a_long_section_is_trimmed(tmp_path: Path) -> None:
    body = " ".join(f"Export step {i} moves the project files somewhere safe." for i in range(50))
    (tmp_path / "a.md").write_text(f"---\ntitle: Export\n---\nLead.\n\n## Export steps\n{body}\n")
    (tmp_path / "b.md").write_text("---\ntitle: Other\n---\nNothing here.\n")
    kb = KnowledgeBase(
        KnowledgeIndex.build(load_articles(tmp_path), HashingEncoder()), HashingEncoder()
    )
    hit = kb.search("export step project files").hits[0]
    assert hit.section == "Export steps"
    assert len(hit.snippet) <= SNIPPET_CHARACTERS and hit.snippet.endswith("safe.")


def test_the_bot_s_source_points_at_the_section(billing: KnowledgeBase) -> None:
    result = billing.search("my invoice shows the wrong VAT number")
    hit = result.hits[0]
    body = payloads.search_outcome(
        SearchResult(result.query, "answer", 0.9, result.hits), shown=[hit]
    )
    [source] = body[payloads.KEY]["sources"]
    assert source["url"] == "https://help.example/billing#vat-and-sales-tax"
    assert source["section"] == "VAT and sales tax"
    assert source["article_id"] == "billing" and source["title"] == "Payments and invoices"


class WithinArticle(HashingEncoder):
    """An encoder that asks for sections compared within their article, as the
    multilingual one does."""

    sections_within_article = True


RESET = """---
id: reset
title: Reset your password
questions: [how do I reset my password, how do I reset it, reset my password please]
---
Forgot your password? Use Forgot password on the sign in page.

## Change a password you know
How do I change my password? Signed in, open Settings to change your password.

## If the email does not arrive
Wait five minutes, then look in your spam folder for the email.
"""


def test_sections_within_the_article_give_a_typical_question_the_lead(tmp_path: Path) -> None:
    (tmp_path / "reset.md").write_text(RESET)
    (tmp_path / "other.md").write_text(
        "---\ntitle: Export your data\nquestions: [export to csv]\n---\nUse Export.\n"
    )
    encoder = WithinArticle()
    kb = KnowledgeBase(KnowledgeIndex.build(load_articles(tmp_path), encoder), encoder)
    assert kb.index.manifest["sections_within_article"] is True
    # The article's most typical question: plain cosines prefer the section that shares its
    # words ("how do I ... my password"), but the lead is what answers it.
    typical = kb.search("how do I reset my password").hits[0]
    assert (typical.article_id, typical.section) == ("reset", None)
    # A question about one part of the article gets that part.
    email = kb.search("the reset email does not arrive").hits[0]
    assert (email.article_id, email.section) == ("reset", "If the email does not arrive")
    # An index built before the flag's name changed asks for it by its old name.
    del kb.index.manifest["sections_within_article"]
    kb.index.manifest["lead_on_own_question"] = True
    assert kb.search("how do I reset my password").hits[0].section is None
    # Without the flag (MiniLM's indexes), plain cosines and BM25 choose, as before.
    kb.index.manifest["lead_on_own_question"] = False
    assert kb.search("how do I reset my password").hits[0].section == "Change a password you know"


def test_within_the_article_what_the_sections_share_does_not_choose() -> None:
    # Axes: the article's topic, then what each of three parts alone says. Part 1 says the
    # most about the topic; the question is mostly topic, like the article's own questions,
    # and otherwise asks what part 2 alone says.
    def unit(vector: list[float]) -> np.ndarray:
        array = np.asarray(vector, dtype=np.float32)
        return array / np.linalg.norm(array)

    parts = np.stack([unit([0.6, 0.8, 0, 0]), unit([0.95, 0, 0.31, 0]), unit([0.6, 0, 0, 0.8])])
    own = np.stack([unit([0.9, 0.1, 0, 0]), unit([0.9, 0, 0.1, 0]), unit([0.9, 0, 0, 0.1])])
    query = unit([0.9, 0, 0.05, 0.3])
    assert int(np.argmax(parts @ query)) == 1  # plain cosines: the part richest in topic
    assert int(np.argmax(_within_article(parts, own, query))) == 2
    assert not _about_the_whole_article(own, query)
    assert _about_the_whole_article(own, unit([1, 0, 0, 0]))
