"""The person's own part of a course page: where they stand, their progress, what changed since
the edition they completed, where to continue. Rendered once per process for exactly what it
shows, like the home page's cards (mooc/training/cards.py).

``html()`` reads where the person stands (``standing.of``: fresh, every request), gathers what
the part shows into a ``StandingCard`` (a tuple) and renders the macro of
``training/_course_standing.html`` for it once, keeping the HTML under the tuple itself (with
the locale and the script root). People whose part shows the same facts share it; a part whose
facts differ in anything is another key, so a kept part is never stale and never someone
else's. The macro is given only the card, so a fact it shows cannot be left out of its key
(``tests/training/test_course_standing.py``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import NamedTuple

from flask_login import current_user
from markupsafe import Markup

from mooc.courses.editions import Changes
from mooc.courses.models import Course
from mooc.courses.queries import Outline
from mooc.training import refreshers, standing
from mooc.training.cards import kept_macro
from mooc.training.status import EnrolmentStatus


class StandingCard(NamedTuple):
    course_key: str
    locked: str | None  # why the course is locked for the person (a sentence), or None
    lessons_done: int
    lessons_total: int
    enrolled: bool
    status: EnrolmentStatus | None
    due_on: date | None
    completed_at: datetime | None
    certificate_code: str | None
    stuck: tuple[str, ...]  # the titles of required quizzes out of attempts, unpassed
    changes: Changes | None  # since the edition they completed (None: nothing to say)
    refresher: frozenset[int] | None  # the lessons their refresher asks (None: the whole course)
    next_item: tuple[str, str, str] | None  # where to continue: kind, key, title
    started: bool


def facts(course: Course, outline: Outline, locked: str | None, where: standing.Standing) -> StandingCard:
    enrolment = where.enrolment
    following = outline.find(*where.next_key) if where.next_key else None
    return StandingCard(
        course.key, locked, outline.done_count, len(outline.lessons), enrolment is not None,
        where.status, enrolment.due_on if enrolment is not None else None,
        enrolment.completed_at if enrolment is not None else None,
        where.certificate_code,
        tuple(quiz.title for quiz in where.stuck),
        refreshers.what_changed(course, where.completed_version), where.only,
        (following.kind, following.key, following.title) if following is not None else None,
        where.progress.started,
    )


def html(course: Course, outline: Outline, locked: str | None = None) -> Markup:
    """The signed-in person's part of the page of ``course`` (``outline`` marked for them)."""
    shown = facts(course, outline, locked, standing.of(current_user, course, outline))
    return kept_macro("mooc.course_standings", "training/_course_standing.html", "standing", shown)
