"""Every string a person can see has its Vietnamese translation."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "mooc" / "translations" / "vi" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None}


def _source_messages() -> set[str]:
    method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
    found: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT / "mooc"), method_map=method_map, keywords=KEYWORDS):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_message_has_a_vietnamese_translation():
    with PO.open("rb") as handle:
        catalog = read_po(handle)
    translated = set()
    for message in catalog:
        singular = message.id[0] if isinstance(message.id, tuple) else message.id
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if singular and all(strings) and not message.fuzzy:
            translated.add(singular)
    source = _source_messages()
    assert len(source) > 30
    missing = sorted(source - translated)
    assert missing == [], "add these to messages.po (see docs/architecture.md, Translations)"


def test_template_strings_follow_the_locale_of_the_moment_and_escape_as_jinja_would(app):
    """Templates find their translations with one look-up (mooc/i18n.py): a locale forced for a
    mail in the middle of an English page is used and then let go, a non-HTML template is not
    escaped, variables are, and ``%%`` reads as ``%`` whether or not there are variables."""
    from flask import render_template_string
    from flask_babel import force_locale
    from markupsafe import Markup

    from mooc.i18n import LANG_COOKIE

    page = ("{{ _('Courses') }}|{{ _('%(n)d min read', n=3) }}|"
            "{{ ngettext('%(num)d lesson', '%(num)d lessons', 2) }}")
    with app.test_request_context("/", headers={"Cookie": f"{LANG_COOKIE}=en"}):
        assert render_template_string(page) == "Courses|3 min read|2 lessons"
        with force_locale("vi"):
            assert render_template_string(page) == "Khóa học|3 phút đọc|2 bài học"
        assert render_template_string(page) == "Courses|3 min read|2 lessons"
        html = render_template_string("{{ _('Hello %(name)s', name=who) }}|{{ _('100%% done') }}|"
                                      "{{ ngettext('%(num)s person', '%(num)s people', 2, num='2,0') }}|"
                                      "{{ _('%(string)s', string='s') }}", who="<b>")
        assert html == "Hello &lt;b&gt;|100% done|2,0 people|s"  # a variable may be called num or string
        text = "{% autoescape false %}{{ _('Hello %(name)s', name=who) }}{% endautoescape %}"
        assert render_template_string(text, who="<b>") == "Hello <b>"  # as in a mail's .txt
        assert render_template_string("{{ _('<em>') }}") == Markup("<em>")  # a catalogue's text is markup
