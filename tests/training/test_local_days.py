"""Moments are stored in UTC; the days and months people read are local (Asia/Ho_Chi_Minh).
A course finished at 00:30 on 1 May in Hà Nội is 17:30 on 30 April in UTC: it counts in May on
the dashboard's "completions per month", and a past-completions file that records it on 01/05
finds it already there (both used the UTC date)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa

from mooc import clock
from mooc.auth.models import Role, User
from mooc.courses.models import Course
from mooc.extensions import db
from mooc.reports.queries import completions_per_month
from mooc.training import assign
from mooc.training.completion import complete
from mooc.training.history import plan_history
from mooc.training.models import Enrolment, EnrolmentSource
from tests.training.conftest import org, person  # noqa: F401  (fixtures)

AFTER_MIDNIGHT = datetime(2026, 4, 30, 17, 30, tzinfo=UTC)  # 01/05/2026 00:30 in Hà Nội


def _finished_after_midnight(app, o, staff) -> None:
    clock.set_now(datetime(2026, 4, 2, 3, tzinfo=UTC))
    with app.app_context():
        staff = db.session.merge(staff)
        assign.enrol(staff, o.course_id, EnrolmentSource.MANUAL, today=date(2026, 4, 2))
        enrolment = db.session.scalar(sa.select(Enrolment).where(Enrolment.staff_id == staff.id))
        complete(enrolment, db.session.get(Course, o.course_id), None, AFTER_MIDNIGHT)
        db.session.commit()
    clock.set_now(datetime(2026, 6, 1, 3, tzinfo=UTC))


def test_a_completion_after_local_midnight_counts_in_its_local_month(org, person, make_user):  # noqa: F811
    app, o = org
    staff, _ = person(o.section_a)
    _finished_after_midnight(app, o, staff)
    reporter = make_user(role=Role.REPORTER, email="bo@example.vn")
    with app.app_context():
        months = dict(completions_per_month(db.session.get(User, reporter.id), date(2026, 6, 1)))
    assert (months["2026-04"], months["2026-05"]) == (0, 1)
    assert list(months)[0] == "2025-07" and len(months) == 12


def test_a_history_row_on_the_local_day_is_already_recorded(org, person, tmp_path):  # noqa: F811
    app, o = org
    staff, _ = person(o.section_a)
    _finished_after_midnight(app, o, staff)
    source = tmp_path / "lich-su.csv"
    source.write_text(f"Mã cán bộ;Khóa học;Ngày hoàn thành\n{staff.staff_code};LTT;01/05/2026\n",
                      encoding="utf-8")
    with app.app_context():
        plan = plan_history(source, clock.today())
    assert (len(plan.to_add), plan.unchanged, plan.issues) == (0, 1, [])
