"""Vietnamese first, English second: the locale choice and catalogues read from .po files.

Source strings are English; ``translations/vi/LC_MESSAGES/messages.po`` holds the
Vietnamese. The .po file is compiled in memory when first needed, so no binary .mo file
is committed or has to be built before the app runs.
"""

from __future__ import annotations

import io
from functools import cached_property
from pathlib import Path

from babel import Locale, support
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import has_request_context, request
from flask_babel import Babel, Domain, get_locale

from mooc.config import settings

TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"
LOCALES = ("vi", "en")
LANG_COOKIE = "lang"


def load_catalogue(locale: str, directory: Path = TRANSLATIONS_DIR) -> support.NullTranslations:
    """Compile ``<directory>/<locale>/LC_MESSAGES/messages.po`` into translations in memory."""
    po_path = directory / locale / "LC_MESSAGES" / "messages.po"
    if not po_path.is_file():
        return support.NullTranslations()
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=Locale.parse(locale))
    buffer = io.BytesIO()
    write_mo(buffer, catalog)  # fuzzy entries are left out, as gettext would
    buffer.seek(0)
    return support.Translations(fp=buffer)


class PoDomain(Domain):
    def get_translations(self):
        locale = str(get_locale() or "vi")
        if locale not in self.cache:
            self.cache[locale] = load_catalogue(locale)
        return self.cache[locale]


class MoocBabel(Babel):
    @cached_property
    def domain_instance(self) -> Domain:
        return PoDomain()


def select_locale() -> str:
    """The visitor's choice (a cookie set by the language switch), else the site default."""
    chosen = request.cookies.get(LANG_COOKIE) if has_request_context() else None
    if chosen in LOCALES:
        return chosen
    return settings().default_locale
