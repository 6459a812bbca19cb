"""The roster drives the rules: an import that hires or moves people enrols them, in the same
transaction as the import."""

from __future__ import annotations

import sqlalchemy as sa

from mooc.extensions import db
from mooc.roster.models import OrgUnit, Staff
from mooc.training import assign
from mooc.training.models import AssignmentRule, Enrolment
from tests.roster.helpers import write_csv


def test_an_import_enrols_new_hires_and_transfers(org, person, tmp_path):
    app, o = org
    mover, _ = person(o.other, name="Người Chuyển Về")
    with app.app_context():
        rule = AssignmentRule(course_id=o.course_id, due_days=30)
        rule.units = [db.session.get(OrgUnit, o.province.id)]
        db.session.add(rule)
        db.session.flush()
        assign.apply_rules()
        db.session.commit()
    source = write_csv(
        tmp_path / "ds.csv",
        [
            ["900001", "Hoàng Văn Mới", "moi@example.vn", "NB-1", "Thanh tra viên"],
            [mover.staff_code, "Người Chuyển Về", "", "NB-2", ""],
        ],
    )
    result = app.test_cli_runner().invoke(args=["roster", "import", str(source)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        enrolled = set(
            db.session.scalars(
                sa.select(Staff.staff_code)
                .join(Enrolment, Enrolment.staff_id == Staff.id)
                .where(Enrolment.course_id == o.course_id)
            )
        )
    assert enrolled == {"900001", mover.staff_code}


def _rule_for(o, unit) -> None:
    rule = AssignmentRule(course_id=o.course_id, due_days=30)
    rule.units = [db.session.get(OrgUnit, unit.id)]
    db.session.add(rule)
    db.session.flush()
    assign.apply_rules()
    db.session.commit()


def _open_enrolled(o) -> set[int]:
    return set(db.session.scalars(sa.select(Enrolment.staff_id).where(
        Enrolment.course_id == o.course_id, Enrolment.closed_at.is_(None))))


def test_people_merged_into_a_covered_province_are_enrolled_at_once(org, person, client, make_user):
    """Merged by an administrator on the units page: no nightly run is needed."""
    from mooc.auth.models import Role
    from tests.conftest import csrf_token, login

    app, o = org
    merged, _ = person(o.other, name="Người Sáp Nhập")
    with app.app_context():
        _rule_for(o, o.province)
        assert merged.id not in _open_enrolled(o)
    admin = make_user(email="qt@example.vn", role=Role.ADMIN)
    login(client, admin.email)
    token = csrf_token(client, f"/roster/units/{o.other.id}")
    response = client.post(f"/roster/units/{o.other.id}/merge", data={
        "csrf_token": token, "merge-target": str(o.province.id), "merge-confirm": "y"})
    assert response.status_code == 302
    with app.app_context():
        assert merged.id in _open_enrolled(o)


def test_a_unit_moved_under_a_covered_province_brings_its_people_into_the_rule(org, person):
    from mooc.roster import units

    app, o = org
    moved, _ = person(o.other, name="Người Theo Đơn Vị")
    with app.app_context():
        _rule_for(o, o.province)
        other = db.session.get(OrgUnit, o.other.id)
        units.update_unit(other, name=other.name, parent=db.session.get(OrgUnit, o.province.id),
                          kind=other.kind)
        assert moved.id in _open_enrolled(o)
        # ... and moved out again, the course is no longer required of them.
        units.update_unit(other, name=other.name, parent=None, kind=other.kind)
        assert moved.id not in _open_enrolled(o)


def test_a_units_file_that_merges_enrols_the_people_it_moves(org, person, tmp_path):
    app, o = org
    merged, _ = person(o.other, name="Người Theo Tệp")
    with app.app_context():
        _rule_for(o, o.province)
    source = tmp_path / "donvi.csv"
    source.write_text("Mã đơn vị,Tên đơn vị,Đơn vị cấp trên,Sáp nhập vào\n"
                      f"{o.other.code},{o.other.name},,{o.province.code}\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["roster", "units", str(source)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert merged.id in _open_enrolled(o)


def test_a_person_leaves_on_the_leaving_date_the_roster_gave(org, person, tmp_path, make_user):
    """An HR file says someone leaves on 31/12: the import keeps them on the roster until then,
    and the nightly run on that day marks them as left (history from that day, account disabled,
    sessions ended). Before: the date was kept and nothing ever acted on it."""
    from datetime import UTC, date, datetime

    from mooc import clock
    from mooc.auth.models import User
    from mooc.roster.models import StaffHistory, StaffStatus

    app, o = org
    leaving, account = person(o.section_a, name="Người Sắp Nghỉ", email="sapnghi@example.vn")
    source = tmp_path / "ds.csv"
    row = f"{leaving.staff_code},Người Sắp Nghỉ,sapnghi@example.vn,{o.section_a.code},,31/12/2026"
    source.write_text(f"Mã cán bộ,Họ và tên,Email,Đơn vị,Chức vụ,Ngày nghỉ việc\n{row}\n", encoding="utf-8")
    clock.set_now(datetime(2026, 12, 1, 3, tzinfo=UTC))
    runner = app.test_cli_runner()
    assert runner.invoke(args=["roster", "import", str(source), "--yes"]).exit_code == 0
    assert runner.invoke(args=["training", "assign"]).exit_code == 0
    with app.app_context():
        staff = db.session.get(Staff, leaving.id)
        assert (staff.status, staff.left_on) == (StaffStatus.ACTIVE, date(2026, 12, 31))
    clock.set_now(datetime(2027, 1, 2, 3, tzinfo=UTC))  # the job did not run on the day itself
    result = runner.invoke(args=["training", "assign"])
    assert result.exit_code == 0 and result.output.startswith("1 left"), result.output
    with app.app_context():
        assert db.session.get(Staff, leaving.id).status == StaffStatus.LEFT
        assert not db.session.get(User, account.id).active
        last = db.session.scalars(sa.select(StaffHistory).where(StaffHistory.staff_id == leaving.id)
                                  .order_by(StaffHistory.valid_from.desc())).first()
        assert (last.valid_from, last.status) == (date(2026, 12, 31), StaffStatus.LEFT)
    assert runner.invoke(args=["training", "assign"]).output.startswith("0 left")  # once
