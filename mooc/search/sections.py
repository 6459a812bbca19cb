"""A lesson cut into sections at its h2/h3 headings, so a hit can link to the right place.

Works on the sanitised HTML stored at sync (``Lesson.html``), where every heading carries
the id the lesson page uses as its anchor. Pure: no database, no Flask.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import unescape

from mooc.courses.render import html_to_text
from mooc.search.tokens import tokens

# Long sections are cut into parts of at most this many words (at a line break), so no
# indexed document grows without bound (PostgreSQL keeps word positions up to 16,383).
MAX_SECTION_WORDS = 3000

_HEADING_RE = re.compile(r"<(h[23])\b([^>]*)>(.*?)</\1\s*>", re.IGNORECASE | re.DOTALL)
# Footnote references (<sup><a class="footnote-ref">2</a></sup>) and back-links (↩) would glue
# their numbers and arrows to the words ("tỉnh2"): they are not part of the text.
_FOOTNOTE_LINKS_RE = re.compile(
    r"<sup\b[^>]*>\s*<a\b[^>]*\bfootnote-ref\b[^>]*>.*?</a>\s*</sup>|<a\b[^>]*\bfootnote-backref\b[^>]*>.*?</a>",
    re.IGNORECASE | re.DOTALL,
)
_ID_RE = re.compile(r"""\bid\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)


@dataclass(frozen=True)
class Section:
    position: int
    anchor: str  # the heading's id ("" for the text before the first heading)
    heading: str  # the heading's text ("" for the text before the first heading)
    body: str  # plain text, one block per line
    # tokens(body), counted anyway to cut long sections (None: not known, tokens(body) it is)
    words: list[str] | None = field(default=None, compare=False, repr=False)


def split_sections(html: str) -> list[Section]:
    """The lesson's sections in order. The first one (anchor "") is always there, even
    empty: a match on the lesson's title lands on the top of the page."""
    html = _FOOTNOTE_LINKS_RE.sub("", html)
    parts: list[tuple[str, str, str]] = []  # (anchor, heading, html of the body)
    anchor, heading, start = "", "", 0
    for match in _HEADING_RE.finditer(html):
        found = _ID_RE.search(match.group(2))
        if not found:
            continue  # a heading without an anchor cannot be linked to: it stays in the text
        parts.append((anchor, heading, html[start:match.start()]))
        anchor = unescape(found.group(1) if found.group(1) is not None else found.group(2))
        heading = " ".join(html_to_text(match.group(3)).split())
        start = match.end()
    parts.append((anchor, heading, html[start:]))

    sections: list[Section] = []
    for anchor, heading, body_html in parts:
        for body, words in _cut(html_to_text(body_html)):
            sections.append(Section(len(sections), anchor, heading, body, words))
    return sections


def _cut(text: str) -> list[tuple[str, list[str]]]:
    """The text in parts of at most MAX_SECTION_WORDS words, cut between lines, each with its
    words: a part's words are its lines' words (no word spans a line: tokens() splits at
    every space, a line break too)."""
    chunks: list[tuple[str, list[str]]] = []
    lines: list[str] = []
    words: list[str] = []
    for line in text.split("\n"):
        found = tokens(line)
        if lines and len(words) + len(found) > MAX_SECTION_WORDS:
            chunks.append(("\n".join(lines), words))
            lines, words = [], []
        lines.append(line)
        words += found
    chunks.append(("\n".join(lines), words))
    return chunks
