"""Markdown -> safe HTML, once, at sync time.

Python-Markdown with the extensions authors need (tables, footnotes, callouts, details,
abbreviations, code highlighting, headings with anchors); relative links to other course
files rewritten to the app's URLs; then an allow-list sanitiser (nh3), because
Python-Markdown passes raw HTML, ``javascript:`` links and event handlers straight through.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser
from typing import Any
from xml.etree.ElementTree import Element

import markdown
import nh3
from markdown.extensions import Extension
from markdown.extensions.toc import TocExtension, TocTreeprocessor
from markdown.inlinepatterns import InlineProcessor as NewInlinePattern
from markdown.treeprocessors import InlineProcessor, Treeprocessor
from markdown.util import AtomicString
from pygments.token import STANDARD_TYPES

from mooc.courses.format import CALLOUT_KINDS as AUTHORED_CALLOUT_KINDS
from mooc.courses.media import MEDIA_CLASSES, Media, media_element
from mooc.text import fold

RENDER_VERSION = "2"  # bump when the rendering changes, so the next sync re-renders everything
render_calls = 0  # counted so benchmarks and tests can prove an unchanged sync renders nothing

ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "dd",
    "del",
    "details",
    "div",
    "dl",
    "dt",
    "em",
    "figcaption",
    "figure",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "ins",
    "kbd",
    "li",
    "mark",
    "ol",
    "p",
    "pre",
    "s",
    "small",
    "span",
    "strong",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
}
ALLOWED_ATTRIBUTES = {
    "*": {"class", "id"},  # both filtered by _filter_attribute
    "a": {"href", "title"},
    "abbr": {"title"},
    "img": {"src", "alt", "title", "width", "height"},
    "ol": {"start"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "details": {"open"},
}
URL_SCHEMES = {"http", "https", "mailto"}

# Authors' ids (headings, footnotes, {#id}, raw HTML) live in their own namespace, so a lesson
# cannot clobber the site's ids (#main, #timer, #attempt-form, #toc-heading...); links to
# "#x" and the outline follow (author_anchor). "u-" is used by no id of the site's templates.
AUTHOR_ID_PREFIX = "u-"

# Callout kinds (`!!! kind`, `??? kind`), as the site's CSS styles them or might; never a class the
# site's templates use for something else ("hint", "question"...): see
# tests/courses/test_sanitiser.py::test_author_classes_never_collide_with_the_sites.
CALLOUT_KINDS = frozenset(AUTHORED_CALLOUT_KINDS)
PYGMENTS_CLASSES = frozenset(name for name in STANDARD_TYPES.values() if name)
# The only classes a lesson may carry: those the Markdown extensions of _markdown() emit, per tag.
# An author's own classes ({.x}, raw HTML) are dropped.
EXTENSION_CLASSES: dict[str, frozenset[str]] = {
    "div": CALLOUT_KINDS | {"admonition", "highlight", "linenodiv", "footnote", "toc"},
    "p": frozenset({"admonition-title"}),
    "details": CALLOUT_KINDS,
    "a": frozenset({"footnote-ref", "footnote-backref"}),
    "code": frozenset({"highlight"}),
    "table": frozenset({"highlighttable"}),
    "td": frozenset({"linenos", "code"}),
    "th": frozenset({"filename"}),
    "span": PYGMENTS_CLASSES | {"hll", "filename", "normal", "special", "linenos", "toctitle"},
}

# --- video and audio: what the player's markup (media.media_element) needs from the sanitiser ---
MEDIA_TAGS = {"video", "audio", "source", "track"}
MEDIA_ATTRIBUTES = {
    "video": {"controls", "poster", "playsinline", "aria-label"},
    "audio": {"controls", "aria-label"},
    "source": {"src", "type"},
    "track": {"kind", "src", "srclang", "label", "default"},
    "a": {"download", "hreflang"},
}
# always, whatever the source says: a slow link loads nothing until the trainee presses play
MEDIA_FORCED_ATTRIBUTES = {"video": {"preload": "none"}, "audio": {"preload": "none"}}
MEDIA_ALLOWED_CLASSES = {  # the classes the player uses, per tag: allowed beside EXTENSION_CLASSES
    "figure": {"lesson-media", "lesson-media-video", "lesson-media-audio"},
    "span": {"lesson-media-title", "lesson-media-links"},
    "a": {"lesson-media-download", "lesson-media-captions"},
}
assert set().union(*MEDIA_ALLOWED_CLASSES.values()) == MEDIA_CLASSES
ALLOWED_TAGS |= MEDIA_TAGS
for _tag, _names in MEDIA_ATTRIBUTES.items():
    ALLOWED_ATTRIBUTES[_tag] = ALLOWED_ATTRIBUTES.get(_tag, set()) | _names
for _tag, _classes in MEDIA_ALLOWED_CLASSES.items():
    EXTENSION_CLASSES[_tag] = EXTENSION_CLASSES.get(_tag, frozenset()) | _classes

Resolver = Callable[[str, bool], str | None]  # (target as written, is_image) -> URL or None
MediaResolver = Callable[[str], Media | None]  # target as written -> the video or audio file, or None


def slugify(value: str, separator: str = "-") -> str:
    """Heading anchors without diacritics: 'Quyết định thanh tra' -> 'quyet-dinh-thanh-tra'."""
    text = re.sub(r"[^a-z0-9]+", separator, fold(value))
    return text.strip(separator) or "muc"


class _LinkRewriter(Treeprocessor):
    def __init__(self, md: markdown.Markdown, links: _LinkExtension) -> None:
        super().__init__(md)
        self.links = links  # read at each run: a reused Markdown object renders for many documents

    def run(self, root: Element) -> None:
        resolver = self.links.resolver
        if resolver is None:
            return
        for element in root.iter():
            if element.tag == "a" and element.get("href"):
                url = resolver(element.get("href", ""), False)
                if url is not None:
                    element.set("href", url)
            elif element.tag == "img" and element.get("src"):
                url = resolver(element.get("src", ""), True)
                if url is not None:
                    element.set("src", url)
                element.set("loading", "lazy")


class _MediaEmbedder(Treeprocessor):
    """`![title](video/x.mp4)`: the player instead of a picture; a figure when the image is
    alone in its paragraph, else the player and its links inline."""

    def __init__(self, md: markdown.Markdown, links: _LinkExtension) -> None:
        super().__init__(md)
        self.links = links

    def run(self, root: Element) -> None:
        find = self.links.media
        if find is None:
            return
        parents = {child: parent for parent in root.iter() for child in parent}
        for image in [e for e in root.iter("img") if e.get("src")]:
            media = find(image.get("src", ""))
            if media is None:
                continue
            parent = parents[image]
            alone = (parent.tag == "p" and len(parent) == 1 and not (parent.text or "").strip()
                     and not (image.tail or "").strip() and parent in parents)
            title = image.get("alt", "").strip()
            if alone:
                holder = parents[parent]
                index = list(holder).index(parent)
                (figure,) = media_element(media, title, block=True)
                figure.tail = parent.tail
                holder.remove(parent)
                holder.insert(index, figure)
            else:
                index = list(parent).index(image)
                player, links = media_element(media, title, block=False)
                links.tail = image.tail
                parent.remove(image)
                parent.insert(index, player)
                parent.insert(index + 1, links)


class _LinkExtension(Extension):
    """The document's link and media resolvers, set before each conversion (None: left as written)."""

    def __init__(self) -> None:
        super().__init__()
        self.resolver: Resolver | None = None
        self.media: MediaResolver | None = None

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        md.treeprocessors.register(_LinkRewriter(md, self), "mooc_links", 1)
        # before the links are rewritten: it reads the paths as written
        md.treeprocessors.register(_MediaEmbedder(md, self), "mooc_media", 2)


# What each inline pattern's regular expression cannot match without: one of these strings in
# the text. Keyed by the expression as Python-Markdown and pymdownx write it today: a pattern
# whose expression is not here (another version, another extension) is tried with that
# expression itself before its full run (_InlinePatterns), which is exact too, only slower.
INLINE_NEEDS: dict[str, tuple[str] | tuple[str, str]] = {
    r"(?:(?<!\\)((?:\\{2})+)(?=`+)|(?<!\\)`)": ("`",),  # inline code (pymdownx.inlinehilite)
    r"\\(.)": ("\\",),  # a backslash escape
    r"\[\^([^\]]*)\]": ("[^",),  # a footnote's reference
    r"(?<!\!)\[": ("[",),  # links and references
    r"\!\[": ("![",),  # images
    r"<([A-Za-z][A-Za-z0-9+.-]*://[^<>]*)>": ("<",),  # <https://...>
    r"<([^<> !]+@[^@<> ]+)>": ("<",),  # <name@example.vn>
    r"  \n": ("  \n",),  # a line break
    r"(&(?:\#[0-9]+|\#x[0-9a-fA-F]+|[a-zA-Z0-9]+);)": ("&",),  # an entity
    r"\*|_": ("*", "_"),  # emphasis
    r"\~|=": ("~", "="),  # ~~deleted~~, ==marked== (pymdownx.tilde, pymdownx.mark)
    # inline HTML (markdown.inlinepatterns.HTML_RE): every branch opens with "<"
    (r"""(<(\/?+[a-zA-Z][^\s"'<>@]*+(?:\s+[^\s"'=<>]++(?:\s*+=\s*+(?:"[^"]*+"|'[^']*+'|[^\s"'=<>]++))?+)*+"""
     r"""\s*+/?|!--(?:(?!<!--|-->).)*--|[?](?:(?!<[?]|[?]>).)*[?]|!\[CDATA\[(?:(?!<!\[CDATA\[|\]\]>).)*\]\])>)"""):
     ("<",),
}


class _InlinePatterns(InlineProcessor):
    """Python-Markdown's inline processor, doing the same, without trying at every text node
    each of its 16 patterns that cannot match there (a footnote's pattern where no '[^' is):
    of 480 pattern runs per generated lesson, 5 are left once each text is tested. A pattern
    skipped is one whose run would have found no match and changed nothing; the loop is
    InlineProcessor.__handleInline's, which after a pattern that did not match tries the next
    from the start of the text."""

    def run(self, tree: Element, ancestors: list[str] | None = None) -> Element:
        # (pattern, one string it needs, another (or the same), its expression when they are
        # unknown: "" is in every text)
        self.checks: list[tuple[Any, str, str, Any]] = []
        for pattern in self.inlinePatterns:
            exact = pattern.getCompiledRegExp() if isinstance(pattern, NewInlinePattern) else None
            needs = INLINE_NEEDS.get(exact.pattern) if exact is not None else None
            if needs is None:
                self.checks.append((pattern, "", "", exact))
            else:
                self.checks.append((pattern, needs[0], needs[-1], None))
        self.apply = getattr(self, "_InlineProcessor__applyPattern")  # noqa: B009 (a private name)
        return super().run(tree, ancestors)

    def _InlineProcessor__handleInline(self, data: str, patternIndex: int = 0) -> str:
        if isinstance(data, AtomicString):
            return data
        checks, apply = self.checks, self.apply
        start = 0
        while patternIndex < len(checks):
            pattern, one, other, exact = checks[patternIndex]
            if (one not in data and other not in data) or (
                    exact is not None and exact.search(data, start) is None):
                patternIndex, start = patternIndex + 1, 0  # what a run that found nothing returns
                continue
            data, matched, start = apply(pattern, data, patternIndex, start)
            if not matched:
                patternIndex += 1
        return data


class _Toc(TocTreeprocessor):
    """The headings' ids and their list (toc_tokens, the outline), as the toc extension makes
    them, without the table of contents it also builds, serialises and post-processes for a
    ``[TOC]`` marker (md.toc, never read here) when the document has no such marker: a marker
    is a childless element whose text is the marker (TocTreeprocessor.replace_marker)."""

    def run(self, doc: Element) -> None:
        marker = self.marker
        self.marked = bool(marker) and any(
            el.text and el.text.strip() == marker and not len(el) for el in doc.iter())
        super().run(doc)

    def build_toc_div(self, toc_list: list) -> Element:
        return super().build_toc_div(toc_list) if self.marked else Element("div")

    def replace_marker(self, root: Element, elem: Element) -> None:
        if self.marked:
            super().replace_marker(root, elem)


class _TocExtension(TocExtension):
    TreeProcessorClass = _Toc


class _Converter:
    """One Markdown object and its link extension, reset between documents: building one
    (15 extensions, their patterns and processors) costs more than converting a short lesson.
    ``plain``: Python-Markdown's own inline and toc processors (what the fast ones are tested
    against, tests/courses/test_sync_bulk.py)."""

    def __init__(self, plain: bool = False) -> None:
        self.links = _LinkExtension()
        self.md = _markdown(self.links, plain)
        if not plain:
            self.md.treeprocessors.register(_InlinePatterns(self.md), "inline", 20)

    def convert(self, source: str, resolver: Resolver | None, media: MediaResolver | None) -> str:
        self.md.reset()
        self.links.resolver, self.links.media = resolver, media
        try:
            return self.md.convert(source)
        finally:
            self.links.resolver = self.links.media = None


_local = threading.local()  # a Markdown object is not thread-safe: one per thread


def _converter() -> _Converter:
    converter = getattr(_local, "converter", None)
    if converter is None:
        converter = _local.converter = _Converter()
    return converter


def _markdown(links: _LinkExtension, plain: bool = False) -> markdown.Markdown:
    extensions: list[Any] = [
        "tables",
        "footnotes",
        "abbr",
        "attr_list",
        "def_list",
        "admonition",
        "sane_lists",
        "md_in_html",
        "pymdownx.details",
        "pymdownx.superfences",
        "pymdownx.highlight",
        "pymdownx.inlinehilite",
        "pymdownx.tilde",
        "pymdownx.mark",
        (TocExtension if plain else _TocExtension)(slugify=slugify, toc_depth="2-4", permalink=False),
    ]
    extensions.append(links)
    return markdown.Markdown(
        extensions=extensions,
        extension_configs={
            "pymdownx.highlight": {"use_pygments": True, "css_class": "highlight", "guess_lang": False},
            "footnotes": {"BACKLINK_TITLE": "Quay lại %d"},
        },
        output_format="html",
    )


@dataclass
class Rendered:
    html: str
    text: str
    headings: list[dict[str, Any]] = field(default_factory=list)


def author_anchor(name: str) -> str:
    """An id (or #fragment) written in a lesson, in the authors' namespace. Idempotent."""
    return name if name.startswith(AUTHOR_ID_PREFIX) else AUTHOR_ID_PREFIX + name


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "class":
        allowed = EXTENSION_CLASSES.get(tag, frozenset())
        kept = [name for name in value.split() if name in allowed]
        return " ".join(kept) or None
    if attribute == "id":
        return author_anchor(value) if value else None
    if attribute == "href" and value.startswith("#") and len(value) > 1:
        return "#" + author_anchor(value[1:])
    return value


SANITISER_OPTIONS: dict[str, Any] = {
    "tags": ALLOWED_TAGS,
    "attributes": ALLOWED_ATTRIBUTES,
    "attribute_filter": _filter_attribute,
    "url_schemes": URL_SCHEMES,
    "link_rel": "noopener noreferrer",
    "strip_comments": True,
    "set_tag_attribute_values": MEDIA_FORCED_ATTRIBUTES,
}
# One sanitiser built with these options for every fragment (nh3.clean builds one per call: a
# third of its time on a lesson); an nh3 older than its Cleaner (0.3) builds one per call.
_cleaner = nh3.Cleaner(**SANITISER_OPTIONS) if hasattr(nh3, "Cleaner") else None


def sanitize(html: str) -> str:
    if _cleaner is None:
        return nh3.clean(html, **SANITISER_OPTIONS)
    return _cleaner.clean(html)


def render(source: str, resolver: Resolver | None = None, media: MediaResolver | None = None) -> Rendered:
    """Render Markdown to sanitised HTML, its plain text and its headings (for the outline).
    ``media`` finds the video and audio files that `![title](...)` shows as players."""
    global render_calls
    render_calls += 1
    converter = _converter()
    html = sanitize(converter.convert(source, resolver, media))
    md = converter.md
    headings: list[dict[str, Any]] = []

    def walk(tokens: list[dict[str, Any]]) -> None:
        for token in tokens:
            headings.append({"id": author_anchor(token["id"]), "text": _unescape(token["name"]),
                             "level": token["level"]})
            walk(token.get("children", []))

    walk(getattr(md, "toc_tokens", []))
    return Rendered(html=html, text=html_to_text(html), headings=headings)


# id="u-..." and href="#u-..." inside a tag of sanitised HTML (every author id and every link to one
# is in the authors' namespace: _filter_attribute)
_AUTHOR_ID_RE = re.compile(r'(\s(?:id="|href="#))' + AUTHOR_ID_PREFIX)
_SCOPE_RE = re.compile(r"[^A-Za-z0-9_.:-]+")


def scope_ids(html: str, scope: str) -> str:
    """Rendered HTML whose ids, and the links inside it to them, are the piece's own: a page
    that shows several separately rendered pieces (the questions of an attempt, their texts and
    explanations; a course's introduction and its modules') would otherwise carry each piece's
    ``u-fn:1``, ``u-fnref:1`` and heading ids once per piece: duplicate ids, and a footnote's
    link jumping to the first question's note. ``u-x`` becomes ``u-<scope>-x``. Plain string
    work on the sanitiser's output (no Markdown parser): safe on a request, and on HTML stored
    by any earlier version (an attempt keeps what it showed)."""
    if ' id="u-' not in html and 'href="#u-' not in html:
        return html
    prefix = f"{AUTHOR_ID_PREFIX}{_SCOPE_RE.sub('-', scope)}-"
    return _TAG_RE.sub(lambda tag: _AUTHOR_ID_RE.sub(lambda a: a.group(1) + prefix, tag.group(0)), html)


ID_ATTRIBUTE_RE = re.compile(r"""\sid=["']([^"']+)["']""")


def anchor_ids(source: str) -> set[str]:
    """The ids a rendered page has (heading anchors, footnotes, ``{#id}``), for `check` to
    test ``#anchor`` links against. Not counted in ``render_calls``: nothing is stored."""
    return set(ID_ATTRIBUTE_RE.findall(_converter().convert(source, None, None)))


def raw_markdown(source: str) -> str:
    """The HTML Python-Markdown makes of ``source``, before the sanitiser: for `check` to see
    what the renderer left as written. Not counted in ``render_calls``: nothing is stored."""
    return _converter().convert(source, None, None)


def _unescape(value: str) -> str:
    return unescape(re.sub(r"<[^>]+>", "", value))


class _TextExtractor(HTMLParser):
    BLOCKS = {
        "p",
        "li",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "td",
        "th",
        "pre",
        "blockquote",
        "div",
        "dt",
        "dd",
        "summary",
        "br",
        "tr",
    }

    # A player's fallback and its download and caption links are not the lesson's text (its title is).
    SKIPPED = {"video", "audio"}
    SKIPPED_CLASS = "lesson-media-links"

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping: list[str] = []  # the open tags whose text is skipped

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if (tag in self.SKIPPED or (self.skipping and tag == self.skipping[-1])
                or (tag == "span" and dict(attrs).get("class") == self.SKIPPED_CLASS)):
            self.skipping.append(tag)
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self.skipping and tag == self.skipping[-1]:
            self.skipping.pop()

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


# HTML as the sanitiser writes it: tags whose attribute values are quoted, text without "<",
# every "&" starting an entity that ends with ";", no comments, no scripts.
_TAG_RE = re.compile(r"""<(/?)([a-zA-Z][a-zA-Z0-9]*)((?:[^>"']|"[^"]*"|'[^']*')*)>""")
_ATTR_RE = re.compile(r"""([^\s/>"'=]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s"'>]*))?""")
_LOOSE_RE = re.compile(r"<[!?]|<(?:script|style|textarea|title|xmp|plaintext)\b|&(?![#a-zA-Z0-9]+;)", re.I)


def _fast_parts(html: str) -> list[str] | None:
    """What _TextExtractor collects, read with regular expressions (five times faster); None
    when the HTML is not of the sanitiser's kind and needs the real parser."""
    if _LOOSE_RE.search(html):
        return None
    extractor = _TextExtractor()
    position = 0
    for match in _TAG_RE.finditer(html):
        text = html[position:match.start()]
        if "<" in text:
            return None
        if text:
            extractor.handle_data(unescape(text))
        position = match.end()
        tag = match.group(2).lower()
        if match.group(1):
            extractor.handle_endtag(tag)
            continue
        rest = match.group(3)
        attrs: list[tuple[str, str | None]] = []
        if tag == "span":
            for name, value in _ATTR_RE.findall(rest.rstrip("/")):
                if value[:1] in ("'", '"'):
                    value = value[1:-1]
                attrs.append((name.lower(), unescape(value)))
        extractor.handle_starttag(tag, attrs)
        if rest.endswith("/"):
            extractor.handle_endtag(tag)
    text = html[position:]
    if "<" in text:
        return None
    if text:
        extractor.handle_data(unescape(text))
    return extractor.parts


def html_to_text(html: str) -> str:
    parts = _fast_parts(html)
    if parts is None:
        parser = _TextExtractor()
        parser.feed(html)
        parts = parser.parts
    lines = (" ".join(line.split()) for line in "".join(parts).split("\n"))
    return "\n".join(line for line in lines if line)


def html_to_text_by_parser(html: str) -> str:
    """html_to_text with Python's HTML parser only: what the fast path is tested against."""
    parser = _TextExtractor()
    parser.feed(html)
    lines = (" ".join(line.split()) for line in "".join(parser.parts).split("\n"))
    return "\n".join(line for line in lines if line)


# --- what `check` looks at in the source, line by line -------------------------------------------

# [text](target "title"): the target as Python-Markdown reads it, spaces included
# ('images/sơ đồ.svg') or between angle brackets ('<images/sơ đồ.svg>'), else a link the
# renderer shows would escape the check (and the re-render when what it names moves).
INLINE_LINK_RE = re.compile(
    r"(!?)\[((?:[^\[\]]|\[[^\]]*\])*)\]\(\s*(?:<([^>\n]*)>|([^)\n]*?))"
    r"(?:\s+(?:\"[^\"\n]*\"|'[^'\n]*'))?\s*\)"
)
REFERENCE_DEF_RE = re.compile(r"^\s{0,3}\[([^\]]+)\]:\s*<?(\S+?)>?(?:\s+[\"'(].*)?$")
# a player written in HTML: its file is not found (mooc/courses/unrendered.py tells the rest)
RAW_HTML_RE = re.compile(r"<\s*(video|audio|source|track)\b", re.IGNORECASE)
FENCE_RE = re.compile(r"^\s*(```|~~~)")
# <a href="..."> and <img src="..."> written as HTML: the renderer does not rewrite them
RAW_LINK_RE = re.compile(r"""<\s*(a|img)\b[^>]*?\s(?:href|src)\s*=\s*["']([^"']*)["']""", re.IGNORECASE)


@dataclass(frozen=True)
class SourceLink:
    line: int  # line number within the body (0-based)
    target: str
    is_image: bool
    text: str
    raw: bool = False  # written as HTML (<a href>, <img src>): left as written on the page


def scan_links(body: str) -> tuple[list[SourceLink], list[tuple[int, str]]]:
    """Links and images written in the body (outside code), and raw-HTML lines worth a word."""
    links: list[SourceLink] = []
    raw_html: list[tuple[int, str]] = []
    in_fence = False
    for number, line in enumerate(body.split("\n")):
        if FENCE_RE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        code_free = re.sub(r"`[^`]*`", "", line)
        for match in INLINE_LINK_RE.finditer(code_free):
            target = match.group(3) if match.group(3) is not None else match.group(4)
            links.append(SourceLink(number, target, match.group(1) == "!", match.group(2)))
        definition = REFERENCE_DEF_RE.match(code_free)
        if definition and not definition.group(1).startswith("^"):
            links.append(SourceLink(number, definition.group(2), False, definition.group(1)))
        for raw in RAW_LINK_RE.finditer(code_free):
            links.append(SourceLink(number, raw.group(2), raw.group(1).lower() == "img", "", raw=True))
        if RAW_HTML_RE.search(code_free):
            raw_html.append((number, code_free.strip()))
    return links, raw_html
