"""Languages: which one a text is written in (by script, for the encoder's centring), the
language tags of articles, and the one-line note shown when an answer is not in the
customer's language."""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections import Counter
from typing import Any

# A BCP 47-like tag: "en", "zh", "fa", "pt-BR", "zh-Hant".
_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")

# Shown above an answer taken from another language's article. Keyed by the customer's
# language; {language} is the article's language, named in the customer's language. One
# small table until the hub's message catalogs take the bot's texts over.
NOT_IN_YOUR_LANGUAGE = {
    "en": "This article is not yet available in your language; here it is in {language}.",
    "zh": "这篇文章还没有您的语言版本；以下是{language}版本。",
    "fa": "این مقاله هنوز به زبان شما موجود نیست؛ نسخهٔ {language} آن را می‌بینید.",
}
LANGUAGE_NAMES = {
    "en": {"en": "English", "zh": "Chinese", "fa": "Persian"},
    "zh": {"en": "英文", "zh": "中文", "fa": "波斯文"},
    "fa": {"en": "انگلیسی", "zh": "چینی", "fa": "فارسی"},
}


def is_tag(value: str) -> bool:
    return bool(_TAG.match(value))


def primary(tag: str | None) -> str:
    """The language of a tag without its region or script: "zh-Hant" -> "zh"."""
    return (tag or "").split("-", 1)[0].lower()


def fallback_note(customer: str | None, article: str) -> str | None:
    """The note for an answer in `article`'s language, or None when it is the customer's
    own (or the customer's language is unknown)."""
    wanted, shown = primary(customer), primary(article)
    if not wanted or wanted == shown or shown == "und":  # "und": nothing to name
        return None
    template = NOT_IN_YOUR_LANGUAGE.get(wanted, NOT_IN_YOUR_LANGUAGE["en"])
    written_in = wanted if wanted in NOT_IN_YOUR_LANGUAGE else "en"
    name = LANGUAGE_NAMES[written_in].get(shown) or language_name(shown, written_in)
    return template.format(language=name)


@functools.cache
def language_name(tag: str, in_language: str | None = None) -> str:
    """A language's name from Babel's CLDR data, in `in_language` or else in itself ("es" in
    English: "Spanish"; "fa" in itself: "فارسی"), or the tag when CLDR has none."""
    from babel import Locale, UnknownLocaleError

    named = tag.replace("-", "_")
    try:
        if in_language is None:
            name = Locale.parse(named).get_display_name(named)
        else:
            name = Locale.parse(in_language.replace("-", "_")).languages.get(named)
    except (ValueError, UnknownLocaleError):
        return tag
    return str(name or tag)


# A Han character carries about as much as a short word of an alphabet: "olly 安静" is
# Chinese with a name in it.
HAN_WEIGHT = 3
# The language whose shipped sentences stand for each script when centring vectors.
SCRIPT_LANGUAGE = {"Latin": "en", "Han": "zh", "Arabic": "fa"}


def script_of(text: str) -> str:
    """The script most of the text's letters are in: "Han", "Arabic", "Latin", ... (the
    first word of each letter's Unicode name), or "" for a text without letters."""
    counts: Counter[str] = Counter()
    for char in text:
        if char.isalpha():
            name = unicodedata.name(char, "")
            if name.startswith("CJK"):
                counts["Han"] += HAN_WEIGHT
            elif name:
                counts[name.split(" ", 1)[0].capitalize()] += 1
    return counts.most_common(1)[0][0] if counts else ""


# Letters only Urdu's alphabet uses among the Arabic script's (ٹ ڈ ڑ ں ے), and letters Persian
# (and Urdu) use that Arabic does not (پ چ ژ گ, Persian yeh and keheh).
_URDU_ONLY = frozenset("\u0679\u0688\u0691\u06ba\u06d2")
_PERSIAN = frozenset("\u067e\u0686\u0698\u06af\u06cc\u06a9")
# Scripts written by one main language.
_SCRIPT_TAG = {"Hangul": "ko", "Hiragana": "ja", "Katakana": "ja", "Thai": "th", "Greek": "el"}


# Languages told apart by their words where the script is shared (lingua's n-gram models,
# offline): the most written Latin- and Cyrillic-script languages that multilingual-e5 was
# trained on. English stays the default: another is taken only when lingua is this sure of
# it among these (set a priori), on a text with at least this many letters. The letters:
# on random English questions from CLINC150 and MASSIVE, one question alone (20+ letters)
# was taken for another language 6 times in 1,692, two together once in 1,996, and nothing
# of 60 letters or more was (0 of 2,999); nor were any of this project's and the two
# benchmarks' 216 English articles, whole.
_BY_WORDS = {
    "Latin": (
        "ENGLISH", "SPANISH", "FRENCH", "GERMAN", "PORTUGUESE", "ITALIAN", "DUTCH", "POLISH",
        "SWEDISH", "DANISH", "BOKMAL", "FINNISH", "CZECH", "ROMANIAN", "HUNGARIAN", "TURKISH",
        "INDONESIAN", "MALAY", "VIETNAMESE", "CATALAN",
    ),
    "Cyrillic": ("RUSSIAN", "UKRAINIAN", "BULGARIAN", "SERBIAN", "MACEDONIAN", "KAZAKH"),
}  # fmt: skip
_SURE = 0.95
_MIN_LETTERS = 60
_detectors: dict[tuple[str, ...], Any] = {}
_detectors_lock = threading.Lock()


def lingua_detector(languages: tuple[str, ...]) -> Any:
    """One lingua detector for `languages` (lingua's names: "ENGLISH", "PERSIAN"), built once
    per process. Low-accuracy mode (trigram models only): about 20 MB and a third of a second
    to load for six languages, against some 180 MB and 3 s with the full models; it gives up
    on texts of a word or two, which is what its callers want anyway."""
    with _detectors_lock:
        if languages not in _detectors:
            from lingua import Language, LanguageDetectorBuilder

            chosen = [getattr(Language, name) for name in languages]
            _detectors[languages] = (
                LanguageDetectorBuilder.from_languages(*chosen).with_low_accuracy_mode().build()
            )
        return _detectors[languages]


def sure_language(detector: Any, text: str, confidence: float) -> str | None:
    """The ISO 639-1 code of the language `detector` gives at least `confidence` (lingua's
    values are relative among its languages), else None."""
    values = detector.compute_language_confidence_values(text)
    if not values or values[0].value < confidence:
        return None
    return str(values[0].language.iso_code_639_1.name.lower())


def _by_words(script: str, text: str) -> str | None:
    """The language lingua is sure `text` is in among `script`'s candidates, else None."""
    if sum(char.isalpha() for char in text) < _MIN_LETTERS:
        return None
    return sure_language(lingua_detector(_BY_WORDS[script]), text, _SURE)


def guess_language(text: str) -> str:
    """The language of an article that does not say (`lang:`): Chinese or Japanese (kana)
    for Han; Persian, Urdu or Arabic by the letters only they use; Korean, Thai, Greek by
    their script; a Latin- or Cyrillic-script language by its words when lingua is sure of
    it (Spanish, Russian...). Otherwise "en" for Latin letters (or none), as before, and "und"
    (undetermined) for a script shared by many languages (Devanagari...)."""
    script = script_of(text)
    if script in ("Latin", "Cyrillic"):
        return _by_words(script, text) or ("en" if script == "Latin" else "und")
    if script == "":
        return "en"
    letters = set(text)
    if script == "Han":
        kana = any(script_of(c) in ("Hiragana", "Katakana") for c in letters)
        return "ja" if kana else "zh"
    if script == "Arabic":
        return "ur" if letters & _URDU_ONLY else "fa" if letters & _PERSIAN else "ar"
    return _SCRIPT_TAG.get(script, "und")
