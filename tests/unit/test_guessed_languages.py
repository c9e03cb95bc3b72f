"""An article that does not say its language (`lang:`) is taken as English only when it is
written in Latin letters and lingua is not sure it is another Latin-script language: one in
another script gets that script's language (or its words' for Cyrillic), so it is not
embedded by the English-only encoder nor calibrated against English questions."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval import encoder as encoders
from retrieval.articles import parse_article
from retrieval.encoder import MINILM, MULTILINGUAL_E5
from retrieval.languages import fallback_note, guess_language
from retrieval.search import model_for_sources
from tests.fakes import HashingEncoder


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("How do I reset my password?", "en"),
        ("¿Cómo restablezco mi contraseña?", "en"),  # under 60 letters: too short to tell
        ("¿Cómo cambio mi contraseña? Abre la página de inicio de sesión y elige Olvidé.", "es"),
        ("Wie setze ich mein Passwort zurück? Öffnen Sie die Anmeldeseite und wählen Sie.", "de"),
        ("How do I reset my password? Open the sign-in page and choose Forgot password.", "en"),
        ("", "en"),
        ("如何重置密码？Tandem 的登录问题", "zh"),
        ("パスワードをリセットするにはどうすればいいですか", "ja"),
        ("密码を忘れた場合", "ja"),  # Han with kana
        ("비밀번호를 재설정하는 방법", "ko"),
        ("چگونه رمز عبور را بازنشانی کنم؟", "fa"),
        ("كيف أعيد تعيين كلمة المرور؟", "ar"),
        ("میں اپنا پاس ورڈ کیسے ری سیٹ کروں؟", "ur"),
        ("Как сбросить пароль?", "und"),  # too short to tell which Cyrillic language
        ("Как сбросить пароль? Откройте страницу входа и нажмите «Забыли пароль» внизу.", "ru"),
        ("पासवर्ड कैसे रीसेट करें?", "und"),
    ],
)
def test_the_script_says_what_it_can(text: str, language: str) -> None:
    assert guess_language(text) == language


def test_an_undeclared_article_in_another_script_is_not_taken_as_english(tmp_path: Path) -> None:
    source = tmp_path / "kb"
    source.mkdir()
    text = "---\ntitle: 重置密码\nquestions: [忘记密码怎么办]\n---\n在登录页点击“忘记密码”。\n"
    (source / "reset.md").write_text(text)
    article = parse_article(source / "reset.md", text)
    assert article.lang == "zh" and article.lang_guessed
    said = text.replace("---\ntitle", "---\nlang: en\ntitle")
    declared = parse_article(source / "reset.md", said)
    assert declared.lang == "en" and not declared.lang_guessed
    assert model_for_sources("auto", source) == MULTILINGUAL_E5
    english = "---\ntitle: Reset\n---\nClick Forgot password.\n"
    (source / "reset.md").write_text(english)
    assert model_for_sources("auto", source) == MINILM


def test_no_note_names_an_undetermined_language() -> None:
    assert fallback_note("en", "und") is None
    assert fallback_note("en", "zh") is not None


def test_the_note_names_any_language_in_the_customers() -> None:
    assert fallback_note("en", "es") == (
        "This article is not yet available in your language; here it is in Spanish."
    )
    assert fallback_note("zh", "es") == "这篇文章还没有您的语言版本；以下是西班牙语版本。"
    assert fallback_note("zh", "en") == "这篇文章还没有您的语言版本；以下是英文版本。"


def test_an_undeclared_spanish_knowledge_base_gets_the_multilingual_encoder(
    tmp_path: Path,
) -> None:
    (tmp_path / "reset.md").write_text(
        "---\ntitle: Restablecer la contraseña\nquestions: [Olvidé mi contraseña]\n---\n"
        "Abre la página de inicio de sesión y elige ¿Olvidaste tu contraseña?\n"
    )
    assert model_for_sources("auto", tmp_path) == MULTILINGUAL_E5


def test_kb_build_says_which_articles_it_took_by_their_script(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from api.cli_common import build_kb_index
    from api.settings import Settings

    source = tmp_path / "kb"
    source.mkdir()
    for n in range(3):
        (source / f"a{n}.md").write_text(f"---\ntitle: 文章{n}\n---\n正文{n}。\n")
    (source / "b.md").write_text("---\ntitle: Пароль\n---\nКак сбросить пароль.\n")
    (source / "c.md").write_text("---\ntitle: Password\n---\nReset it.\n")
    monkeypatch.setattr(encoders, "open_encoder", lambda spec: HashingEncoder())
    settings = Settings(kb_dir=source, var_dir=tmp_path)
    build_kb_index(settings, source, tmp_path / "index", force=False)
    out = capsys.readouterr().out
    assert "taken by their script or words: 1 as und, 3 as zh;" in out
