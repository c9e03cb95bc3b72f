"""The hub's own words to customers in their language: gettext message catalogs (.po files
under api/i18n/locales, read with Babel when the hub starts; no compiled .mo files), and the
step that renders handoff's notices (handoff.texts) in the conversation's language."""

from api.i18n.catalogs import Catalogs, catalog_locale, is_rtl, load_catalogs, shared_catalogs
from api.i18n.detect import LanguageDetector
from api.i18n.localize import localize_notices

__all__ = [
    "Catalogs",
    "LanguageDetector",
    "catalog_locale",
    "is_rtl",
    "load_catalogs",
    "localize_notices",
    "shared_catalogs",
]
