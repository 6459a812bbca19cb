"""Quiz pages: the quiz's own page, an attempt (form, autosave, submit) and its result.

An attempt belongs to one person: anyone else gets 404, whatever the id.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy.orm import defer, joinedload

from mooc import clock
from mooc.auth import sessions
from mooc.auth.access import permission_required, public
from mooc.auth.models import Permission
from mooc.config import settings
from mooc.courses import access, queries
from mooc.courses.models import Course, Quiz
from mooc.database import reads_first, short_write
from mooc.errors import refuse
from mooc.extensions import db
from mooc.i18n import gettext as _
from mooc.quizzes import attempts
from mooc.quizzes.grading import public_view
from mooc.quizzes.models import AttemptStatus, QuizAttempt
from mooc.roster.models import Staff

bp = Blueprint("quizzes", __name__, template_folder="templates")

REFUSALS = {
    "no_attempts_left": lambda: _("You have used all your attempts for this quiz."),
    "empty": lambda: _("This quiz has no questions yet."),
}

GRANT_REFUSALS = {
    "not_needed": lambda: _("No extra attempt was needed: the person has passed or still has attempts."),
    "no_account": lambda: _("This person has no account, so they cannot take the quiz."),
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


def _live_quiz(course_key: str, quiz_key: str) -> Quiz:
    """The quiz to start, in one query and without its questions (``attempts.question_pool``
    has them by version); 404 or the renamed quiz's address as ``_quiz_or_404`` answers."""
    quiz = db.session.scalar(
        db.select(Quiz)
        .join(Course, Course.id == Quiz.course_id)
        .where(Course.key == course_key, Course.archived.is_(False), Quiz.key == quiz_key,
               Quiz.archived.is_(False))
        .options(defer(Quiz.questions), defer(Quiz.intro_html))
    )
    return quiz if quiz is not None else _quiz_or_404(course_key, quiz_key)[1]


def _attempt_quiz(attempt: QuizAttempt) -> Quiz:
    """The attempt's quiz and its course, in one query, without the quiz's questions (the
    attempt has its own snapshot)."""
    return db.session.scalars(
        db.select(Quiz)
        .where(Quiz.id == attempt.quiz_id)
        .options(defer(Quiz.questions), defer(Quiz.intro_html), joinedload(Quiz.course))
    ).one()


def _own_attempt(attempt_id: int) -> QuizAttempt:
    attempt = db.session.get(QuizAttempt, attempt_id)
    if attempt is None or attempt.user_id != current_user.id:
        abort(404)  # not 403: do not confirm that someone else's attempt exists
    return attempt


def _refuse_if_locked(course: Course) -> None:
    """An attempt's pages and actions, like the quiz's own, are refused while its course is a
    locked step of the person's programme (an attempt started before the lock included)."""
    if (locked := access.refused_if_locked(current_user.id, course)) is not None:
        abort(locked)


@bp.get("/courses/<key>/quizzes/<path:quiz_key>")
def quiz(key: str, quiz_key: str):
    course, quiz = _quiz_or_404(key, quiz_key)
    if (locked := access.refused_if_locked(current_user.id, course)) is not None:
        return locked  # a locked step of the person's programme: refused, not only hidden
    state = attempts.fresh_state(current_user.id, quiz)  # writes only to close a timed-out attempt
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
@reads_first  # the new attempt is one INSERT in a short transaction (attempts.start_attempt)
def start(key: str, quiz_key: str):
    quiz = _live_quiz(key, quiz_key)
    if (locked := access.refused_if_locked(current_user.id, quiz.course)) is not None:
        return locked
    try:
        attempt = attempts.start_attempt(current_user.id, quiz)
    except attempts.AttemptRefused as refused:
        refuse()
        flash(REFUSALS[refused.code](), "warning")
        return redirect(url_for("quizzes.quiz", key=key, quiz_key=quiz.key))
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
def attempt(attempt_id: int):
    attempt = _own_attempt(attempt_id)
    if attempt.status == AttemptStatus.IN_PROGRESS and not attempts.is_open(attempt):
        with short_write(db.session):  # its time ran out: grade it on what was saved in time
            db.session.refresh(attempt)
            attempts.close_if_expired(attempt)
    quiz = _attempt_quiz(attempt)
    course = quiz.course
    _refuse_if_locked(course)
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
            idle_seconds=settings().session_idle_minutes * 60,
        )
    state = attempts.fresh_state(current_user.id, quiz)
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
    _refuse_if_locked(_attempt_quiz(attempt).course)
    saved = attempts.save_answers(attempt, _responses(attempt))
    if request.headers.get("X-Requested-With") == "fetch":
        return jsonify(saved=saved, at=clock.now().isoformat())
    if saved:
        flash(_("Your answers are saved. You can come back and finish later."), "success")
    return redirect(url_for("quizzes.attempt", attempt_id=attempt.id))


@bp.get("/attempts/<int:attempt_id>/confirm")
def confirm(attempt_id: int):
    """The summary before grading (where a signed-out submit lands after signing in)."""
    attempt = _own_attempt(attempt_id)
    _refuse_if_locked(_attempt_quiz(attempt).course)
    if attempt.status != AttemptStatus.IN_PROGRESS or not attempts.is_open(attempt):
        return redirect(url_for("quizzes.attempt", attempt_id=attempt.id))
    return _confirm_page(attempt)


def _confirm_page(attempt: QuizAttempt):
    return render_template(
        "quizzes/confirm.html",
        course=attempt.quiz.course,
        quiz=attempt.quiz,
        attempt=attempt,
        missing=attempts.unanswered(attempt),
        total=len(attempt.questions),
    )


@bp.post("/attempts/<int:attempt_id>/submit")
@public  # only so that a submit arriving signed-out is kept, not refused: see _signed_out_submit
@reads_first  # the grade is one UPDATE in a short transaction (attempts.submit)
def submit(attempt_id: int):
    if not current_user.is_authenticated:
        return _signed_out_submit(attempt_id)
    attempt = _own_attempt(attempt_id)
    _refuse_if_locked(_attempt_quiz(attempt).course)
    was_open = attempt.status == AttemptStatus.IN_PROGRESS
    responses = _responses(attempt)
    unconfirmed = was_open and attempts.is_open(attempt) and request.form.get("confirm") != "1"
    if unconfirmed and attempts.unanswered(attempt, attempts.merged_answers(attempt, responses)):
        # Never grade an attempt with questions left blank unless the trainee said so:
        # keep what was sent, and ask.
        with short_write(db.session):
            attempts.save_answers(attempt, responses)
        return _confirm_page(attempt)
    with short_write(db.session):
        attempts.submit(attempt, responses)
    if was_open and attempt.status == AttemptStatus.EXPIRED:
        flash(_("The time was up: your attempt was graded on the answers saved in time."), "warning")
    return redirect(url_for("quizzes.attempt", attempt_id=attempt.id))


def _signed_out_submit(attempt_id: int):
    """The session ended (idle or too old) while the trainee was answering. Nothing is
    graded without a session; the answers sent are saved, but only when the browser proves
    it is the owner's: its signed session cookie names a session of the attempt's owner that
    ended by time, not on purpose (sign-out, password change, deactivation). Then: sign in,
    and land on the summary to submit."""
    attempt = db.session.get(QuizAttempt, attempt_id)
    owner = sessions.lapsed_owner(session.get("_user_id"))
    kept = False
    if attempt is not None and owner == attempt.user_id:
        with short_write(db.session):
            kept = attempts.save_answers(attempt, _responses(attempt))
    if kept:
        flash(_("You were signed out, so your attempt was not submitted yet. Your answers are saved: "
                "sign in to check them and submit."), "warning")
    else:
        flash(_("You were signed out, so your attempt was not submitted. Sign in to go back to it: "
                "the answers saved before are kept."), "warning")
    return redirect(url_for("auth.login", next=url_for("quizzes.confirm", attempt_id=attempt_id)))


# --- extra attempts ------------------------------------------------------------------------------


@bp.app_template_global()
def stuck_quizzes(staff: Staff, course_id: int) -> list[Quiz]:
    """The quizzes of ``course_id`` that ``staff`` can no longer pass, when the person
    looking may grant them another attempt (else none: the form is not shown)."""
    if not current_user.is_authenticated or not attempts.may_grant(current_user, staff):
        return []
    user_id = attempts.account_of(staff)
    if user_id is None:
        return []
    return attempts.stuck_in(user_id, course_id)


@bp.post("/quizzes/<int:quiz_id>/people/<int:staff_id>/grant")
@permission_required(Permission.ACT_ON_PEOPLE)
def grant(quiz_id: int, staff_id: int):
    staff = db.session.get(Staff, staff_id)
    quiz = db.session.get(Quiz, quiz_id)
    if staff is None or quiz is None or not attempts.may_grant(current_user, staff):
        abort(404)
    try:
        attempts.grant_attempt(current_user, staff, quiz)
    except attempts.GrantRefused as refused:
        refuse()
        flash(GRANT_REFUSALS[refused.code](), "warning")
    else:
        flash(_("%(name)s has one more attempt at “%(quiz)s”.", name=staff.full_name, quiz=quiz.title),
              "success")
    return redirect(url_for("training.record", staff_id=staff.id))
