"""Taking a quiz: start (or resume), save answers as you go, submit, and when review is allowed.

Grading happens here, on the server, from the snapshots the attempt stored when it started.
Nothing in here knows about requests; the views turn forms into plain dicts.
"""

from __future__ import annotations

import random
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from mooc import clock, events
from mooc.auth import audit
from mooc.auth.models import Permission, User
from mooc.courses.models import Quiz
from mooc.database import rowcount, short_write
from mooc.errors import DomainError
from mooc.extensions import db
from mooc.formats.quiz_review import DEFAULT_POLICY, Review, policy_allows
from mooc.i18n import lazy_gettext as _l
from mooc.quizzes.grading import draw_snapshots, grade_attempt
from mooc.quizzes.models import AttemptGrant, AttemptStatus, QuizAttempt
from mooc.roster.models import Staff
from mooc.roster.queries import can_see

GRACE = timedelta(seconds=30)  # network latency: a submit this late still counts
MAX_TEXT = 500  # characters kept of a typed answer
CHOICE_TYPES = ("single", "multiple", "true_false")
POOL_CACHE_SIZE = 64  # quiz versions whose question pool a process keeps
# Where an attempt stands, as a person reads it (their data export).
STATUS_LABELS = {AttemptStatus.IN_PROGRESS: _l("Not handed in yet"), AttemptStatus.SUBMITTED: _l("Handed in"),
                 AttemptStatus.EXPIRED: _l("Time ran out (graded on what was saved)")}


class AttemptRefused(DomainError):
    """The trainee may not start another attempt (the code says why)."""


class GrantRefused(DomainError):
    """No extra attempt was given: ``not_needed`` (passed, attempts left or no limit),
    ``no_account`` (the person cannot sign in to use it)."""


def counts(at: datetime | None, since: datetime | None) -> bool:
    """Whether an attempt started (or a grant given) at ``at`` is one of the current cycle's,
    the cycle that began at ``since`` (None: a first cycle, where everything counts)."""
    return since is None or (at is not None and at >= since)


def counting_from(user_id: int, course_id: int) -> datetime | None:
    """When the person's current cycle of the course began (a renewal gives the attempts
    again), asked of the domain that keeps cycles (mooc.events.attempts_count_from)."""
    found = [when for _receiver, when in
             events.attempts_count_from.send(None, user_id=user_id, course_id=course_id)
             if when is not None]
    return max(found, default=None)


@dataclass
class QuizState:
    attempts: list[QuizAttempt] = field(default_factory=list)  # newest first, every cycle's
    limit: int = 0  # 0 = unlimited
    since: datetime | None = None  # the current cycle's start: what the limit and "passed" count

    @property
    def counted(self) -> list[QuizAttempt]:
        """The current cycle's attempts (all of them in a first cycle)."""
        return [a for a in self.attempts if counts(a.started_at, self.since)]

    @property
    def open_attempt(self) -> QuizAttempt | None:
        return next((a for a in self.attempts if a.status == AttemptStatus.IN_PROGRESS), None)

    @property
    def finished(self) -> list[QuizAttempt]:
        return [a for a in self.attempts if a.status != AttemptStatus.IN_PROGRESS]

    @property
    def used(self) -> int:
        return len(self.counted)

    @property
    def remaining(self) -> int | None:
        return None if not self.limit else max(0, self.limit - self.used)

    @property
    def passed(self) -> bool:
        return any(a.passed for a in self.counted if a.status != AttemptStatus.IN_PROGRESS)

    @property
    def best(self) -> QuizAttempt | None:
        finished = [a for a in self.counted if a.status != AttemptStatus.IN_PROGRESS
                    and a.percent is not None]
        return max(finished, key=lambda a: (a.percent, -a.number)) if finished else None

    @property
    def can_start(self) -> bool:
        return self.open_attempt is None and (self.remaining is None or self.remaining > 0)

    @property
    def closed(self) -> bool:
        """No more attempts for this person: passed, or out of attempts."""
        return self.passed or (self.remaining == 0 and self.open_attempt is None)


def quiz_state(user_id: int, quiz: Quiz, *, close_expired: bool = True) -> QuizState:
    """The person's attempts at ``quiz`` (read fresh) and limit. An open attempt whose time
    ran out is graded here (a write) unless ``close_expired`` is false."""
    attempts = list(
        db.session.scalars(
            sa.select(QuizAttempt)
            .where(QuizAttempt.user_id == user_id, QuizAttempt.quiz_id == quiz.id)
            .order_by(QuizAttempt.number.desc())
        )
    )
    since = counting_from(user_id, quiz.course_id)
    state = QuizState(attempts, limit_for(user_id, quiz, since=since), since)
    if close_expired and (open_attempt := state.open_attempt) is not None:
        close_if_expired(open_attempt)
    return state


def fresh_state(user_id: int, quiz: Quiz) -> QuizState:
    """``quiz_state`` for a reading request: it writes only when an open attempt's time ran
    out (grading it in a short write transaction of its own), then reads again."""
    state = quiz_state(user_id, quiz, close_expired=False)
    open_attempt = state.open_attempt
    if open_attempt is None or is_open(open_attempt):
        return state
    with short_write(db.session):
        db.session.refresh(open_attempt)
        close_if_expired(open_attempt)
    return quiz_state(user_id, quiz, close_expired=False)


def limit_for(user_id: int, quiz: Quiz, settings: dict[str, Any] | None = None,
              since: datetime | None = None) -> int:
    """The person's attempt limit: the quiz's (0 = unlimited) plus the attempts granted in
    the current cycle (from ``since``)."""
    if settings is None:
        settings = quiz.settings or {}
    base = int(settings.get("attempts") or 0)
    if not base:
        return 0
    extra = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(AttemptGrant.extra), 0))
        .where(AttemptGrant.user_id == user_id, AttemptGrant.quiz_id == quiz.id,
               *([AttemptGrant.granted_at >= since] if since is not None else []))
    )
    return base + int(extra or 0)


def exhausted(
    user_id: int,
    quiz_ids: Iterable[int],
    *,
    settings: dict[int, Any] | None = None,
    attempts: Iterable[Any] | None = None,
    grants: dict[int, int] | None = None,
    since: datetime | None = None,
) -> set[int]:
    """Of ``quiz_ids``, the quizzes ``user_id`` can no longer pass in the cycle that began
    at ``since`` (None: a first cycle): every attempt of the cycle used (its grants counted),
    none passed, none open. At most three queries however many quizzes: none for what the
    caller gives (``settings``: quiz id -> the quiz's settings, for every quiz of ``quiz_ids``
    that exists; ``attempts``: the person's attempts, of any status and cycle, at least those
    at ``quiz_ids``, as rows with ``quiz_id``, ``status``, ``passed``, ``started_at``;
    ``grants``: quiz id -> the extra attempts granted to the person in the cycle, at least at
    ``quiz_ids``), and no grants are read when none of the quizzes has a limit."""
    ids = sorted(set(quiz_ids))
    if not ids:
        return set()
    if settings is None:
        settings = dict(db.session.execute(sa.select(Quiz.id, Quiz.settings).where(Quiz.id.in_(ids))).all())
    limits = {
        quiz_id: int((settings[quiz_id] or {}).get("attempts") or 0) for quiz_id in ids if quiz_id in settings
    }
    if not any(limits.values()):
        return set()  # no limit: nothing is ever out of attempts (grants only add to a limit)
    if grants is None:
        grants = dict(db.session.execute(
            sa.select(AttemptGrant.quiz_id, sa.func.sum(AttemptGrant.extra))
            .where(AttemptGrant.user_id == user_id, AttemptGrant.quiz_id.in_(ids),
                   *([AttemptGrant.granted_at >= since] if since is not None else []))
            .group_by(AttemptGrant.quiz_id)
        ).all())
    for quiz_id, extra in grants.items():
        if limits.get(quiz_id):
            limits[quiz_id] += int(extra or 0)
    if attempts is None:
        attempts = db.session.execute(
            sa.select(QuizAttempt.quiz_id, QuizAttempt.status, QuizAttempt.passed,
                      QuizAttempt.started_at)
            .where(QuizAttempt.user_id == user_id, QuizAttempt.quiz_id.in_(ids))
        )
    return out_of_attempts(limits, attempts, since)


def out_of_attempts(limits: dict[int, int], attempts: Iterable[Any],
                    since: datetime | None = None) -> set[int]:
    """Of the quizzes in ``limits`` (quiz id -> the person's attempt limit, grants of the
    cycle counted; 0 = unlimited), those the person can no longer pass in the cycle that began
    at ``since``: its ``attempts`` (theirs, of any status: rows with ``quiz_id``, ``status``,
    ``passed``, ``started_at``) use every attempt, none passed, none open."""
    used: dict[int, list[Any]] = {}
    for row in attempts:
        if row.quiz_id in limits and counts(row.started_at, since):
            used.setdefault(row.quiz_id, []).append(row)
    return {
        quiz_id for quiz_id, limit in limits.items()
        if limit and len(used.get(quiz_id, [])) >= limit
        and not any(r.passed or r.status == AttemptStatus.IN_PROGRESS for r in used.get(quiz_id, []))
    }


def stuck_in(user_id: int, course_id: int) -> list[Quiz]:
    """The live quizzes of a course that ``user_id`` can no longer pass (see ``exhausted``)."""
    quizzes = list(db.session.scalars(
        sa.select(Quiz).where(Quiz.course_id == course_id, Quiz.archived.is_(False)).order_by(Quiz.key)))
    stuck = exhausted(user_id, [q.id for q in quizzes], since=counting_from(user_id, course_id))
    return [q for q in quizzes if q.id in stuck]


def may_grant(actor: User, staff: Staff) -> bool:
    """Managers and officers for the people in their scope, administrators for anyone."""
    return actor.can(Permission.ACT_ON_PEOPLE) and can_see(actor, staff)


def account_of(staff: Staff) -> int | None:
    """The id of the person's account, if they have one."""
    return db.session.scalar(sa.select(User.id).where(User.staff_id == staff.id))


def grant_attempt(actor: User, staff: Staff, quiz: Quiz, extra: int = 1) -> AttemptGrant:
    """Give ``staff`` ``extra`` more attempts at ``quiz`` (audited). Only when they are
    stuck: out of attempts without a pass. The caller checked ``may_grant``."""
    user_id = account_of(staff)
    if user_id is None:
        raise GrantRefused("no_account")
    if quiz.id not in exhausted(user_id, [quiz.id], since=counting_from(user_id, quiz.course_id)):
        raise GrantRefused("not_needed")
    grant = AttemptGrant(user_id=user_id, quiz_id=quiz.id, extra=extra, granted_by_id=actor.id,
                         granted_at=clock.now())
    db.session.add(grant)
    audit.record("quiz.attempt_granted", actor=actor, target=staff.staff_code,
                 quiz=quiz.key, course=quiz.course.key, extra=extra)
    return grant


def unanswered(attempt: QuizAttempt, answers: dict[str, Any] | None = None) -> list[int]:
    """The numbers (1-based, as shown) of the questions without an answer saved (or in
    ``answers``, when given)."""
    answers = (attempt.answers or {}) if answers is None else answers
    return [n for n, q in enumerate(attempt.questions, 1) if answers.get(q["key"]) in (None, "", [])]


# The question pool of each quiz version, read once per process: (quiz id, source hash) ->
# (settings, questions). The source hash is the version the database owns (a sync that
# changes the quiz file writes a new one, and nothing else writes a quiz's questions), so a
# new version is a new key and no entry is ever invalidated by hand; the oldest fall out.
_pools: OrderedDict[tuple[int, str], tuple[dict[str, Any], list[dict[str, Any]]]] = OrderedDict()
_pools_lock = threading.Lock()


def question_pool(quiz: Quiz) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
    """(source hash, settings, questions) of ``quiz`` as one coherent version, without
    reading its questions from the database again while that version is current. The
    questions are shared between requests: never modify them (``draw_snapshots`` copies)."""
    key = (quiz.id, quiz.source_hash)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is not None:
            _pools.move_to_end(key)
            return quiz.source_hash, quiz.settings or {}, pool[1]
    row = db.session.execute(
        sa.select(Quiz.source_hash, Quiz.settings, Quiz.questions).where(Quiz.id == quiz.id)
    ).one()  # one row: the hash, settings and questions of the same version
    settings, questions = row.settings or {}, list(row.questions or [])
    with _pools_lock:
        _pools[(quiz.id, row.source_hash)] = (settings, questions)
        while len(_pools) > POOL_CACHE_SIZE:
            _pools.popitem(last=False)
    return row.source_hash, settings, questions


def _attempt_numbers(user_id: int, quiz: Quiz) -> tuple[list[datetime], QuizAttempt | None]:
    """(when each of the person's attempts started, the open attempt if any), read fresh:
    only the small columns, and the open attempt's row alone (the past attempts' snapshots
    are not read)."""
    rows = db.session.execute(
        sa.select(QuizAttempt.id, QuizAttempt.status, QuizAttempt.started_at)
        .where(QuizAttempt.user_id == user_id, QuizAttempt.quiz_id == quiz.id)
    ).all()
    open_id = next((r.id for r in rows if r.status == AttemptStatus.IN_PROGRESS), None)
    return ([r.started_at for r in rows],
            db.session.get(QuizAttempt, open_id) if open_id is not None else None)


def start_attempt(user_id: int, quiz: Quiz, rng: random.Random | None = None) -> QuizAttempt:
    """The open attempt, or a new one. Two starts at once give one attempt.

    Everything is read first (the person's attempts, fresh; the quiz's question pool, cached
    by version) and the questions are drawn before anything is written: the write is one
    INSERT in a short transaction (``short_write``). The database decides the races: at most
    one open attempt per person and quiz, and (person, quiz, number) unique, so two starts at
    once, or a start racing a submit, can make one attempt only and never pass the limit;
    the loser reads the winner's attempt.
    """
    for _ in range(3):
        started, open_attempt = _attempt_numbers(user_id, quiz)
        if open_attempt is not None and is_open(open_attempt):
            return open_attempt
        if open_attempt is not None:  # its time ran out: grade it, then go on
            with short_write(db.session):
                db.session.refresh(open_attempt)
                close_if_expired(open_attempt)
            continue
        source_hash, settings, questions = question_pool(quiz)
        if not questions:
            raise AttemptRefused("empty")
        if settings.get("attempts"):  # a limit: count the current cycle's attempts and grants
            since = counting_from(user_id, quiz.course_id)
            if sum(counts(at, since) for at in started) >= limit_for(user_id, quiz, settings, since):
                raise AttemptRefused("no_attempts_left")
        now = clock.now()
        time_limit = settings.get("time_limit")
        attempt = QuizAttempt(
            user_id=user_id,
            quiz_id=quiz.id,
            number=len(started) + 1,  # numbered across cycles: (person, quiz, number) is unique
            status=AttemptStatus.IN_PROGRESS,
            started_at=now,
            deadline_at=now + timedelta(minutes=time_limit) if time_limit else None,
            quiz_hash=source_hash,
            settings=dict(settings),
            questions=draw_snapshots(questions, settings, rng or random.SystemRandom()),
            answers={},
            submitted_at=None, score=None, max_score=None, percent=None, passed=None, results={},
        )
        try:
            with short_write(db.session):
                db.session.add(attempt)
                db.session.flush()
        except IntegrityError:
            continue  # someone (a double click, another tab) started one a moment ago: use theirs
        return attempt
    existing = _attempt_numbers(user_id, quiz)[1]
    if existing is None:
        raise AttemptRefused("no_attempts_left")
    return existing


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


def merged_answers(attempt: QuizAttempt, responses: dict[str, Any]) -> dict[str, Any]:
    """The attempt's saved answers with ``responses`` laid over them (not stored)."""
    merged = dict(attempt.answers or {})
    merged.update(clean_responses(attempt, responses))
    # Unticking every box of a "choose all" question is an answer too.
    for question in attempt.questions:
        if question["type"] == "multiple" and question["key"] in responses and not responses[question["key"]]:
            merged[question["key"]] = []
    return merged


def save_answers(attempt: QuizAttempt, responses: dict[str, Any]) -> bool:
    """Store answers so far (a reload or a lost connection loses nothing). False if closed."""
    if not is_open(attempt):
        close_if_expired(attempt)
        return False
    attempt.answers = merged_answers(attempt, responses)
    return True


def submit(attempt: QuizAttempt, responses: dict[str, Any] | None) -> QuizAttempt:
    """Grade the attempt once. A replayed or late submit never makes a second grade.

    Late (after the deadline and the grace period): the answers sent now are ignored and
    the attempt is graded on what was saved in time, marked as expired. The answers, the
    grade and the new status are written by one UPDATE that only an attempt still open
    matches: of two submits racing, exactly one grades it.
    """
    if attempt.status != AttemptStatus.IN_PROGRESS:
        return attempt
    on_time = is_open(attempt)
    answers = merged_answers(attempt, responses) if on_time and responses is not None else dict(
        attempt.answers or {})
    status = AttemptStatus.SUBMITTED if on_time else AttemptStatus.EXPIRED
    result = grade_attempt(attempt.questions, answers, int(attempt.settings.get("pass_percent", 80)))
    now = clock.now()
    values: dict[str, Any] = {
        "status": status,
        "answers": answers,
        "submitted_at": min(now, attempt.deadline_at + GRACE) if attempt.deadline_at and not on_time else now,
        "score": result.score,
        "max_score": result.max_score,
        "percent": result.percent,
        "passed": result.passed,
        "results": {
            key: {"score": r.score, "max": r.max_score, "correct": r.correct}
            for key, r in result.per_question.items()
        },
    }
    claimed = rowcount(db.session.execute(
        sa.update(QuizAttempt)
        .where(QuizAttempt.id == attempt.id, QuizAttempt.status == AttemptStatus.IN_PROGRESS)
        .values(**values)
        .execution_options(synchronize_session=False)
    ))
    if claimed != 1:
        db.session.refresh(attempt)
        return attempt
    for name, value in values.items():
        set_committed_value(attempt, name, value)
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
