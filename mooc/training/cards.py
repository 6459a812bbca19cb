"""The home page's course cards, each rendered once per process for exactly what it shows.

A card (a required, optional or completed course on the trainee's home page) is a pure
function of the facts it shows: the course's key and title, the status, the dates, the
progress numbers, where to continue, the certificate's code; and of the locale and the
script root. ``card()`` gathers those facts into a ``Card`` (a tuple), renders the macro of
``training/_home_cards.html`` for it once, and keeps the HTML under the tuple itself: a card
whose facts differ in anything is another key, so a kept card is never stale and never
someone else's. The macros are given only the ``Card``, so a fact a card shows cannot be
left out of its key. People of one cohort (the same course, due date and progress) share a
card; the cache is bounded like every other (mooc/caching.py).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, NamedTuple

from flask import current_app, request
from markupsafe import Markup

from mooc.caching import KeptCache, app_cache
from mooc.i18n import request_locale
from mooc.training.queries import HomeItem
from mooc.training.status import EnrolmentStatus

KINDS = ("required", "optional", "completed")


class Card(NamedTuple):
    kind: str
    course_key: str
    title: str
    status: EnrolmentStatus
    due_on: date | None
    days_left: int | None
    renewal: int  # 0 for the first cycle
    percent: int
    lessons_done: int
    lessons_total: int
    quizzes_passed: int
    quizzes_required: int
    stuck: tuple[str, ...]  # required quizzes out of attempts, unpassed
    next_key: tuple[str, str] | None
    started: bool
    completed_at: datetime | None
    expires_on: date | None
    certificate_code: str | None


def facts(kind: str, item: HomeItem) -> Card:
    progress, enrolment = item.progress, item.enrolment
    return Card(
        kind, item.course.key, item.course.title, item.status, enrolment.due_on, item.days_left,
        enrolment.cycle - 1, progress.percent, progress.lessons_done, progress.lessons_total,
        progress.quizzes_passed, progress.quizzes_required, tuple(item.stuck), progress.next_key,
        progress.started, enrolment.completed_at, enrolment.expires_on, item.certificate_code,
    )


def _macros() -> Any:
    return current_app.jinja_env.get_template("training/_home_cards.html").module


def card(kind: str, item: HomeItem) -> Markup:
    """The card of ``item`` in the home page's list ``kind`` (one of ``KINDS``)."""
    if kind not in KINDS:
        raise ValueError(kind)
    shown = facts(kind, item)
    key = (str(request_locale()), request.script_root, shown)
    html = app_cache("mooc.home_cards", lambda: KeptCache(8192)).get(
        key, lambda: str(getattr(_macros(), kind)(shown)))
    return Markup(html)  # noqa: S704 (rendered by the autoescaping macros of _home_cards.html)
