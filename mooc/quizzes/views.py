"""Quiz pages: the quiz's own page, an attempt (form, autosave, submit) and its result.

An attempt belongs to one person: anyone else gets 404, whatever the id.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from mooc import clock
from mooc.courses import queries
from mooc.courses.models import Quiz
from mooc.database import writes
from mooc.errors import refuse
from mooc.extensions import db
from mooc.quizzes import attempts
from mooc.quizzes.grading import public_view
from mooc.quizzes.models import AttemptStatus, QuizAttempt

bp = Blueprint("quizzes", __name__, template_folder="templates")

REFUSALS = {
    "no_attempts_left": lambda: _("You have used all your attempts for this quiz."),
    "empty": lambda: _("This quiz has no questions yet."),
}

# What each review policy shows, for the quiz page and the result page (the server has
# already left out whatever the policy withholds).
REVIEW_TEXTS = {
    "after_submit_with_key": lambda: _("After each attempt you see the correct answers and explanations."),
    "after_submit": lambda: _(
        "After each attempt you see which answers were right or wrong; the correct answers are not shown."
    ),
    "after_pass": lambda: _("The correct answers and explanations are shown once you pass."),
    "after_close": lambda: _(
        "The correct answers and explanations are shown once you pass or have used all your attempts."
    ),
    "after_last_attempt": lambda: _(
        "The correct answers and explanations are shown once you have used all your attempts."
    ),
    "never": lambda: _("This quiz does not show the correct answers."),
    "in_progress": lambda: _("The review is hidden while you have an attempt in progress."),
}


def review_text(policy: str) -> str:
    return REVIEW_TEXTS.get(policy, REVIEW_TEXTS["never"])()


def _quiz_or_404(course_key: str, quiz_key: str) -> tuple[Any, Quiz]:
    course = queries.get_course(course_key)
    quiz = course and db.session.scalar(
        db.select(Quiz).where(Quiz.course_id == course.id, Quiz.key == quiz_key, Quiz.archived.is_(False))
    )
    if not quiz:
        renamed = queries.renamed_item(Quiz, course.id, quiz_key) if course is not None else None
        if course is None or renamed is None:
            abort(404)
        abort(redirect(url_for("quizzes.quiz", key=course.key, quiz_key=renamed.key), 301))
    return course, quiz


def _own_attempt(attempt_id: int) -> QuizAttempt:
    attempt = db.session.get(QuizAttempt, attempt_id)
    if attempt is None or attempt.user_id != current_user.id:
        abort(404)  # not 403: do not confirm that someone else's attempt exists
    return attempt


@bp.get("/courses/<key>/quizzes/<path:quiz_key>")
@writes  # may close an attempt whose time ran out
def quiz(key: str, quiz_key: str):
    course, quiz = _quiz_or_404(key, quiz_key)
    state = attempts.quiz_state(current_user.id, quiz)
    outline = queries.outline(course, current_user.id)
    previous, following = outline.neighbours("quiz", quiz.key)
    return render_template(
        "quizzes/quiz.html",
        course=course,
        quiz=quiz,
        state=state,
        outline=outline,
        previous=previous,
        following=following,
        review_text=review_text,
    )


@bp.post("/courses/<key>/quizzes/<path:quiz_key>/start")
def start(key: str, quiz_key: str):
    course, quiz = _quiz_or_404(key, quiz_key)
    try:
        attempt = attempts.start_attempt(current_user.id, quiz)
    except attempts.AttemptRefused as refused:
        refuse()
        flash(REFUSALS[refused.code](), "warning")
        return redirect(url_for("quizzes.quiz", key=course.key, quiz_key=quiz.key))
    db.session.flush()
    return redirect(url_for("quizzes.attempt", attempt_id=attempt.id))


def _responses(attempt: QuizAttempt) -> dict[str, Any]:
    """The form's answers as {question key: value or list of values}."""
    responses: dict[str, Any] = {}
    for question in attempt.questions:
        field = f"q-{question['key']}"
        if question["type"] == "multiple":
            if field in request.form or f"{field}-shown" in request.form:
                responses[question["key"]] = request.form.getlist(field)
        elif field in request.form:
            responses[question["key"]] = request.form.get(field, "")
    return responses


@bp.get("/attempts/<int:attempt_id>")
@writes  # may close this attempt if its time ran out
def attempt(attempt_id: int):
    attempt = _own_attempt(attempt_id)
    quiz = attempt.quiz
    course = quiz.course
    state = attempts.quiz_state(current_user.id, quiz)
    if attempt.status == AttemptStatus.IN_PROGRESS:
        questions = [
            public_view(q)
            | {
                "title_html": q.get("title_html", ""),
                "body_html": q.get("body_html", ""),
                "choices_html": [c.get("html", "") for c in q["choices"]],
            }
            for q in attempt.questions
        ]
        seconds_left = (
            int((attempt.deadline_at - clock.now()).total_seconds()) if attempt.deadline_at else None
        )
        return render_template(
            "quizzes/attempt.html",
            course=course,
            quiz=quiz,
            attempt=attempt,
            questions=questions,
            answers=attempt.answers or {},
            seconds_left=seconds_left,
        )
    return render_template(
        "quizzes/result.html",
        course=course,
        quiz=quiz,
        attempt=attempt,
        state=state,
        review=attempts.review_of(attempt, quiz, state),
        review_text=review_text,
    )


@bp.post("/attempts/<int:attempt_id>/save")
def save(attempt_id: int):
    attempt = _own_attempt(attempt_id)
    saved = attempts.save_answers(attempt, _responses(attempt))
    if request.headers.get("X-Requested-With") == "fetch":
        return jsonify(saved=saved, at=clock.now().isoformat())
    if saved:
        flash(_("Your answers are saved. You can come back and finish later."), "success")
    return redirect(url_for("quizzes.attempt", attempt_id=attempt.id))


@bp.post("/attempts/<int:attempt_id>/submit")
def submit(attempt_id: int):
    attempt = _own_attempt(attempt_id)
    was_open = attempt.status == AttemptStatus.IN_PROGRESS
    attempts.submit(attempt, _responses(attempt))
    if was_open and attempt.status == AttemptStatus.EXPIRED:
        flash(_("The time was up: your attempt was graded on the answers saved in time."), "warning")
    return redirect(url_for("quizzes.attempt", attempt_id=attempt.id))
