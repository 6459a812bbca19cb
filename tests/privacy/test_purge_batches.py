"""The retention purge a batch of leavers at a time (``mooc.privacy.cohort``) leaves the database
exactly as the purge one person at a time did (``tests/privacy/purge_reference.py``, the code
until session 14), every row of every table, on a varied roster: names with diacritics, a
leaver's name inside another leaver's (taken before and after them) and inside the name of
someone who stays, two people with one name (one stays: their own rows keep it), an account
under another name and addresses before, directory user names, an address one leaver had
before another was given it (the batch ends between them), copies in audit events, notes,
reminders, subscriptions, answers. Batches of two, three, seven and the production size (read
two and three people a query) give the same rows. And a purge that fails in a later batch
leaves the database as it was (the command commits once)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from itertools import count

import pytest
import sqlalchemy as sa

from mooc import clock, database
from mooc.auth import audit
from mooc.auth.models import AuditEvent, LoginThrottle, User
from mooc.config import settings
from mooc.courses.models import Course, Quiz
from mooc.extensions import db
from mooc.privacy import cohort, retention
from mooc.privacy.models import CorrectionRequest
from mooc.quizzes.models import AttemptStatus, QuizAttempt
from mooc.reminders.models import ReminderKind, ReminderLog, ReminderStatus
from mooc.reports.models import Frequency, ReportKind, ReportSubscription
from mooc.roster.models import Staff, StaffStatus
from mooc.training.models import Enrolment, EnrolmentSource
from tests.privacy import purge_reference
from tests.privacy.conftest import NAME

AT = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
PRODUCTION = database.CHUNK

# (name, staff code, address, leaves): in the order they join the roster (the purge's order).
PEOPLE = [
    ("Nguyễn Văn An", "100001", "an.nv@example.vn", True),
    ("Nguyễn Văn An Khang", "100002", "khang.nva@example.vn", True),  # holds An's name; taken after An
    ("Lê Thị Minh Châu", "100003", "chau.ltm@example.vn", True),
    ("Lê Thị Minh", "100004", "minh.lt@example.vn", True),  # inside Châu's, who is taken before her
    ("Trần Thị Hoa", "100005", "hoa.tt@example.vn", True),
    ("Trần Thị Hoa", "100006", "hoa.tt2@example.vn", False),  # the same name: stays
    ("Phạm Thị Lan", "100007", "lan.pt@example.vn", True),
    ("Phạm Thị Lan Anh", "100008", "lananh.pt@example.vn", False),  # holds Lan's name: stays
    ("Đặng Văn Việt", "100009", "viet.dv@example.vn", True),  # had viet.dq@ before Việt (Quốc) had it
    ("Đặng Quốc Việt", "100010", "viet.dq2@example.vn", True),
    ("Vũ Đình Trọng", "100011", None, True),  # no address, no account
    ("Hoàng Văn Bình", "100012", "binh.hv@example.vn", False),
]


def _people(make_staff, make_user) -> dict[str, tuple[int, int | None]]:
    """The roster above, each with an account (An's under another name) but Trọng."""
    ids: dict[str, tuple[int, int | None]] = {}
    for name, code, email, _leaves in PEOPLE:
        staff = make_staff(name, email=email, staff_code=code)
        shown = "Nguyễn V. An" if code == "100001" else name
        user = make_user(email=email, staff=staff, name=shown) if email else None
        ids[code] = (staff.id, user.id if user else None)
    return ids


def _events(ids: dict[str, tuple[int, int | None]]) -> None:
    """Copies of their identities in the audit trail, as the application records them."""
    an, khang, hoa = (db.session.get(User, ids[code][1]) for code in ("100001", "100002", "100005"))
    audit.record("login.succeeded", actor=an, target="AN.NV@example.vn", method="ldap", login="an.nv")
    audit.record("login.failed", target="an.nv", reason="directory_wrong_password")
    audit.record("login.failed", target="hoa", reason="roster_left", person="100005")
    audit.record("login.succeeded", actor=hoa, target="hoa.tt@example.vn", method="ldap", login="hoa")
    audit.record("account.email_changed", target="an.nv@example.vn", previous="an.nguyen@example.vn",
                 user_id=an.id, reason="roster import")
    audit.record("password.reset_requested", target="An.Nguyen@Example.vn")
    audit.record("account.email_changed", target="viet.dv@example.vn", previous="viet.dq@example.vn",
                 user_id=ids["100009"][1], reason="roster import")
    audit.record("account.email_changed", target="viet.dq2@example.vn", previous="viet.dq@example.vn",
                 user_id=ids["100010"][1], reason="roster import")
    audit.record("password.reset_requested", target="viet.dq@example.vn")
    audit.record("login.succeeded", actor=khang, target="khang.nva@example.vn", method="password")
    for code, (_staff_id, _user_id) in ids.items():
        audit.record("training.due_extended", target=code, days=7)
    audit.record("roster.imported", target="chuyen-cong-tac.xlsx",
                 note="Chuyển công tác: Nguyễn Văn An, Nguyễn Văn An Khang, Lê Thị Minh Châu và Trần Thị Hoa")
    audit.record("training.exempted", target="100008", reason="Phạm Thị Lan Anh học cùng Phạm Thị Lan")
    audit.record("unit.updated", target="Lê Thị Minh", names=["Lê Thị Minh", "Lê Thị Minh Châu"],
                 by={"Vũ Đình Trọng": "100011"})
    audit.record("report.exported", target="Hoàng Văn Bình", reason=f"Gửi {NAME} và Hoàng Văn Bình")


def _copies(world, ids: dict[str, tuple[int, int | None]]) -> None:
    """Their rows, and copies of them in free text: enrolment notes, reminders (their own, and
    a mail error naming another), corrections, a subscription to an address, quiz answers."""
    course = db.session.scalar(sa.select(Course).where(Course.key == "luat"))
    quiz = db.session.scalar(sa.select(Quiz).where(Quiz.course_id == course.id))
    numbers = count(1)
    for code, (staff_id, user_id) in ids.items():
        enrolment = Enrolment(staff_id=staff_id, course_id=course.id, source=EnrolmentSource.MANUAL,
                              assigned_on=date(2025, 1, 2), note=f"Đề nghị của Nguyễn Văn An cho {code}")
        db.session.add(enrolment)
        db.session.flush()
        if user_id is None:
            continue
        db.session.add_all([
            ReminderLog(key=f"due:{enrolment.id}:1", kind=ReminderKind.DUE, step="1",
                        enrolment_id=enrolment.id, user_id=user_id,
                        recipient=db.session.get(User, user_id).email, status=ReminderStatus.FAILED,
                        last_error="550 <viet.dq@example.vn> và <an.nv@example.vn>: no such user"),
            CorrectionRequest(staff_id=staff_id, field="full_name", value_then="Nguyễn Văn An Khang",
                              note="Lê Thị Minh Châu đề nghị", requested_by_id=user_id),
            QuizAttempt(user_id=user_id, quiz_id=quiz.id, number=next(numbers),
                        status=AttemptStatus.SUBMITTED, settings=quiz.settings, questions=quiz.questions,
                        answers={"ky": ["Lê Thị Minh Châu, Nguyễn Văn An Khang, Phạm Thị Lan Anh",
                                        "viet.dq@example.vn"]},
                        score=1, max_score=1, percent=100, passed=True, submitted_at=clock.now()),
        ])
    db.session.add_all([
        ReportSubscription(email="Viet.DQ@example.vn", kind=ReportKind.OVERDUE, frequency=Frequency.WEEKLY,
                           created_by_id=world.user_id),
        LoginThrottle(email="an.nv", failures=3, last_failure_at=clock.now()),
    ])


@pytest.fixture
def roster(world, make_staff, make_user):
    """``world``'s person and the roster above; everyone marked as left long ago who leaves."""
    ids = _people(make_staff, make_user)
    with world.app.app_context():
        clock.set_now(AT)
        _events(ids)
        _copies(world, ids)
        leaving = [ids[code][0] for _n, code, _e, leaves in PEOPLE if leaves] + [world.staff_id]
        db.session.execute(sa.update(Staff).where(Staff.id.in_(leaving))
                           .values(status=StaffStatus.LEFT, left_on=date(2019, 6, 30)))
        db.session.commit()
        clock.set_now(None)
    return world.app


def _snapshot() -> dict[str, list[str]]:
    """Every row of every table; the purge's own record without its id (a sequence, on
    PostgreSQL, is not rolled back)."""
    rows = {}
    for table in db.metadata.sorted_tables:
        found = db.session.execute(sa.select(table)).mappings().all()
        if table.name == "audit_events":
            found = [{**row, "id": 0} if row["action"] == "privacy.purged" else row for row in found]
        rows[table.name] = sorted(repr(sorted(row.items())) for row in map(dict, found))
    return rows


def _purged(app, purge) -> dict[str, list[str]]:
    """The database after ``purge`` (rolled back after the snapshot)."""
    with app.app_context():
        clock.set_now(AT)
        try:
            purge(settings())
            db.session.flush()
            return _snapshot()
        finally:
            db.session.rollback()
            clock.set_now(None)


def _batched(config) -> None:
    retention.purge(config)


@pytest.mark.parametrize(("chunk", "per_pass"), [(2, 2), (2, 3), (3, 7), (PRODUCTION, cohort.PER_PASS)])
def test_batches_leave_every_row_as_one_person_at_a_time_did(roster, monkeypatch, chunk, per_pass):
    expected = _purged(roster, purge_reference.purge)
    with roster.app_context():
        leavers = db.session.scalar(sa.select(sa.func.count()).select_from(Staff).where(
            Staff.status == StaffStatus.LEFT))
    assert leavers == 10
    monkeypatch.setattr(database, "CHUNK", chunk)  # people a query
    monkeypatch.setattr(cohort, "PER_PASS", per_pass)  # people a batch
    batches = []
    read = cohort.read
    monkeypatch.setattr(cohort, "read", lambda ids, codes: batches.append(len(ids)) or read(ids, codes))
    assert _purged(roster, _batched) == expected
    if chunk == PRODUCTION:  # Việt (Quốc) was given Việt (Văn)'s former address: read after his turn
        assert batches == [10, 2], batches
    # nobody who stays was pseudonymised, and their own rows keep their name
    with roster.app_context():
        stay = {name for (name,) in db.session.execute(sa.select(Staff.full_name).where(
            Staff.status != StaffStatus.LEFT))}
    assert {"Trần Thị Hoa", "Phạm Thị Lan Anh", "Hoàng Văn Bình"} <= stay


def test_what_the_reference_leaves_is_what_the_rule_says(roster):
    """The reference is worth comparing with: copies rewritten, the stayers' longer names kept."""
    with roster.app_context():
        clock.set_now(AT)
        purge_reference.purge(settings())
        db.session.flush()
        details = sa.select(AuditEvent.details)
        noted = db.session.scalar(details.where(AuditEvent.action == "training.exempted"))
        assert noted["reason"].startswith("Phạm Thị Lan Anh học cùng Ẩn danh AD-")
        imported = db.session.scalar(details.where(AuditEvent.action == "roster.imported"))
        assert not any(name in imported["note"] for name in ("Nguyễn Văn An", "Trần Thị Hoa", "Lê Thị Minh"))
        answers = db.session.scalars(sa.select(QuizAttempt.answers)).all()
        assert any("Phạm Thị Lan Anh" in str(given) for given in answers)
        db.session.rollback()
        clock.set_now(None)


def test_a_purge_that_fails_in_a_later_batch_changes_nothing(roster, monkeypatch):
    with roster.app_context():
        before = _snapshot()
    monkeypatch.setattr(database, "CHUNK", 2)
    monkeypatch.setattr(cohort, "PER_PASS", 3)
    done = []
    pseudonymise = cohort.pseudonymise

    def failing(people):
        if done:
            raise RuntimeError("the database went away")
        pseudonymise(people)
        db.session.flush()
        done.append(len(people))

    monkeypatch.setattr(cohort, "pseudonymise", failing)
    result = roster.test_cli_runner().invoke(args=["privacy", "purge"])
    assert isinstance(result.exception, RuntimeError), result.output
    assert done == [3]  # a batch was written (flushed) before the failure
    with roster.app_context():
        assert _snapshot() == before
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Staff).where(
            Staff.staff_code.like("AD-%"))) == 0


class _Seen:
    """A progress that notes what it is told."""

    def __init__(self) -> None:
        self.phases: list[tuple[str, int | None]] = []
        self.done = 0

    def phase(self, name: str, total: int | None = None) -> None:
        self.phases.append((str(name), total))

    def advance(self, steps: int = 1) -> None:
        self.done += steps


def test_the_purge_tells_its_progress_a_batch_at_a_time(roster, monkeypatch):
    monkeypatch.setattr(cohort, "PER_PASS", 4)
    seen = _Seen()
    with roster.app_context():
        retention.purge(settings(), progress=seen)
        db.session.rollback()
    assert seen.phases == [("Ẩn danh hoá", 10)] and seen.done == 10  # the interface's language
