"""The status of an enrolment is decided in one place (``mooc.training.status``): the SQL
conditions and the Python predicate agree on every case, with the clock in Vietnam; and the
places that used to decide it on their own (reminders, a person's record, reports) now agree
with one another."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from mooc import clock
from mooc.auth.models import Role
from mooc.extensions import db
from mooc.reminders.schedule import Schedule, plan
from mooc.roster.models import Staff, StaffStatus
from mooc.training.models import Enrolment, EnrolmentSource, EnrolmentState
from mooc.training.status import EnrolmentStatus
from tests.conftest import login, save

# 23:30 UTC on 01/06 is already 06:30 on 02/06 in Hà Nội: "today" is 02/06.
NOW = datetime(2026, 6, 1, 23, 30, tzinfo=UTC)
TODAY = date(2026, 6, 2)
UTC_DAY = date(2026, 6, 1)  # "yesterday" in Vietnam
CLOSED_AT = datetime(2026, 5, 20, 3, tzinfo=UTC)
DONE_AT = datetime(2026, 5, 25, 3, tzinfo=UTC)

NS, IP, DONE, EX = (EnrolmentState.NOT_STARTED, EnrolmentState.IN_PROGRESS, EnrolmentState.COMPLETED,
                    EnrolmentState.EXEMPT)
S = EnrolmentStatus


def cycle(state: EnrolmentState, due_on: date | None, expected: EnrolmentStatus, **fields) -> dict:
    return {"state": state, "due_on": due_on, "expected": expected, **fields}


# (person's roster status, the person's cycles of one course, oldest first; the last is the latest)
CASES = {
    "not started, no due date": (StaffStatus.ACTIVE, [cycle(NS, None, S.NOT_STARTED)]),
    "not started, due later": (StaffStatus.ACTIVE, [cycle(NS, date(2026, 6, 30), S.NOT_STARTED)]),
    "due today (local)": (StaffStatus.ACTIVE, [cycle(NS, TODAY, S.NOT_STARTED)]),
    "in progress, due today": (StaffStatus.ACTIVE, [cycle(IP, TODAY, S.IN_PROGRESS)]),
    "due yesterday in Asia/Ho_Chi_Minh (today in UTC)": (StaffStatus.ACTIVE, [cycle(NS, UTC_DAY, S.OVERDUE)]),
    "in progress, due yesterday (local)": (StaffStatus.ACTIVE, [cycle(IP, UTC_DAY, S.OVERDUE)]),
    "completed after its due date": (
        StaffStatus.ACTIVE, [cycle(DONE, date(2026, 5, 1), S.COMPLETED, completed_at=DONE_AT)]),
    "exempt after its due date": (StaffStatus.ACTIVE, [cycle(EX, date(2026, 5, 1), S.EXEMPT)]),
    "closed (moved out), past due": (
        StaffStatus.ACTIVE, [cycle(NS, date(2026, 5, 1), S.CLOSED, closed_at=CLOSED_AT)]),
    "closed in progress": (StaffStatus.ACTIVE, [cycle(IP, None, S.CLOSED, closed_at=CLOSED_AT)]),
    "completed, then closed": (
        StaffStatus.ACTIVE,
        [cycle(DONE, date(2026, 5, 1), S.COMPLETED, completed_at=DONE_AT, closed_at=CLOSED_AT)]),
    "exempt, then closed": (StaffStatus.ACTIVE, [cycle(EX, date(2026, 5, 1), S.EXEMPT, closed_at=CLOSED_AT)]),
    "person left, past due": (StaffStatus.LEFT, [cycle(NS, date(2026, 5, 1), S.NOT_STARTED)]),
    "person on leave, past due": (StaffStatus.ON_LEAVE, [cycle(IP, date(2026, 5, 1), S.OVERDUE)]),
    "renewal: earlier cycle completed, current cycle overdue": (
        StaffStatus.ACTIVE,
        [cycle(DONE, date(2025, 5, 1), S.COMPLETED, completed_at=DONE_AT - timedelta(days=400)),
         cycle(NS, date(2026, 5, 1), S.OVERDUE)]),
    "renewal: earlier cycle completed, current cycle due later": (
        StaffStatus.ACTIVE,
        [cycle(DONE, date(2025, 5, 1), S.COMPLETED, completed_at=DONE_AT - timedelta(days=400)),
         cycle(IP, date(2026, 7, 1), S.IN_PROGRESS)]),
    "an earlier cycle never finished, superseded by a completion imported later": (
        StaffStatus.ACTIVE,
        [cycle(NS, date(2026, 5, 1), S.CLOSED), cycle(DONE, None, S.COMPLETED, completed_at=DONE_AT)]),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_sql_and_python_agree_on_the_status(org, make_staff, case):
    app, o = org
    staff_status, cycles = CASES[case]
    staff = make_staff(unit=o.section_a)
    with app.app_context():
        db.session.get(Staff, staff.id).status = staff_status
        for number, fields in enumerate(cycles, start=1):
            values = {k: v for k, v in fields.items() if k != "expected"}
            db.session.add(Enrolment(staff_id=staff.id, course_id=o.course_id, cycle=number,
                                     source=EnrolmentSource.RULE, assigned_on=date(2025, 1, 1),
                                     latest=number == len(cycles), **values))
        db.session.commit()
    clock.set_now(NOW)
    assert clock.today() == TODAY
    expected = [c["expected"] for c in cycles]
    with app.app_context():
        rows = db.session.execute(
            sa.select(Enrolment, Staff.status, EnrolmentStatus.expression(staff_status=Staff.status),
                      *(s.condition(staff_status=Staff.status) for s in EnrolmentStatus))
            .join(Staff, Staff.id == Enrolment.staff_id)
            .order_by(Enrolment.cycle)
        ).all()
        python = [EnrolmentStatus.of(e, staff_status=status) for e, status, *_sql in rows]
        sql = [EnrolmentStatus(row[2]) for row in rows]
        assert python == expected
        assert sql == expected
        for row, status in zip(rows, expected, strict=True):  # exactly one condition holds
            holding = [s for s, holds in zip(EnrolmentStatus, row[3:], strict=True) if holds]
            assert holding == [status]
            assert status.holds(row[0], staff_status=row[1])
        # The reports' form (open, latest cycles of people who have not left) says the same.
        counted = db.session.execute(
            sa.select(Enrolment.cycle, EnrolmentStatus.expression(current=True))
            .join(Staff, Staff.id == Enrolment.staff_id)
            .where(Enrolment.closed_at.is_(None), Enrolment.latest.is_(True),
                   Staff.status != StaffStatus.LEFT)
        ).all()
        for number, status in counted:
            assert EnrolmentStatus(status) == expected[number - 1]


def test_every_status_has_a_label_in_vietnamese(app):
    with app.test_request_context(headers={"Accept-Language": "vi"}):
        labels = {s: s.label for s in EnrolmentStatus}
    assert labels[S.OVERDUE] == "Quá hạn" and labels[S.CLOSED] == "Không còn bắt buộc"
    assert len(set(labels.values())) == len(EnrolmentStatus)


def test_a_cycle_an_imported_completion_completed_is_not_overdue_anywhere(org, person, make_user,
                                                                               tmp_path):
    """Before: reminders mailed "overdue" for a cycle a later (imported) completion had replaced,
    and the person's record called it overdue, while the reports counted the course as done.
    Now the completion imported after the open cycle began completes that cycle (no second one)."""
    app, o = org
    staff, _user = person(o.section_a, name="Trịnh Văn Cũ", email="cu@example.vn")
    save(app, Enrolment(staff_id=staff.id, course_id=o.course_id, cycle=1, source=EnrolmentSource.RULE,
                        assigned_on=date(2026, 3, 1), due_on=date(2026, 4, 1),
                        state=EnrolmentState.NOT_STARTED))
    source = tmp_path / "lich-su.csv"
    source.write_text(f"Mã cán bộ;Khóa học;Ngày hoàn thành\n{staff.staff_code};LTT;10/05/2026\n",
                      encoding="utf-8")
    clock.set_now(NOW)
    assert app.test_cli_runner().invoke(args=["training", "import-history", str(source)]).exit_code == 0
    with app.app_context():
        cycles = db.session.scalars(sa.select(Enrolment).order_by(Enrolment.cycle)).all()
        assert [(e.cycle, e.state, e.latest) for e in cycles] == [(1, DONE, True)]
        the_plan = plan(TODAY, Schedule(digest_weekday=0), stale_before=NOW)
        assert [item.step for m in the_plan.trainees for item in m.items] == []
    reporter = make_user(role=Role.REPORTER)
    client = app.test_client()
    login(client, reporter.email)
    record = client.get(f"/training/people/{staff.id}").get_data(as_text=True)
    assert "Quá hạn" not in record and "Đã hoàn thành" in record
    done = client.get(f"/reports/people?unit={o.section_a.id}&status=completed").get_data(as_text=True)
    assert "Trịnh Văn Cũ" in done
    overdue = client.get(f"/reports/people?unit={o.section_a.id}&status=overdue").get_data(as_text=True)
    assert "Trịnh Văn Cũ" not in overdue
