from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from retrieval.index import POINTER, SNIPPET_CHARACTERS, KnowledgeIndex, current_version
from retrieval.search import KnowledgeBase, build_index, index_is_fresh
from retrieval.sections import slug, trim_to_sentences
from retrieval.sources import load_articles
from tests.fakes import HashingEncoder
from tests.fakes.paths import ROOT

KB = ROOT / "kb_content"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    index_dir = tmp_path_factory.mktemp("index")
    build_index(KB, index_dir, HashingEncoder())
    return index_dir


def test_search_ranks_the_article_whose_question_matches(built: Path) -> None:
    kb = KnowledgeBase.open(built, HashingEncoder())
    article = load_articles(KB)[0]
    result = kb.search(article.questions[0])
    assert result.decision == "answer"
    assert result.best is not None and result.best.article_id == article.id
    assert result.best.url == article.url
    # The answer is the article's best-matching part (issue 17), trimmed to whole
    # sentences, with the anchor of its heading (none for the lead).
    sections = {c.section: trim_to_sentences(c.text, SNIPPET_CHARACTERS) for c in article.chunks}
    assert result.best.snippet == sections[result.best.section]
    section = result.best.section
    assert result.best.anchor == (None if section is None else slug(section))
    # Without a url of its own the index gives no link (the hub adds its help center's).
    anchored = f"{article.url}#{result.best.anchor}" if section is not None else article.url
    expected = anchored if article.url else None
    assert result.best.link == expected
    assert [h.score for h in result.hits] == sorted((h.score for h in result.hits), reverse=True)
    assert len({h.article_id for h in result.hits}) == len(result.hits)  # one hit per article


def test_below_threshold_escalates(built: Path) -> None:
    kb = KnowledgeBase.open(built, HashingEncoder())
    result = kb.search("zebra quantum marmalade")
    assert result.decision == "escalate"
    assert result.confidence < kb.thresholds.answer
    assert kb.search("   ").decision == "escalate"


def test_index_round_trips_and_knows_it_is_fresh(built: Path, tmp_path: Path) -> None:
    assert index_is_fresh(built, KB, HashingEncoder.name)
    assert not index_is_fresh(built, KB, "another-model")
    loaded = KnowledgeIndex.load(built)
    # One article per id: translations of an article are one article with its languages.
    assert loaded.manifest["articles"] == len({a.id for a in load_articles(KB)})
    assert loaded.manifest["dimension"] == HashingEncoder().dimension
    # A fresh index is not rebuilt.
    assert build_index(KB, built, HashingEncoder()) == (None, False)


class _RecentredEncoder(HashingEncoder):
    """The same model name with other details: as if its centres were recomputed."""

    def details(self) -> dict[str, str]:
        return {"centres_sha256": "another"}


def test_the_same_model_with_other_details_rebuilds_without_reusing_vectors(
    tmp_path: Path,
) -> None:
    index_dir = tmp_path / "index"
    build_index(KB, index_dir, HashingEncoder())
    details = _RecentredEncoder().details()
    assert index_is_fresh(index_dir, KB, HashingEncoder.name)  # by name alone
    assert not index_is_fresh(index_dir, KB, HashingEncoder.name, details=details)
    rebuilt, built = build_index(KB, index_dir, _RecentredEncoder())
    assert built and rebuilt is not None
    assert rebuilt.manifest["embedded"] == rebuilt.manifest["entries"]  # nothing reused
    assert rebuilt.manifest["encoder"] == details
    assert build_index(KB, index_dir, _RecentredEncoder()) == (None, False)


def test_rebuild_publishes_a_new_version_atomically(tmp_path: Path) -> None:
    source = tmp_path / "kb"
    source.mkdir()
    (source / "a.md").write_text(
        "---\ntitle: Alpha\nquestions: [what is alpha]\n---\nAlpha text.\n"
    )
    index_dir = tmp_path / "index"
    build_index(source, index_dir, HashingEncoder())
    first = current_version(index_dir)
    (source / "b.md").write_text("---\ntitle: Beta\nquestions: [what is beta]\n---\nBeta text.\n")
    assert not index_is_fresh(index_dir, source, HashingEncoder.name)
    build_index(source, index_dir, HashingEncoder())
    second = current_version(index_dir)
    assert second != first and (index_dir / POINTER).read_text() == second.name  # type: ignore[union-attr]
    assert KnowledgeIndex.load(index_dir).manifest["articles"] == 2


def test_a_bad_source_leaves_the_served_index_alone(tmp_path: Path) -> None:
    source = tmp_path / "kb"
    source.mkdir()
    (source / "a.md").write_text("---\ntitle: Alpha\n---\nAlpha.\n")
    index_dir = tmp_path / "index"
    build_index(source, index_dir, HashingEncoder())
    before = current_version(index_dir)
    (source / "broken.md").write_text("no front matter")
    with pytest.raises(ValueError, match=r"broken\.md:1"):
        build_index(source, index_dir, HashingEncoder())
    assert current_version(index_dir) == before


def test_encoder_mismatch_is_refused(built: Path) -> None:
    class Other(HashingEncoder):
        name = "other"

    with pytest.raises(ValueError, match="built with"):
        KnowledgeBase.open(built, Other())


class CountingEncoder(HashingEncoder):
    """Counts the texts it is asked to embed."""

    def __init__(self) -> None:
        super().__init__()
        self.embedded: list[str] = []

    def encode(self, texts):  # type: ignore[no-untyped-def]
        self.embedded += list(texts)
        return super().encode(texts)


def test_rebuild_embeds_only_changed_articles(tmp_path: Path) -> None:
    source = tmp_path / "kb"
    source.mkdir()
    for name in ("alpha", "beta", "gamma"):
        (source / f"{name}.md").write_text(
            f"---\ntitle: {name}\nquestions: [what is {name}]\n---\n{name} text.\n"
        )
    index_dir = tmp_path / "index"
    encoder = CountingEncoder()
    first, _ = build_index(source, index_dir, encoder)
    assert first is not None and first.manifest["embedded"] == len(first.entries)
    encoder.embedded.clear()
    (source / "beta.md").write_text("---\ntitle: beta\nquestions: [what is beta now]\n---\nNew.\n")
    second, built = build_index(source, index_dir, encoder)
    assert built and second is not None
    assert sorted(encoder.embedded) == sorted(["what is beta now", "beta. \nNew."])
    assert second.manifest["embedded"] == 2
    # Reused vectors are the very same as freshly computed ones.
    fresh = KnowledgeIndex.build(load_articles(source), HashingEncoder())
    assert (second.vectors == fresh.vectors).all()


def test_lexical_match_lifts_the_article_with_the_rare_word(built: Path) -> None:
    index = KnowledgeIndex.load(built)
    from retrieval.lexical import LexicalIndex, tokenize

    assert tokenize("How do I download invoices?") == ["download", "invoice"]
    lexical = LexicalIndex.build(["download your invoices here", "reset a password"])
    scores = lexical.scores("invoice download")
    assert scores is not None and scores[0] > 0 and scores[1] == 0
    assert lexical.scores("zebra") is None
    assert index.lexical.scores("invoice") is not None


def test_a_running_knowledge_base_picks_up_a_new_build(tmp_path: Path) -> None:
    source = tmp_path / "kb"
    source.mkdir()
    (source / "a.md").write_text("---\ntitle: Alpha\nquestions: [what is alpha]\n---\nAlpha.\n")
    (source / "b.md").write_text("---\ntitle: Beta\nquestions: [what is beta]\n---\nBeta.\n")
    index_dir = tmp_path / "index"
    build_index(source, index_dir, HashingEncoder())
    kb = KnowledgeBase.open(index_dir, HashingEncoder())
    assert not kb.reload_if_published(every=0)
    (source / "c.md").write_text("---\ntitle: Gamma rays\nquestions: [what is gamma]\n---\nG.\n")
    build_index(source, index_dir, HashingEncoder())
    assert kb.reload_if_published(every=0)
    assert kb.index.manifest["articles"] == 3
    assert kb.search("what is gamma").hits[0].article_id == "c"


def test_the_top_articles_are_the_full_sorts_first_k() -> None:
    from retrieval.index import _top

    rng = np.random.default_rng(7)
    for size, k in ((1, 5), (5, 5), (40, 5), (10_000, 5), (300, 1)):
        probabilities = rng.random(size)
        assert _top(probabilities, k).tolist() == np.argsort(-probabilities)[:k].tolist()


def test_bm25_scores_are_the_query_columns_summed() -> None:
    from retrieval.lexical import LexicalIndex
    from retrieval.tokenize import tokenize

    texts = [
        "reset my password",
        "password reset link expired",
        "export invoices to csv",
        "invoice for last month",
    ]
    lexical = LexicalIndex.build(texts)
    for query in ("password reset", "invoice export", "invoices password csv"):
        columns = sorted({lexical.vocabulary[w] for w in tokenize(query)})
        expected = np.asarray(lexical.matrix[:, columns].sum(axis=1)).ravel()
        scores = lexical.scores(query)
        assert scores is not None
        assert np.allclose(scores, expected)
        assert scores.shape == (len(texts),)
    assert lexical.scores("weather tomorrow") is None
