"""Domain events: how a lower domain tells the ones above it that something happened,
without importing them (domains import only downwards).

Receivers run synchronously, in the sender's transaction: what they write commits or rolls
back with the act that caused it.
"""

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
