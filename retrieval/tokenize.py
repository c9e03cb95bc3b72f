"""Words for the lexical index, per script, so BM25 works beyond English.

Text is first normalised (Unicode NFKC; Persian and Arabic digits to ASCII; Arabic yeh and
kaf to their Persian forms; tatweel and short-vowel marks dropped), then split into runs of
one script, each tokenised its own way:

- Han (Chinese): Traditional folded to Simplified (OpenCC `t2s`), segmented into words with
  jieba, plus the character bigrams of each run: segmenters disagree on short queries, and a
  bigram still matches when the words do not;
- Arabic script (Persian, Arabic, Urdu...): words at spaces and punctuation; the zero-width
  non-joiner (ZWNJ), which writers use or leave out between a word and its affixes
  (می‌خواهم, کتاب‌ها), splits there, so both spellings share the stem;
- everything else (Latin, Cyrillic, Greek, digits...): lower-cased words, English stop words
  dropped and a light English plural/-ing fold, as before.

A script without spaces between words other than Han (Japanese kana, Thai) falls back to
character bigrams, which need no dictionary.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from functools import lru_cache
from typing import Any

# Words so common in support questions that matching them says nothing.
STOP_EN = frozenset(
    (
        "a an and are can could do does for from how i in is it me my of on or please the to "
        "what when where which why with you your"
    ).split()
)
STOP_FA = frozenset(
    (
        "و در به از که این آن را با برای است هست یک تا من تو ما شما او می نمی ها های "
        "چطور چگونه چه چی کنم کنید کن شود می‌شود آیا هم یا بر"
    ).split()
)
STOP_ZH = frozenset(
    "的 了 吗 呢 吧 啊 我 你 是 在 有 和 就 都 也 要 会 能 怎么 如何 什么 请 一个 这个 那个".split()
)

_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
_ARABIC_TO_PERSIAN = str.maketrans({"ي": "ی", "ى": "ی", "ك": "ک", "ۀ": "ه", "ـ": None})
_MARKS = re.compile("[\u064b-\u065f\u0670]")  # harakat, tanwin, superscript alef
ZWNJ = "\u200c"

# Runs of one script: Han ideographs; Arabic script; kana and Thai (bigrams); other words.
_RUNS = re.compile(
    r"(?P<han>[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)"
    r"|(?P<arabic>[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]+)"
    r"|(?P<nospace>[\u3040-\u30ff\u0e00-\u0e7f]+)"
    r"|(?P<word>[^\W_]+)"
)


def normalize(text: str) -> str:
    """The text every tokenizer sees (see the module's docstring)."""
    text = unicodedata.normalize("NFKC", text).translate(_DIGITS).translate(_ARABIC_TO_PERSIAN)
    text = _MARKS.sub("", text)
    return text.replace(ZWNJ, " ").lower()


def tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    for run in _RUNS.finditer(normalize(text)):
        kind, value = run.lastgroup, run.group()
        if kind == "han":
            tokens += han_tokens(value)
        elif kind == "arabic":
            if value not in STOP_FA:
                tokens.append(value)
        elif kind == "nospace":
            tokens += bigrams(value)
        elif value not in STOP_EN:
            tokens.append(stem_en(value))
    return tokens


def han_tokens(run: str) -> list[str]:
    """jieba's words of a Han run (Simplified), and its character bigrams."""
    simplified = to_simplified(run)
    words = [w for w in _jieba().lcut(simplified) if w not in STOP_ZH]
    return words + [f"{b}\u0001" for b in bigrams(simplified)]


def bigrams(run: str) -> list[str]:
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def stem_en(token: str) -> str:
    # A light fold of plurals and -ing forms; enough to match "invoices" with "invoice"
    # and "syncing" with "sync", without a stemmer's surprises on product words.
    if len(token) > 4 and token.endswith("ies"):
        return token[:-3] + "y"
    if len(token) > 5 and token.endswith("ing"):
        return token[:-3]
    if len(token) > 3 and token.endswith("s") and not token.endswith(("ss", "us", "is")):
        return token[:-1]
    return token


def to_simplified(text: str) -> str:
    return str(_opencc().convert(text))


@lru_cache(maxsize=1)
def _opencc() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


@lru_cache(maxsize=1)
def _jieba() -> Any:
    import jieba

    jieba.setLogLevel(logging.WARNING)  # not "Building prefix dict..." on every start
    jieba.initialize()
    return jieba
