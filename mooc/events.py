"""Domain events: how a lower domain tells the ones above it that something happened,
without importing them (domains import only downwards).

Receivers run synchronously, in the sender's transaction: what they write commits or rolls
back with the act that caused it.
"""

from collections.abc import Iterable

from blinker import Namespace

_events = Namespace()

lesson_done = _events.signal("lesson-done")
"""A person marked a lesson as done for the first time. kwargs: user_id, lesson_id, course_id."""

quiz_finished = _events.signal("quiz-finished")
"""A quiz attempt was graded. kwargs: attempt (QuizAttempt)."""

roster_changed = _events.signal("roster-changed")
"""Staff were added, moved, changed position or status. kwargs: staff_ids (set[int] or None = all)."""

roster_fields_changed = _events.signal("roster-fields-changed")
"""A roster import changed people's fields. kwargs: changes (dict[int, set[str]]: staff id ->
the fields changed, e.g. {"full_name", "email"}), actor_id (int | None)."""

units_referenced = _events.signal("units-referenced")
"""A question, not news: what names these units (before a merge closes one)? kwargs:
unit_ids (set[int]). Each receiver returns a list of short descriptions (str), e.g. the
assignment rules that name them."""

attempts_count_from = _events.signal("attempts-count-from")
"""A question: from when do a person's attempts at a course's quizzes count against the
attempt limit (a renewal cycle gives the attempts again)? kwargs: user_id, course_id. Each
receiver returns the start of the person's current cycle (a datetime), or None (everything
counts)."""
course_locked = _events.signal("course-locked")
"""A question: may this person open this course's lessons and quizzes now? kwargs: user_id,
course_id. Each receiver returns why not (a sentence people read), or None (the training
domain: a locked step of a programme the person follows)."""

course_lock_possible = _events.signal("course-lock-possible")
"""A question asked once per process, when a page's one statement is built: an SQL condition
that is true whenever ``course_locked`` could answer for the person of account ``user_id``
and course ``course_id`` (kwargs: a column and a bind parameter; each receiver returns a
boolean SQL expression). A page whose statement finds it false need not ask ``course_locked``:
most people follow no programme, and their pages skip that statement."""

staff_touched = _events.signal("staff-touched")
"""Rows that feed the reports' summary (a person's enrolments, or their unit, position or
status) were written in bulk, past the ORM's notice. kwargs: staff_ids (set[int], or None =
everyone). Sent by :func:`touched`; the summary (``reports/summary.py``) recomputes these
people's rows before the transaction commits."""


def touched(staff_ids: Iterable[int | None] | None) -> None:
    """Say that a bulk write (``sa.update``/``sa.insert``/``sa.delete``, ``insert_many``, raw
    SQL) changed the enrolments or the roster row of these people. Every writer that bypasses
    the ORM on ``staff`` or ``enrolments`` calls it (``tests/reports/test_summary.py`` finds
    any that does not); ORM writes are seen without it."""
    staff_touched.send(None, staff_ids=None if staff_ids is None else {i for i in staff_ids if i is not None})
