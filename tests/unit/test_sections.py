"""The section that answers: best-matching section, its anchor, trimmed to whole sentences."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.actions import payloads
from retrieval.index import SNIPPET_CHARACTERS, KnowledgeIndex
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


class OwnQuestionsFirst(HashingEncoder):
    """An encoder that asks for the own-question rule, as the multilingual one does."""

    lead_on_own_question = True


def test_a_question_nearest_an_own_question_gets_the_lead_unless_it_names_a_section_s_words(
    tmp_path: Path,
) -> None:
    # The article's own question, asked as it is: no part is closer to it than the question
    # itself, and the lead is closer than the part that answers (they share "how do I ...
    # the invoice"), but only that part shares the words that matter ("tax number").
    (tmp_path / "invoices.md").write_text(
        "---\nid: invoices\ntitle: Invoices\n"
        "questions: [how do I add our tax number to the invoice]\n---\n"
        "How do I get the invoice? It is in Admin, and we send it to you by email.\n\n"
        "## Tax\nAdd the tax number under Company details.\n"
    )
    (tmp_path / "other.md").write_text(
        "---\ntitle: Reset your password\nquestions: [forgot my password]\n---\nUse Forgot.\n"
    )
    encoder = OwnQuestionsFirst()
    kb = KnowledgeBase(KnowledgeIndex.build(load_articles(tmp_path), encoder), encoder)
    hit = kb.search("how do I add our tax number to the invoice").hits[0]
    assert (hit.article_id, hit.section) == ("invoices", "Tax")
    # Its words are all in the lead: the lead answers.
    lead = kb.search("how do I get the invoice").hits[0]
    assert (lead.article_id, lead.section) == ("invoices", None)
