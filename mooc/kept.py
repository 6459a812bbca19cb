"""Whole pages rendered once per version the database owns, then filled per request.

A page that every reader of one version of its content sees alike, except for a few pieces of
their own (the name and the CSRF token in the header, the done marks of a course outline, the
address to come back to after a language change), is rendered once with a marker in each of
those places (``hole``), cut at the markers and kept under a key that holds every version and
setting the page depends on (a course's ``version``, the locale, the role, the day...). A
request then joins the kept parts with its own pieces: no template runs.

Nothing is invalidated by hand: a new version is a new key (mooc/caching.py). What is never
kept:

- a page while messages wait to be shown (``flash``): those are the person's own, and showing
  them empties the queue, so that request renders in full;
- a page with the course files' errors shown to administrators (``g.course_errors``);
- a rendering during which anything made a real CSRF token (a form's own field, say) or wrote
  a hole the caller cannot fill: that page is served as rendered and not kept, and the error
  is logged (a mistake in the page's template, caught by tests/site/test_kept_pages.py).
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, current_app, g, render_template, session
from markupsafe import Markup

from mooc import versions
from mooc.caching import KeptCache, app_cache
from mooc.extensions import db

log = logging.getLogger(__name__)

_NONCE = secrets.token_hex(8)  # random per process: no text of a person's or an author's can forge one
_HOLE = re.compile(rf"<!--{_NONCE}:(\d+)-->")

Filler = Callable[..., str | bytes]  # str is encoded as UTF-8
Part = bytes | tuple[str, tuple[Any, ...]]


def rendering() -> bool:
    """Whether a page is being rendered to be kept: pieces of the person's own are holes then."""
    return g.get("_kept_holes") is not None


def hole(name: str, *args: Any) -> Markup:
    """In a page rendered to be kept, the place of the piece ``name``, filled per request by the
    filler of that name with ``args`` (which must be the same for every reader of the page)."""
    holes: list[tuple[str, tuple[Any, ...]]] = g._kept_holes
    holes.append((name, args))
    return Markup(f"<!--{_NONCE}:{len(holes) - 1}-->")  # noqa: S704 (a fixed marker)


def keepable() -> bool:
    """Whether this request's page may be served from, and kept in, what is kept: not while
    flashed messages wait or course errors are shown, nor in a transaction that raised a
    version (its pages may rest on writes that roll back, kept under a number the next real
    change gets again)."""
    return (not session.get("_flashes") and not g.get("course_errors")
            and not versions.raised_any(db.session()))


def _cut(template: str, context: dict[str, Any],
         fillers: Mapping[str, Filler]) -> tuple[tuple[Part, ...], bytes]:
    """The page rendered with holes, cut at them; and the page as this request shows it."""
    holes: list[tuple[str, tuple[Any, ...]]] = []
    g._kept_holes = holes
    earlier_token = g.pop("csrf_token", None)
    try:
        html = render_template(template, **context)
    finally:
        del g._kept_holes
        made_token = g.pop("csrf_token", None)
        if earlier_token is not None:
            g.csrf_token = earlier_token
    parts: list[Part] = [part.encode() if isinstance(part, str) else part
                         for part in split_at(html, _HOLE, lambda match: holes[int(match.group(1))])]
    unknown = {name for name, _args in holes} - set(fillers)
    if made_token is not None or unknown:
        why = ["it made a CSRF token of its own"] if made_token is not None else []
        why += [f"holes with no filler: {', '.join(sorted(unknown))}"] if unknown else []
        raise UnkeptPage(f"{template} cannot be kept: {'; '.join(why)}")
    return tuple(parts), _join(parts, fillers)


def split_at(html: str, marker: re.Pattern[str], piece: Callable[[re.Match[str]], Any]) -> list[Any]:
    """``html`` cut at each match of ``marker``: its text between markers, and in each marker's
    place what ``piece`` makes of the match (a kept page's holes; an outline's item slots)."""
    parts: list[Any] = []
    position = 0
    for match in marker.finditer(html):
        parts.append(html[position:match.start()])
        parts.append(piece(match))
        position = match.end()
    parts.append(html[position:])
    return parts


class UnkeptPage(Exception):
    pass


def _join(parts: tuple[Part, ...] | list[Part], fillers: Mapping[str, Filler]) -> bytes:
    return b"".join(part if isinstance(part, bytes) else _encoded(fillers[part[0]](*part[1]))
                    for part in parts)


def _encoded(piece: str | bytes) -> bytes:
    return piece.encode() if isinstance(piece, str) else piece


def add_fillers(app: Flask, fillers: Mapping[str, Filler]) -> None:
    """Fillers of holes that every page may have (the site's header and footer: mooc/site)."""
    app.extensions.setdefault("mooc.kept_fillers", {}).update(fillers)


PAGES = "mooc.kept_pages"  # the pages every reader of a version shares (lesson, course, report)


def _cache(name: str) -> KeptCache:
    return app_cache(name, lambda: KeptCache(1024))


def _fillers(own: Mapping[str, Filler]) -> dict[str, Filler]:
    return {**current_app.extensions.get("mooc.kept_fillers", {}), **own}


def ready(key: tuple, own: Mapping[str, Filler], cache: str = PAGES) -> bytes | None:
    """The page kept under ``key`` filled for this request (UTF-8), or None when there is none or the
    page may not be served from what is kept (``keepable``): the caller then builds the page's
    context and calls ``render``. For a page whose context costs more than its key. ``cache``:
    the bounded cache it is kept in (pages of one person each have their own, so as not to push
    out the pages everyone shares)."""
    if not keepable():
        return None
    parts = _cache(cache).peek(key)
    return None if parts is None else _join(parts, _fillers(own))  # type: ignore[arg-type]


def render(key: tuple, template: str, own: Mapping[str, Filler], **context: Any) -> str | bytes:
    """``template`` rendered with ``context``: from the parts kept under ``key`` when there are
    some, else rendered with holes and kept (when the page may be: ``keepable``); as UTF-8 bytes
    when it was joined from kept parts (a view answers either as the same HTML page). ``key`` must
    hold everything the page depends on except what the fillers fill: the page's ``own`` and
    those every page has (``add_fillers``)."""
    return render_in(PAGES, key, template, own, **context)


def render_in(cache: str, key: tuple, template: str, own: Mapping[str, Filler],
              **context: Any) -> str | bytes:
    """``render``, kept in the bounded cache named ``cache`` (see ``ready``)."""
    if not keepable():
        return render_template(template, **context)
    fillers = _fillers(own)
    kept = _cache(cache)
    parts = kept.peek(key)
    if parts is not None:
        return _join(parts, fillers)  # type: ignore[arg-type]
    try:
        parts, page = _cut(template, context, fillers)
    except UnkeptPage as error:
        log.error("%s", error)
        return render_template(template, **context)
    kept.put(key, parts)
    return page
