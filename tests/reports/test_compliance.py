"""Compliance on a date at ministry scale: counted in SQL with the unit's subtree in SQL (no
list of ids: PostgreSQL's driver refuses more than 65,535 parameters), a statement count
that does not grow with the number of people, an unknown unit answered 404, and the day
taken as a day in Vietnam."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import sqlalchemy as sa

from mooc import clock
from mooc.auth.models import Role
from mooc.extensions import db
from mooc.roster.models import Staff, StaffStatus
from mooc.training.models import Enrolment, EnrolmentSource, EnrolmentState
from tests.conftest import count_queries, login, save

DAY = date(2026, 6, 1)
PEOPLE = 70_000  # more than the 65,535 parameters a PostgreSQL statement may carry


def bulk_staff(app, unit_ids: list[int], count: int, start: int = 0) -> list[int]:
    """``count`` people spread over ``unit_ids``, inserted in one executemany; their ids."""
    rows = [
        {"staff_code": f"B{start + n:07d}", "full_name": f"Người Số {start + n}",
         "unit_id": unit_ids[n % len(unit_ids)], "sort_key": f"{start + n:07d}", "status": StaffStatus.ACTIVE}
        for n in range(count)
    ]
    with app.app_context():
        db.session.execute(sa.insert(Staff), rows)
        db.session.commit()
        return list(db.session.scalars(
            sa.select(Staff.id).where(Staff.staff_code.like("B%")).order_by(Staff.sort_key)))


def bulk_enrolments(app, course_id: int, staff_ids: list[int], **fields) -> None:
    values = {"cycle": 1, "source": EnrolmentSource.RULE, "required": True, "assigned_on": date(2026, 1, 1),
              "state": EnrolmentState.NOT_STARTED, **fields}
    with app.app_context():
        db.session.execute(sa.insert(Enrolment), [{"staff_id": s, "course_id": course_id, **values}
                                                  for s in staff_ids])
        db.session.commit()


def test_compliance_of_more_people_than_a_statement_has_parameters(org, make_user):
    """Before: the people's ids went into an IN (...) list; at 70,000 PostgreSQL refused it (500)."""
    app, o = org
    ids = bulk_staff(app, [o.province.id, o.section_a.id, o.section_b.id], PEOPLE)
    bulk_enrolments(app, o.course_id, ids[:300], due_on=date(2026, 5, 1))  # overdue on DAY
    bulk_enrolments(app, o.course_id, ids[300:1000], due_on=date(2026, 7, 1))  # not yet due
    reporter = make_user(role=Role.REPORTER)
    client = app.test_client()
    login(client, reporter.email)
    page = client.get(f"/reports/compliance?unit={o.province.id}&date={DAY.isoformat()}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "69.700/70.000 người đạt yêu cầu vào ngày 01/06/2026" in text  # Vietnamese digit groups
    assert "500 dòng đầu" in text  # the list shows the first 500 people; the counts are everyone's
    assert text.count("Người Số ") == 500 and "Người Số 0<" in text and "Người Số 500<" not in text
    everyone = client.get(f"/reports/compliance?unit=all&date={DAY.isoformat()}").get_data(as_text=True)
    assert "69.700/70.000 người đạt yêu cầu" in everyone
    export = client.get(f"/reports/compliance?unit={o.province.id}&date={DAY.isoformat()}&export=csv")
    assert export.status_code == 200
    table = csv.reader(io.StringIO(export.get_data(as_text=True)), delimiter=";")  # Vietnamese: ";"
    people = [row for row in table if row and row[0][:1] == "B"]
    assert len(people) == PEOPLE
    assert sum(1 for row in people if row[4] == "không") == 300


def test_the_compliance_query_count_does_not_grow_with_the_people(org, person, make_user):
    app, o = org
    reporter = make_user(role=Role.REPORTER)
    manager = make_user(role=Role.MANAGER, scope_unit=o.province)
    client = app.test_client()
    login(client, reporter.email)
    staff, _user = person(o.section_a, name="Một Người")
    bulk_enrolments(app, o.course_id, [staff.id], due_on=date(2026, 5, 1))
    paths = [f"/reports/compliance?unit={o.province.id}&date={DAY.isoformat()}",
             f"/reports/compliance?unit=all&date={DAY.isoformat()}"]
    for path in paths:
        client.get(path)  # the unit tree read and kept for its version (a first request reads it)
    small = [count_queries(app, client, path) for path in paths]
    ids = bulk_staff(app, [o.section_a.id, o.section_b.id, o.other.id], 600)
    bulk_enrolments(app, o.course_id, ids[::2], due_on=date(2026, 5, 1))
    assert [count_queries(app, client, path) for path in paths] == small
    assert max(small) < 15
    managed = app.test_client()
    login(managed, manager.email)
    page = managed.get(f"/reports/compliance?unit=all&date={DAY.isoformat()}").get_data(as_text=True)
    assert "/401 người đạt yêu cầu" in page  # Ninh Bình's people only: 1 + 400 of the 600 (not Hà Nội)


def test_an_unknown_unit_is_not_found(org, make_user):
    """Before: a unit id that names no unit answered 500 (the export read its name)."""
    app, o = org
    reporter = make_user(role=Role.REPORTER)
    client = app.test_client()
    login(client, reporter.email)
    for extra in ("", "&export=csv", "&export=xlsx"):
        response = client.get(f"/reports/compliance?unit=987654&date={DAY.isoformat()}{extra}")
        assert response.status_code == 404, (extra, response.status_code)
        # An id no database could hold is not an id at all: ignored, and the page says so
        # (mooc/params.py), never a 500.
        response = client.get(f"/reports/compliance?unit=99999999999999999999&date={DAY.isoformat()}{extra}")
        assert response.status_code == 200, (extra, response.status_code)
        assert "“unit”" in response.get_data(as_text=True)
    assert client.get(f"/reports/compliance?unit={o.province.id}").status_code == 200


def test_the_day_is_a_day_in_vietnam(org, person, make_user):
    """A course due 24/04 completed at 01:00 on 26/04 in Hà Nội (18:00 UTC on 25/04) was not
    done on 25/04. Before: the day ended at midnight UTC, and it counted as done."""
    app, o = org
    staff, _user = person(o.section_a, name="Đinh Thị Muộn")
    save(app, Enrolment(staff_id=staff.id, course_id=o.course_id, cycle=1, source=EnrolmentSource.RULE,
                        assigned_on=date(2026, 3, 1), due_on=date(2026, 4, 24),
                        state=EnrolmentState.COMPLETED, completed_at=datetime(2026, 4, 25, 18, tzinfo=UTC)))
    clock.set_now(datetime(2026, 6, 1, 3, tzinfo=UTC))
    reporter = make_user(role=Role.REPORTER)
    client = app.test_client()
    login(client, reporter.email)
    on_25 = client.get(f"/reports/compliance?unit={o.section_a.id}&date=2026-04-25").get_data(as_text=True)
    assert "0/1 người đạt yêu cầu vào ngày 25/04/2026" in on_25
    on_26 = client.get(f"/reports/compliance?unit={o.section_a.id}&date=2026-04-26").get_data(as_text=True)
    assert "1/1 người đạt yêu cầu vào ngày 26/04/2026" in on_26
