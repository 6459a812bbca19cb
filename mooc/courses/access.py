"""Whether a person may open a course's lessons and quizzes now: the domains above decide
(``events.course_locked``: a locked step of a programme the person follows, mooc/training/
programs.py), and every page and action that serves a course's content or records progress
asks here first (its lessons, files, quizzes and attempts, joining it), so a locked course is
refused by the server, not only hidden. tests/training/test_programs.py sweeps the URL map:
a new route under /courses/<key>/ or /attempts/ that forgets to ask fails there. The course's
page, the catalogue and search still name it and its lessons (as the programme's path does:
what comes next); search shows none of their text (``training.programs.locked_courses``)."""

from __future__ import annotations

from flask import render_template
from werkzeug.wrappers import Response

from mooc import events


def lock_reason(user_id: int, course_id: int) -> str | None:
    """Why the course is locked for the person (a sentence), or None."""
    for _receiver, reason in events.course_locked.send(None, user_id=user_id, course_id=course_id):
        if reason:
            return str(reason)
    return None


def refused_if_locked(user_id: int, course: object) -> Response | None:
    """The 403 page that says why, when the course is locked for the person; else None."""
    reason = lock_reason(user_id, course.id)  # type: ignore[attr-defined]
    if reason is None:
        return None
    return Response(render_template("courses/locked.html", course=course, reason=reason), status=403,
                    mimetype="text/html")
