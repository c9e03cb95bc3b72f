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
import threading
from collections.abc import Callable, Sequence
from typing import Any

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
        self._detector: Any = None
        self._lock = threading.Lock()

    def _build(self) -> Any:
        from lingua import Language, LanguageDetectorBuilder

        with self._lock:
            if self._detector is None:
                chosen = [getattr(Language, SUPPORTED[x]) for x in self._languages]
                # Low-accuracy mode (trigram models only): about 20 MB and a third of a
                # second to load, against some 180 MB and 3 s with the full models. It gives
                # up on texts of a word or two, which is what we want anyway.
                self._detector = (
                    LanguageDetectorBuilder.from_languages(*chosen).with_low_accuracy_mode().build()
                )
        return self._detector

    def detect(self, text: str) -> str | None:
        """The language of `text` when one is clearly it, else None."""
        if len(_LETTERS.findall(text)) < 2 or len(self._languages) < 2:
            return None
        values = self._build().compute_language_confidence_values(text)
        if not values or values[0].value < self._min_confidence:
            return None
        code = values[0].language.iso_code_639_1.name.lower()
        return code if code in self._languages else None


def detector(languages: Sequence[str] = tuple(SUPPORTED)) -> Callable[[str], str | None]:
    return LanguageDetector(languages).detect
