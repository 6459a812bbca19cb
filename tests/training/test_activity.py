"""Facts the reports read instead of working them out row by row: the latest cycle of each
course (``enrolments.latest``) and each person's last training (``staff.last_training_at``)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from mooc import clock
from mooc.courses.models import Lesson, LessonProgress
from mooc.extensions import db
from mooc.reports.queries import Filters, rollup
from mooc.roster.models import Staff
from mooc.training import activity, assign
from mooc.training.models import AssignmentRule, Enrolment, EnrolmentSource, EnrolmentState
from tests.conftest import csrf_token, login

BEFORE = "b90d6828e86b"  # the migration before these two columns


def _cycles(staff_id: int) -> list[tuple[int, bool]]:
    stmt = sa.select(Enrolment.cycle, Enrolment.latest).where(Enrolment.staff_id == staff_id)
    return [tuple(r) for r in db.session.execute(stmt.order_by(Enrolment.cycle))]


def test_a_renewal_makes_the_new_cycle_the_only_latest(org, person):
    app, o = org
    staff, _user = person(o.section_a)
    with app.app_context():
        rule = AssignmentRule(course_id=o.course_id, due_days=30, renew_months=12)
        db.session.add(rule)
        db.session.flush()
        assign.enrol(db.session.get(Staff, staff.id), o.course_id, EnrolmentSource.MANUAL,
                     due_on=date(2026, 2, 1), today=date(2026, 1, 1))
        first = db.session.scalar(sa.select(Enrolment).where(Enrolment.staff_id == staff.id))
        first.state, first.rule_id = EnrolmentState.COMPLETED, rule.id
        first.completed_at = datetime(2025, 1, 10, tzinfo=UTC)
        first.expires_on = date(2026, 1, 10)
        db.session.flush()
        assert _cycles(staff.id) == [(1, True)]
        assign.enrol(db.session.get(Staff, staff.id), o.course_id, EnrolmentSource.MANUAL,
                     due_on=date(2026, 3, 1), today=date(2026, 1, 2))
        db.session.commit()
        assert _cycles(staff.id) == [(1, False), (2, True)]


def test_the_database_refuses_two_latest_cycles(org, person):
    app, o = org
    staff, _user = person(o.section_a)
    with app.app_context():
        for cycle in (1, 2):
            db.session.add(Enrolment(staff_id=staff.id, course_id=o.course_id, cycle=cycle,
                                     source=EnrolmentSource.MANUAL, assigned_on=date(2026, 1, cycle)))
        with pytest.raises(sa.exc.IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_a_lesson_read_is_the_units_last_activity(org, person, make_user):
    app, o = org
    staff, user = person(o.other, email="ha@example.vn")
    clock.set_now(datetime(2026, 6, 1, 3, tzinfo=UTC))
    with app.app_context():
        assign.enrol(db.session.get(Staff, staff.id), o.course_id, EnrolmentSource.MANUAL,
                     due_on=date(2026, 7, 1), today=date(2026, 5, 1))
        db.session.commit()
    from mooc.auth.models import Role, User

    reporter = make_user(role=Role.REPORTER)

    def other_row(months: int = 6):
        with app.app_context():
            result = rollup(db.session.get(User, reporter.id), None, Filters(), clock.today(), months)
            return next(r for r in result.rows if r.unit.id == o.other.id)

    idle = other_row()
    assert idle.last_activity is None and idle.inactive  # owes a course, never trained
    client = app.test_client()
    login(client, "ha@example.vn")
    page = "/courses/luat/lessons/co-ban/mot"
    client.post(f"{page}/done", data={"csrf_token": csrf_token(client, page)})
    busy = other_row()
    assert busy.last_activity == clock.now() and not busy.inactive
    clock.set_now(datetime(2026, 9, 1, 3, tzinfo=UTC))  # three months later, nothing more done
    assert other_row(months=2).inactive and not other_row(months=6).inactive


def test_the_migration_fills_both_from_existing_rows(org, person):
    app, o = org
    staff, user = person(o.section_a)
    read_at = datetime(2026, 3, 5, 8, tzinfo=UTC)
    with app.app_context():
        lesson_id = db.session.scalar(sa.select(Lesson.id).where(Lesson.course_id == o.course_id).limit(1))
        db.session.add_all([
            Enrolment(staff_id=staff.id, course_id=o.course_id, cycle=1, source=EnrolmentSource.RULE,
                      assigned_on=date(2025, 1, 1), state=EnrolmentState.COMPLETED, latest=False,
                      completed_at=datetime(2025, 1, 20, tzinfo=UTC)),
            Enrolment(staff_id=staff.id, course_id=o.course_id, cycle=2, source=EnrolmentSource.RULE,
                      assigned_on=date(2026, 1, 1)),
            LessonProgress(user_id=user.id, lesson_id=lesson_id, completed_at=read_at),
        ])
        db.session.commit()
        downgrade(revision=BEFORE)
        assert "latest" not in {c["name"] for c in sa.inspect(db.engine).get_columns("enrolments")}
        upgrade()
        db.session.remove()
        assert _cycles(staff.id) == [(1, False), (2, True)]
        assert db.session.get(Staff, staff.id).last_training_at == read_at
        # The benchmark generator's bulk recompute agrees with the migration.
        db.session.rollback()  # SQLite: one writer at a time
        with db.engine.begin() as connection:
            connection.execute(sa.update(Staff).values(last_training_at=None))
            activity.recompute(connection)
        db.session.expire_all()
        assert db.session.get(Staff, staff.id).last_training_at == read_at
