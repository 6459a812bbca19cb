"""The outline as HTML, rendered once per course version, locale and layout, then marked per
request with the person's done-set and the open item (a join of cached strings, no template).

The skeleton (modules, their intros) and each item in its four states (done or not, open or
not) come from the macros of courses/_outline.html, so the markup is written once. The
cache key holds the course's version (mooc/courses/models.py), so new content is a new key.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from flask import current_app
from markupsafe import Markup

from mooc import kept
from mooc.courses.queries import CourseShape, Outline, course_cache
from mooc.i18n import request_locale

# A marker for an item's place in the rendered skeleton: random per process, so no author's
# text can forge one.
_NONCE = secrets.token_hex(8)
_SLOT = re.compile(rf"<!--{_NONCE}:(lesson|quiz):(\d+)-->")


def slot(kind: str, item_id: int) -> Markup:
    return Markup(f"<!--{_NONCE}:{kind}:{item_id}-->")  # noqa: S704 (a fixed marker)


Fragments = tuple[list[Any], dict[tuple[str, int], dict]]


def _macros() -> Any:
    return current_app.jinja_env.get_template("courses/_outline.html").module


def _fragments(outline: Outline, intros: bool, ids: bool) -> Fragments:
    shape = outline.shape
    assert shape is not None
    course = outline.course
    key = ("outline-html", shape.course_id, shape.version, course.key, str(request_locale()), intros, ids)

    def build() -> Fragments:
        macros = _macros()
        skeleton = str(macros.outline_skeleton(course, shape, intros=intros, ids=ids))
        parts = kept.split_at(skeleton, _SLOT, lambda match: (match.group(1), int(match.group(2))))
        states: dict[tuple[str, int], dict] = {}
        for module in shape.modules:
            for kind, item_key, title, minutes, item_id in module.items:
                item = {"kind": kind, "key": item_key, "title": title, "minutes": minutes}
                states[(kind, item_id)] = {
                    (done, current): str(macros.outline_item(course, item, done, current))
                    for done in ((False, True) if kind == "lesson" else (False,))
                    for current in (False, True)
                }
        return parts, states

    return course_cache().get(key, build)


def _current_id(shape: CourseShape, current: str | None) -> tuple[str, int | None]:
    """The open item ("lesson:key") as its kind and id in the course's shape."""
    kind, _sep, key = (current or "").partition(":")
    found = next((item_id for module in shape.modules for item_kind, item_key, _t, _m, item_id in module.items
                  if item_kind == kind and item_key == key), None)
    return kind, found


def _marked(fragments: Fragments, current_kind: str, current_id: int | None, done_ids: frozenset[int],
            empty: Any = "") -> Any:
    """The outline's fragments joined with the marks of ``done_ids`` and the open item: a str,
    or bytes for fragments kept encoded (``_encoded``, with ``empty`` b"")."""
    parts, states = fragments
    out = []
    for part in parts:
        if isinstance(part, tuple):
            kind, item_id = part
            out.append(states[part][(kind == "lesson" and item_id in done_ids,
                                     kind == current_kind and item_id == current_id)])
        else:
            out.append(part)
    return empty.join(out)


def outline_html(
    outline: Outline, current: str | None = None, intros: bool = False, ids: bool = True
) -> Markup:
    """The outline list of ``outline`` with its done marks and ``current`` ("lesson:key") open."""
    if outline.shape is None:
        raise ValueError("an outline made by queries.outline() has its shape")
    return Markup(_marked(_fragments(outline, intros, ids), *_current_id(outline.shape, current),  # noqa: S704
                          outline.done_ids))  # (rendered by the autoescaping templates above)


def template_outline(
    outline: Outline, current: str | None = None, intros: bool = False, ids: bool = True
) -> Markup:
    """The templates' ``outline_html``: the person's marked outline, or in a page rendered to be
    kept (mooc/kept.py) a hole that ``filler(done_ids)`` fills per request. The hole carries the
    outline's rendered fragments and open item, the same for every reader of the kept page, so
    filling it needs only the person's done-set (not their outline, nor the course's row)."""
    if outline.shape is None:
        raise ValueError("an outline made by queries.outline() has its shape")
    if kept.rendering():
        return kept.hole("outline", _encoded(_fragments(outline, intros, ids)),
                         *_current_id(outline.shape, current))
    return outline_html(outline, current, intros, ids)


def _encoded(fragments: Fragments) -> Fragments:
    """The fragments as UTF-8 bytes, as a kept page's parts are (mooc/kept.py)."""
    parts, states = fragments
    return ([part.encode() if isinstance(part, str) else part for part in parts],
            {item: {state: html.encode() for state, html in by_state.items()}
             for item, by_state in states.items()})


def filler(done_ids: frozenset[int]) -> kept.Filler:
    return lambda fragments, current_kind, current_id: _marked(fragments, current_kind, current_id, done_ids,
                                                               b"")
