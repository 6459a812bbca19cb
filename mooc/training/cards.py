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
from typing import NamedTuple

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


def kept_macro(cache: str, template: str, macro: str, shown: tuple) -> Markup:
    """The macro ``macro`` of ``template`` rendered for ``shown`` (a tuple: all the macro is
    given), once per process, locale and script root, and kept in the cache ``cache`` under
    exactly those: the home page's cards, the course page's person part
    (mooc/training/course_standing.py)."""
    key = (str(request_locale()), request.script_root, shown)

    def render() -> str:
        return str(getattr(current_app.jinja_env.get_template(template).module, macro)(shown))

    return Markup(app_cache(cache, lambda: KeptCache(8192)).get(key, render))  # noqa: S704 (autoescaped macros)


def card(kind: str, item: HomeItem) -> Markup:
    """The card of ``item`` in the home page's list ``kind`` (one of ``KINDS``)."""
    if kind not in KINDS:
        raise ValueError(kind)
    return kept_macro("mooc.home_cards", "training/_home_cards.html", kind, facts(kind, item))
