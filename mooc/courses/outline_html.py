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
from mooc.courses.queries import Outline, course_cache
from mooc.i18n import request_locale

# A marker for an item's place in the rendered skeleton: random per process, so no author's
# text can forge one.
_NONCE = secrets.token_hex(8)
_SLOT = re.compile(rf"<!--{_NONCE}:(lesson|quiz):(\d+)-->")


def slot(kind: str, item_id: int) -> Markup:
    return Markup(f"<!--{_NONCE}:{kind}:{item_id}-->")  # noqa: S704 (a fixed marker)


def _macros() -> Any:
    return current_app.jinja_env.get_template("courses/_outline.html").module


def _fragments(outline: Outline, intros: bool, ids: bool) -> tuple[list[Any], dict[tuple[str, int], dict]]:
    shape = outline.shape
    assert shape is not None
    course = outline.course
    key = ("outline-html", shape.course_id, shape.version, course.key, str(request_locale()), intros, ids)

    def build() -> tuple[list[Any], dict[tuple[str, int], dict]]:
        macros = _macros()
        skeleton = str(macros.outline_skeleton(course, shape, intros=intros, ids=ids))
        parts: list[Any] = []
        position = 0
        for match in _SLOT.finditer(skeleton):
            parts.append(skeleton[position:match.start()])
            parts.append((match.group(1), int(match.group(2))))
            position = match.end()
        parts.append(skeleton[position:])
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


def outline_html(
    outline: Outline, current: str | None = None, intros: bool = False, ids: bool = True
) -> Markup:
    """The outline list of ``outline`` with its done marks and ``current`` ("lesson:key") open."""
    if outline.shape is None:
        raise ValueError("an outline made by queries.outline() has its shape")
    parts, states = _fragments(outline, intros, ids)
    done_ids = outline.done_ids
    current_kind, _sep, current_key = (current or "").partition(":")
    current_id = next(
        (item.id for item in outline.items if item.kind == current_kind and item.key == current_key), None
    )
    out = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
        else:
            kind, item_id = part
            out.append(states[part][(kind == "lesson" and item_id in done_ids,
                                     kind == current_kind and item_id == current_id)])
    return Markup("".join(out))  # noqa: S704 (rendered by the autoescaping templates above)


def template_outline(
    outline: Outline, current: str | None = None, intros: bool = False, ids: bool = True
) -> Markup:
    """The templates' ``outline_html``: the person's marked outline, or in a page rendered to be
    kept (mooc/kept.py) a hole that ``filler(outline)`` fills per request."""
    if kept.rendering():
        return kept.hole("outline", current, intros, ids)
    return outline_html(outline, current, intros, ids)


def filler(outline: Outline) -> kept.Filler:
    return lambda current, intros, ids: str(outline_html(outline, current, intros, ids))
