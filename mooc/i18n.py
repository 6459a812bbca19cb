"""Vietnamese first, English second: the locale choice and catalogues read from .po files.

Source strings are English; ``translations/vi/LC_MESSAGES/messages.po`` holds the
Vietnamese. The .po file is compiled in memory when first needed, so no binary .mo file
is committed or has to be built before the app runs.
"""

from __future__ import annotations

import io
from functools import cache, cached_property
from pathlib import Path

from babel import Locale, support
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, g, has_request_context, request
from flask_babel import Babel, Domain, LazyString, get_locale, get_translations
from jinja2 import pass_eval_context
from jinja2.nodes import EvalContext
from markupsafe import Markup

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


def select_locale() -> Locale:
    """The visitor's choice (a cookie set by the language switch), else the site default; as
    Babel's ``Locale``, parsed once per process (Flask-Babel parses a name on every request)."""
    chosen = request.cookies.get(LANG_COOKIE) if has_request_context() else None
    return _parsed(chosen if chosen in LOCALES else settings().default_locale)


@cache
def _parsed(name: str) -> Locale:
    return Locale.parse(name)


def request_translations() -> support.NullTranslations:
    """The translations of the current locale, kept beside Flask-Babel's locale in ``g`` and
    found again with one look-up while that locale object stays (``force_locale`` and
    ``refresh`` replace it, so a mail rendered in another language is never served from the
    page's). Flask-Babel's own path looks ``g`` up nine times per string: on the report page's
    57 strings that was 0.6 ms of every request."""
    try:
        ctx = g.get("_flask_babel")
    except RuntimeError:  # no app context: Flask-Babel's answer (no translations)
        return get_translations()
    kept = getattr(ctx, "mooc_translations", None)
    if kept is not None and kept[0] is getattr(ctx, "babel_locale", None) is not None:
        return kept[1]
    translations = get_translations()  # sets the context's locale
    ctx = g.get("_flask_babel")
    if ctx is not None:
        ctx.mooc_translations = (getattr(ctx, "babel_locale", None), translations)
    return translations


def request_locale() -> Locale | None:
    """Flask-Babel's ``get_locale()`` with one look-up of ``g`` once the request's locale is
    chosen (Flask-Babel's own costs seven): number and date filters and the cached chrome's
    keys ask it many times a page. None outside an app context, as Flask-Babel answers."""
    try:
        ctx = g.get("_flask_babel")
    except RuntimeError:
        return None
    locale = getattr(ctx, "babel_locale", None)
    return locale if locale is not None else get_locale()


def gettext(string: str, /, **variables: object) -> str:
    """``_()`` in Python: Flask-Babel's gettext (``%`` formatting only when given variables),
    with ``request_translations``."""
    text = request_translations().ugettext(string)
    return text % variables if variables else text


def lazy_gettext(string: str, /, **variables: object) -> LazyString:
    """``_l()``: translated when read, in the language of the request (or mail) reading it."""
    return LazyString(gettext, string, **variables)


@pass_eval_context
def template_gettext(eval_ctx: EvalContext, string: str, /, **variables: object) -> str:
    """``_()`` and ``{% trans %}`` in templates: Jinja's new-style gettext (escaped when the
    template autoescapes, always a format string), with ``request_translations``."""
    text = request_translations().ugettext(string)
    if not variables and "%" not in text:  # what ``% {}`` would give, without formatting
        return Markup(text) if eval_ctx.autoescape else text  # noqa: S704 (a catalogue's text)
    return (Markup(text) if eval_ctx.autoescape else text) % variables  # noqa: S704 (a catalogue's text)


@pass_eval_context
def template_ngettext(eval_ctx: EvalContext, singular: str, plural: str, num: int, /,
                      **variables: object) -> str:
    variables.setdefault("num", num)
    text = request_translations().ungettext(singular, plural, num)
    return (Markup(text) if eval_ctx.autoescape else text) % variables  # noqa: S704 (a catalogue's text)


def install_template_gettext(app: Flask) -> None:
    """After Flask-Babel's init_app (which installs its own callables, new-style)."""
    app.jinja_env.globals.update(_=template_gettext, gettext=template_gettext, ngettext=template_ngettext)
