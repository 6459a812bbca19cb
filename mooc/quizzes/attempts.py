"""Taking a quiz: start (or resume), save answers as you go, submit, and when review is allowed.

Grading happens here, on the server, from the snapshots the attempt stored when it started.
Nothing in here knows about requests; the views turn forms into plain dicts.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from mooc import clock, events
from mooc.courses.models import Quiz
from mooc.database import rowcount
from mooc.errors import DomainError
from mooc.extensions import db
from mooc.formats.quiz_review import DEFAULT_POLICY, Review, policy_allows
from mooc.quizzes.grading import draw_snapshots, grade_attempt
from mooc.quizzes.models import AttemptStatus, QuizAttempt

GRACE = timedelta(seconds=30)  # network latency: a submit this late still counts
MAX_TEXT = 500  # characters kept of a typed answer
CHOICE_TYPES = ("single", "multiple", "true_false")


class AttemptRefused(DomainError):
    """The trainee may not start another attempt (the code says why)."""


@dataclass
class QuizState:
    attempts: list[QuizAttempt] = field(default_factory=list)  # newest first
    limit: int = 0  # 0 = unlimited

    @property
    def open_attempt(self) -> QuizAttempt | None:
        return next((a for a in self.attempts if a.status == AttemptStatus.IN_PROGRESS), None)

    @property
    def finished(self) -> list[QuizAttempt]:
        return [a for a in self.attempts if a.status != AttemptStatus.IN_PROGRESS]

    @property
    def used(self) -> int:
        return len(self.attempts)

    @property
    def remaining(self) -> int | None:
        return None if not self.limit else max(0, self.limit - self.used)

    @property
    def passed(self) -> bool:
        return any(a.passed for a in self.finished)

    @property
    def best(self) -> QuizAttempt | None:
        finished = [a for a in self.finished if a.percent is not None]
        return max(finished, key=lambda a: (a.percent, -a.number)) if finished else None

    @property
    def can_start(self) -> bool:
        return self.open_attempt is None and (self.remaining is None or self.remaining > 0)

    @property
    def closed(self) -> bool:
        """No more attempts for this person: passed, or out of attempts."""
        return self.passed or (self.remaining == 0 and self.open_attempt is None)


def quiz_state(user_id: int, quiz: Quiz) -> QuizState:
    attempts = list(
        db.session.scalars(
            sa.select(QuizAttempt)
            .where(QuizAttempt.user_id == user_id, QuizAttempt.quiz_id == quiz.id)
            .order_by(QuizAttempt.number.desc())
        )
    )
    state = QuizState(attempts, int(quiz.settings.get("attempts") or 0))
    if (open_attempt := state.open_attempt) is not None:
        close_if_expired(open_attempt)
    return state


def start_attempt(user_id: int, quiz: Quiz, rng: random.Random | None = None) -> QuizAttempt:
    """The open attempt, or a new one. Two starts at once give one attempt."""
    state = quiz_state(user_id, quiz)
    if state.open_attempt is not None:
        return state.open_attempt
    if not quiz.questions:
        raise AttemptRefused("empty")
    if not state.can_start:
        raise AttemptRefused("no_attempts_left")
    now = clock.now()
    time_limit = quiz.settings.get("time_limit")
    attempt = QuizAttempt(
        user_id=user_id,
        quiz_id=quiz.id,
        number=state.used + 1,
        status=AttemptStatus.IN_PROGRESS,
        started_at=now,
        deadline_at=now + timedelta(minutes=time_limit) if time_limit else None,
        quiz_hash=quiz.source_hash,
        settings=dict(quiz.settings),
        questions=draw_snapshots(quiz.questions, quiz.settings, rng or random.SystemRandom()),
        answers={},
    )
    try:
        with db.session.begin_nested():
            db.session.add(attempt)
    except IntegrityError:
        # Someone (a double click, another tab) started it a moment ago: use theirs.
        existing = quiz_state(user_id, quiz).open_attempt
        if existing is None:
            raise
        return existing
    return attempt


def clean_responses(attempt: QuizAttempt, responses: dict[str, Any]) -> dict[str, Any]:
    """Keep only answers to questions this attempt showed, in the shape each type takes."""
    shown = {q["key"]: q for q in attempt.questions}
    cleaned: dict[str, Any] = {}
    for key, value in responses.items():
        question = shown.get(key)
        if question is None:
            continue
        values = value if isinstance(value, list) else [value]
        values = [v for v in values if isinstance(v, str)]
        if question["type"] in CHOICE_TYPES:
            known = {c["key"] for c in question["choices"]}
            keys = [v for v in values if v in known]
            if question["type"] == "multiple":
                cleaned[key] = sorted(set(keys))
            elif keys:
                cleaned[key] = keys[0]
        elif values and values[0].strip():
            cleaned[key] = values[0].strip()[:MAX_TEXT]
    return cleaned


def is_open(attempt: QuizAttempt) -> bool:
    return attempt.status == AttemptStatus.IN_PROGRESS and (
        attempt.deadline_at is None or clock.now() <= attempt.deadline_at + GRACE
    )


def save_answers(attempt: QuizAttempt, responses: dict[str, Any]) -> bool:
    """Store answers so far (a reload or a lost connection loses nothing). False if closed."""
    if not is_open(attempt):
        close_if_expired(attempt)
        return False
    merged = dict(attempt.answers or {})
    merged.update(clean_responses(attempt, responses))
    # Unticking every box of a "choose all" question is an answer too.
    for question in attempt.questions:
        if question["type"] == "multiple" and question["key"] in responses and not responses[question["key"]]:
            merged[question["key"]] = []
    attempt.answers = merged
    return True


def submit(attempt: QuizAttempt, responses: dict[str, Any] | None) -> QuizAttempt:
    """Grade the attempt once. A replayed or late submit never makes a second grade.

    Late (after the deadline and the grace period): the answers sent now are ignored and
    the attempt is graded on what was saved in time, marked as expired.
    """
    if attempt.status != AttemptStatus.IN_PROGRESS:
        return attempt
    on_time = is_open(attempt)
    if on_time and responses is not None:
        save_answers(attempt, responses)
    answers = dict(attempt.answers or {})
    status = AttemptStatus.SUBMITTED if on_time else AttemptStatus.EXPIRED
    # Claim the attempt atomically: of two submits racing, exactly one finds it open.
    claimed = rowcount(db.session.execute(
        sa.update(QuizAttempt)
        .where(QuizAttempt.id == attempt.id, QuizAttempt.status == AttemptStatus.IN_PROGRESS)
        .values(status=status)
        .execution_options(synchronize_session=False)
    ))
    if claimed != 1:
        db.session.refresh(attempt)
        return attempt
    result = grade_attempt(attempt.questions, answers, int(attempt.settings.get("pass_percent", 80)))
    now = clock.now()
    attempt.status = status
    attempt.answers = answers
    attempt.submitted_at = (
        min(now, attempt.deadline_at + GRACE) if attempt.deadline_at and not on_time else now
    )
    attempt.score, attempt.max_score = result.score, result.max_score
    attempt.percent, attempt.passed = result.percent, result.passed
    attempt.results = {
        key: {"score": r.score, "max": r.max_score, "correct": r.correct}
        for key, r in result.per_question.items()
    }
    events.quiz_finished.send(None, attempt=attempt)
    return attempt


def close_if_expired(attempt: QuizAttempt) -> None:
    if attempt.status == AttemptStatus.IN_PROGRESS and not is_open(attempt):
        submit(attempt, None)


def review_of(attempt: QuizAttempt, quiz: Quiz, state: QuizState) -> Review:
    """What the trainee may see of this graded attempt: the marks, the key (right answers
    and explanations), both or neither.

    Both the policy the attempt was taken under (its settings snapshot) and the quiz's
    policy now must allow it: an author who tightens a quiz's review closes the reviews of
    past attempts at once (their questions are still in the pool), and loosening it later
    does not open the key of an attempt taken under a stricter promise. Nothing is shown
    while the trainee has an attempt of this quiz in progress.
    """
    if attempt.status == AttemptStatus.IN_PROGRESS or state.open_attempt is not None:
        return Review(withheld_by="in_progress")
    facts = {"passed": state.passed, "attempts_left": state.remaining != 0}
    now = policy_allows((quiz.settings or {}).get("review", DEFAULT_POLICY), **facts)
    then = policy_allows((attempt.settings or {}).get("review", DEFAULT_POLICY), **facts)
    return now & then
