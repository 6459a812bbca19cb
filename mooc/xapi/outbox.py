"""Collect the facts into the outbox, send what is pending, export it all.

``collect`` turns what the database already holds into statements, once per fact (the
outbox's unique (kind, source id) says what was collected: bulk writers, imports and the
web alike are covered, and a trainee's request does no xAPI work at all). ``send`` posts the
pending ones in batches; a batch the store refuses or cannot take waits, with a growing
delay, for a later run. Statement ids are derived from the facts, so a batch sent twice (a
run killed between the store's answer and our commit) is accepted twice and stored once."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import IO, Any

import sqlalchemy as sa

from mooc import clock
from mooc.auth.models import User
from mooc.courses.models import Course, Lesson, LessonProgress, Quiz
from mooc.database import update_rows
from mooc.extensions import db
from mooc.quizzes.models import QuizAttempt
from mooc.roster.models import Staff
from mooc.training.models import Certificate, Enrolment, EnrolmentState
from mooc.xapi import statements
from mooc.xapi.models import XapiOutbox
from mooc.xapi.statements import Where

CHUNK = 2000  # facts read and queued per statement, so memory stays flat on a first run
MAX_DELAY = timedelta(hours=6)
TIMEOUT_SECONDS = 30


def _not_queued(kind: str, source: Any) -> Any:
    return ~sa.exists().where(XapiOutbox.kind == kind, XapiOutbox.source_id == source)


def _lessons(where: Where, limit: int) -> list[tuple[str, int, dict[str, Any]]]:
    rows = db.session.execute(
        sa.select(LessonProgress.id, LessonProgress.completed_at, Staff.staff_code, Course.key,
                  Course.title, Lesson.key.label("lesson_key"), Lesson.title.label("lesson_title"))
        .join(User, User.id == LessonProgress.user_id).join(Staff, Staff.id == User.staff_id)
        .join(Lesson, Lesson.id == LessonProgress.lesson_id).join(Course, Course.id == Lesson.course_id)
        .where(_not_queued("lesson", LessonProgress.id)).order_by(LessonProgress.id).limit(limit))
    return [("lesson", r.id, statements.lesson_done(
        where, r.id, r.staff_code, r.completed_at, r.key, r.title, r.lesson_key, r.lesson_title))
        for r in rows]


def _attempt_rows(kind: str, limit: int, *conditions: Any) -> Any:
    return db.session.execute(
        sa.select(QuizAttempt.id, QuizAttempt.number, QuizAttempt.started_at,
                  QuizAttempt.submitted_at, QuizAttempt.passed, QuizAttempt.score,
                  QuizAttempt.max_score, QuizAttempt.percent, Staff.staff_code, Course.key,
                  Course.title, Quiz.key.label("quiz_key"), Quiz.title.label("quiz_title"))
        .join(User, User.id == QuizAttempt.user_id).join(Staff, Staff.id == User.staff_id)
        .join(Quiz, Quiz.id == QuizAttempt.quiz_id).join(Course, Course.id == Quiz.course_id)
        .where(_not_queued(kind, QuizAttempt.id), *conditions)
        .order_by(QuizAttempt.id).limit(limit))


def _attempts_started(where: Where, limit: int) -> list[tuple[str, int, dict[str, Any]]]:
    return [("attempt", r.id, statements.attempt_started(
        where, r.id, r.staff_code, r.started_at, r.key, r.title, r.quiz_key, r.quiz_title, r.number))
        for r in _attempt_rows("attempt", limit)]


def _attempts_graded(where: Where, limit: int) -> list[tuple[str, int, dict[str, Any]]]:
    rows = _attempt_rows("graded", limit, QuizAttempt.percent.is_not(None),
                         QuizAttempt.submitted_at.is_not(None))
    return [("graded", r.id, statements.attempt_graded(
        where, r.id, r.staff_code, r.submitted_at, r.key, r.title, r.quiz_key, r.quiz_title,
        r.number, bool(r.passed), r.score, r.max_score, r.percent)) for r in rows]


def _completions(where: Where, limit: int) -> list[tuple[str, int, dict[str, Any]]]:
    rows = db.session.execute(
        sa.select(Enrolment.id, Enrolment.completed_at, Enrolment.cycle, Enrolment.score,
                  Staff.staff_code, Course.key, Course.title)
        .join(Staff, Staff.id == Enrolment.staff_id).join(Course, Course.id == Enrolment.course_id)
        .where(Enrolment.state == EnrolmentState.COMPLETED, Enrolment.completed_at.is_not(None),
               _not_queued("course", Enrolment.id))
        .order_by(Enrolment.id).limit(limit))
    return [("course", r.id, statements.course_completed(
        where, r.id, r.staff_code, r.completed_at, r.key, r.title, r.cycle, r.score)) for r in rows]


def _certificates(where: Where, limit: int) -> list[tuple[str, int, dict[str, Any]]]:
    rows = db.session.execute(
        sa.select(Certificate.id, Certificate.issued_at, Certificate.code, Staff.staff_code,
                  Course.key, Course.title)
        .join(Enrolment, Enrolment.id == Certificate.enrolment_id)
        .join(Staff, Staff.id == Enrolment.staff_id).join(Course, Course.id == Enrolment.course_id)
        .where(Certificate.revoked_at.is_(None), _not_queued("certificate", Certificate.id))
        .order_by(Certificate.id).limit(limit))
    return [("certificate", r.id, statements.certificate_issued(
        where, r.id, r.staff_code, r.issued_at, r.key, r.title, r.code)) for r in rows]


def _revocations(where: Where, limit: int) -> list[tuple[str, int, dict[str, Any]]]:
    """Certificates revoked after their "earned" statement was queued: void it."""
    queued = sa.exists().where(XapiOutbox.kind == "certificate", XapiOutbox.source_id == Certificate.id)
    rows = db.session.execute(
        sa.select(Certificate.id, Certificate.revoked_at)
        .where(Certificate.revoked_at.is_not(None), queued, _not_queued("revoked", Certificate.id))
        .order_by(Certificate.id).limit(limit))
    return [("revoked", r.id, statements.certificate_revoked(where, r.id, r.revoked_at)) for r in rows]


READERS: dict[str, Callable[[Where, int], list[tuple[str, int, dict[str, Any]]]]] = {
    "lesson": _lessons,
    "attempt": _attempts_started,
    "graded": _attempts_graded,
    "course": _completions,
    "certificate": _certificates,
    "revoked": _revocations,  # after "certificate": a revocation voids a queued statement only
}


def collect(where: Where, *, chunk: int = CHUNK) -> dict[str, int]:
    """Queue a statement for every fact not queued yet; commits each chunk (what a crash
    leaves is queued, the rest is found by the next run). Returns how many of each kind."""
    counts = dict.fromkeys(READERS, 0)
    for kind, read in READERS.items():
        while True:
            found = read(where, chunk)
            if not found:
                break
            now = clock.now()
            db.session.execute(sa.insert(XapiOutbox), [
                {"kind": k, "source_id": source_id, "statement_id": statement["id"],
                 "statement": statement, "created_at": now, "tries": 0}
                for k, source_id, statement in found])
            db.session.commit()
            counts[kind] += len(found)
    return counts


def pending_count(now: datetime | None = None) -> tuple[int, int]:
    """(pending, of which waiting for a later try)."""
    now = now or clock.now()
    pending = db.session.scalar(sa.select(sa.func.count()).where(XapiOutbox.sent_at.is_(None))) or 0
    waiting = db.session.scalar(sa.select(sa.func.count()).where(
        XapiOutbox.sent_at.is_(None), XapiOutbox.next_try_at > now)) or 0
    return pending, waiting


@dataclass(frozen=True)
class Store:
    """The LRS: its xAPI endpoint (ending in /xAPI/ or similar) and basic-auth credentials."""

    url: str
    user: str = ""
    password: str = field(default="", repr=False)


class StoreRefused(Exception):
    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def post(store: Store, batch: list[dict[str, Any]]) -> None:
    """POST the statements to the store's /statements resource; StoreRefused if it did not
    take them (an HTTP error, or no answer)."""
    request = urllib.request.Request(  # noqa: S310 (MOOC_XAPI_URL is checked to be http(s))
        store.url.rstrip("/") + "/statements", method="POST",
        data=json.dumps(batch, ensure_ascii=False).encode("utf-8"),
        headers={"Content-Type": "application/json; charset=utf-8",
                 "X-Experience-API-Version": "1.0.3"})
    if store.user:
        token = base64.b64encode(f"{store.user}:{store.password}".encode()).decode("ascii")
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:  # noqa: S310
            answer.read()
    except urllib.error.HTTPError as refused:
        detail = refused.read(300).decode("utf-8", "replace")
        raise StoreRefused(f"HTTP {refused.code}: {detail}", refused.code) from None
    except (urllib.error.URLError, OSError) as lost:
        raise StoreRefused(f"no answer: {getattr(lost, 'reason', lost)}") from None


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def _malformed(refused: StoreRefused) -> bool:
    """The store refused the batch for its content, not for who we are or how busy it is."""
    return (refused.status is not None and 400 <= refused.status < 500
            and refused.status not in (401, 403, 404, 405, 408, 429))


def _delay(tries: int) -> timedelta:
    return min(timedelta(minutes=2 ** min(tries, 20)), MAX_DELAY)


def _due(limit: int, now: datetime) -> list[XapiOutbox]:
    return list(db.session.scalars(
        sa.select(XapiOutbox).where(
            XapiOutbox.sent_at.is_(None),
            sa.or_(XapiOutbox.next_try_at.is_(None), XapiOutbox.next_try_at <= now))
        .order_by(XapiOutbox.id).limit(limit)))


def _failed(rows: list[XapiOutbox], error: StoreRefused, now: datetime) -> None:
    for row in rows:
        row.tries += 1
        row.next_try_at = now + _delay(row.tries)
        row.last_error = str(error)[:500]


def send(store: Store, *, batch: int = 100) -> SendReport:
    """Send the due statements, oldest first, one batch per POST, committing after each. A
    store that cannot be reached stops the run (the rest waits); a batch refused for what it
    holds (HTTP 400, 409, 413, 422...) is sent one by one, so one bad statement does not hold
    the others."""
    report = SendReport()
    while True:
        now = clock.now()
        rows = _due(batch, now)
        if not rows:
            return report
        try:
            post(store, [row.statement for row in rows])
        except StoreRefused as refused:
            if _malformed(refused) and len(rows) > 1:
                for row in rows:
                    try:
                        post(store, [row.statement])
                    except StoreRefused as alone:
                        _failed([row], alone, now)
                        report.failed += 1
                        report.errors.append(str(alone))
                    else:
                        row.sent_at = now
                        report.sent += 1
                db.session.commit()
                continue
            _failed(rows, refused, now)
            db.session.commit()
            report.failed += len(rows)
            report.errors.append(str(refused))
            return report  # the store is down or refuses us: later runs try again
        update_rows(db.session, XapiOutbox, rows, {"sent_at": now})  # one UPDATE for the batch
        db.session.commit()
        report.sent += len(rows)


def statements_of(*, pending_only: bool = False) -> Iterator[dict[str, Any]]:
    """Every queued statement (or the pending ones), oldest first, read in chunks."""
    last = 0
    while True:
        query = sa.select(XapiOutbox.id, XapiOutbox.statement).where(XapiOutbox.id > last)
        if pending_only:
            query = query.where(XapiOutbox.sent_at.is_(None))
        rows = db.session.execute(query.order_by(XapiOutbox.id).limit(CHUNK)).all()
        if not rows:
            return
        for row in rows:
            yield row.statement
        last = rows[-1].id


def export(out: IO[str], *, pending_only: bool = False) -> int:
    """Write the statements as JSON lines (one statement per line); returns how many."""
    count = 0
    for statement in statements_of(pending_only=pending_only):
        out.write(json.dumps(statement, ensure_ascii=False, sort_keys=True) + "\n")
        count += 1
    return count
