"""The customer's language from what they write (lingua-language-detector, offline).

Only the languages the hub supports are candidates, so Chinese (Han script) and Persian
(Arabic script) are told apart from the rest by their script alone, and the Latin-script
languages by lingua's n-gram models. A short greeting ("hi", "ok") is ambiguous between
English, German and French: only a confident detection counts, and the conversation flow
never lets it override a language chosen explicitly, nor switch between languages of one
script (handoff.languages.adopt_detected_language).

The models load lazily, on the first text that needs them (low-accuracy mode: about 20 MB
for the six languages).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from retrieval.languages import lingua_detector, sure_language

# Our conversation languages (primary subtags) and lingua's names for them.
SUPPORTED = {
    "en": "ENGLISH",
    "zh": "CHINESE",
    "fa": "PERSIAN",
    "fr": "FRENCH",
    "de": "GERMAN",
    "es": "SPANISH",
}
# lingua's confidence values are relative among the candidates (they sum to 1); below this
# the text could as well be another of them. Chosen a priori, not fitted to test sentences.
MIN_CONFIDENCE = 0.8
_LETTERS = re.compile(r"[^\W\d_]", re.UNICODE)


class LanguageDetector:
    def __init__(
        self, languages: Sequence[str] = tuple(SUPPORTED), min_confidence: float = MIN_CONFIDENCE
    ) -> None:
        self._languages = [x for x in languages if x in SUPPORTED]
        self._min_confidence = min_confidence

    def detect(self, text: str) -> str | None:
        """The language of `text` when one is clearly it, else None."""
        if len(_LETTERS.findall(text)) < 2 or len(self._languages) < 2:
            return None
        names = tuple(SUPPORTED[x] for x in self._languages)
        code = sure_language(lingua_detector(names), text, self._min_confidence)
        return code if code in self._languages else None


def detector(languages: Sequence[str] = tuple(SUPPORTED)) -> Callable[[str], str | None]:
    return LanguageDetector(languages).detect
