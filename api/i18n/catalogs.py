"""Message catalogs, one per locale, loaded from .po files at start-up.

Conversations carry a language tag ("zh", "zh-CN", "fa", "en-GB"); a catalog is found by the
full tag first (zh_CN), then by its primary subtag through LOCALES (zh is zh_CN). A msgid a
catalog lacks (or has fuzzy or empty) stays in English, as gettext does.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).parent / "locales"
DOMAIN = "frontline"
# The catalog for a bare primary subtag, where a language has more than one.
LOCALES = {"zh": "zh_CN"}
# Right-to-left scripts among the languages we have catalogs for (and their neighbours).
RTL = frozenset({"ar", "fa", "he", "ur", "ps", "ckb", "yi", "dv"})


def catalog_locale(language: str) -> str:
    """ "zh-cn" -> "zh_CN", "fa" -> "fa", "zh" -> "zh_CN" (LOCALES)."""
    parts = [p for p in re.split(r"[-_]", language.strip()) if p]
    if not parts:
        return "en"
    primary = parts[0].lower()
    if len(parts) > 1 and re.fullmatch(r"[A-Za-z]{2}", parts[1]):
        return f"{primary}_{parts[1].upper()}"
    return LOCALES.get(primary, primary)


@dataclass(frozen=True)
class Catalogs:
    by_locale: dict[str, dict[str, str]]

    @property
    def locales(self) -> list[str]:
        return sorted(self.by_locale)

    def gettext(self, language: str, msgid: str) -> str:
        locale = catalog_locale(language)
        primary = locale.split("_")[0]
        for key in (locale, LOCALES.get(primary, primary), primary):
            translated = self.by_locale.get(key, {}).get(msgid)
            if translated:
                return translated
        return msgid

    def translator(self, language: str) -> Callable[[str], str]:
        return lambda msgid: self.gettext(language, msgid)


def is_rtl(language: str) -> bool:
    return catalog_locale(language).split("_")[0] in RTL


def load_catalogs(directory: Path = LOCALE_DIR, domain: str = DOMAIN) -> Catalogs:
    """Every <directory>/<locale>/LC_MESSAGES/<domain>.po: its translated, non-fuzzy messages."""
    by_locale: dict[str, dict[str, str]] = {}
    for po in sorted(directory.glob(f"*/LC_MESSAGES/{domain}.po")):
        locale = po.parent.parent.name
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=locale)
        by_locale[locale] = {
            str(m.id): str(m.string)
            for m in catalog
            if m.id
            and isinstance(m.id, str)
            and isinstance(m.string, str)
            and m.string
            and not m.fuzzy
        }
    return Catalogs(by_locale)


@functools.cache
def shared_catalogs() -> Catalogs:
    """The catalogs shipped with the hub, loaded once (the channels' own words use them)."""
    return load_catalogs()
