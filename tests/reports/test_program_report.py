"""The programme report (/reports/programs/<id>) and the programme filter, against numbers
worked out by hand:

    a programme of 3 required steps, assigned 50 days ago, due in 100 days (half the time gone)
    Ninh Bình / Phòng 1:  An (3 steps: completed), Bình (1 step: behind, 1/3 < 1/2),
                          Cường (2 steps: on track, 2/3 >= 1/2), Giang (left: not counted)
    Ninh Bình / Phòng 2:  Dũng (0 steps: behind), Én (0 steps, due date moved to yesterday: overdue)
    Hà Nội:               Phong (0 steps: behind)
"""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from mooc import clock
from mooc.auth.models import Role, User
from mooc.courses.models import Course
from mooc.courses.sync import sync_tree
from mooc.extensions import db
from mooc.reports import programs as program_report
from mooc.roster.models import Staff, StaffStatus
from mooc.training import history
from mooc.training.assign import RuleDraft
from mooc.training.models import Program, ProgramEnrolment
from mooc.training.rules import create_rule
from tests.conftest import login
from tests.training.programs_tree import make_programs_tree

DONE = {"An": ("CB", "TD", "VB"), "Bình": ("CB",), "Cường": ("CB", "TD")}


@pytest.fixture
def report(make_app, tmp_path, make_unit, make_staff, make_user):
    root = make_programs_tree(tmp_path / "courses")
    app = make_app(COURSES_DIR=str(root))
    with app.app_context():
        sync_tree(root)
        db.session.commit()
    province = make_unit("Thanh tra tỉnh Ninh Bình", code="NB", kind="province")
    one = make_unit("Phòng 1", parent=province, code="NB-1")
    two = make_unit("Phòng 2", parent=province, code="NB-2")
    hanoi = make_unit("Thanh tra TP Hà Nội", code="HN", kind="province")
    people = {}
    for name, unit in (("Nguyễn Văn An", one), ("Trần Thị Bình", one), ("Lê Văn Cường", one),
                       ("Phạm Thị Giang", one), ("Hoàng Văn Dũng", two), ("Vũ Thị Én", two),
                       ("Đỗ Văn Phong", hanoi)):
        people[name.split()[-1]] = make_staff(name, unit=unit)
    today = clock.today()
    with app.app_context():
        program_id = db.session.scalar(sa.select(Program.id))
        clock.set_now(clock.now() - timedelta(days=50))
        create_rule(RuleDraft(None, [province.id, hanoi.id], due_days=100, program_id=program_id))
        clock.set_now(None)
        lines = [f"{people[name].staff_code},{code},01/06/2026"
                 for name, codes in DONE.items() for code in codes]
        history.apply_history(history.plan_history(
            ("Mã cán bộ,Khóa học,Ngày hoàn thành\n" + "\n".join(lines) + "\n").encode(), today))
        db.session.execute(sa.update(ProgramEnrolment).where(ProgramEnrolment.staff_id == people["Én"].id)
                           .values(due_on=today - timedelta(days=1)))
        db.session.get(Staff, people["Giang"].id).status = StaffStatus.LEFT
        db.session.commit()
    reporter = make_user(email="baocao@example.vn", role=Role.REPORTER)
    manager = make_user(email="truongphong@example.vn", role=Role.MANAGER, scope_unit=province)
    return app, program_id, province, hanoi, reporter, manager


def counts(rollup) -> dict[str, tuple[int, int, int, int, int]]:
    return {(row.label if row.unit else "Tổng"): (row.people, row.counts["completed"],
                                                   row.counts["on_track"], row.counts["behind"],
                                                   row.counts["overdue"])
            for row in [*rollup.rows, rollup.total]}


def test_the_numbers_by_unit_match_the_hand_count(report):
    app, program_id, province, _hanoi, reporter, _manager = report
    with app.app_context():
        viewer = db.session.get(User, reporter.id)
        program = db.session.get(Program, program_id)
        top = program_report.program_rollup(viewer, program, None, clock.today())
        inside = program_report.program_rollup(viewer, program, province.id, clock.today())
    assert counts(top) == {"Thanh tra TP Hà Nội": (1, 0, 0, 1, 0),
                           "Thanh tra tỉnh Ninh Bình": (5, 1, 1, 2, 1), "Tổng": (6, 1, 1, 3, 1)}
    assert counts(inside) == {"Phòng 1": (3, 1, 1, 1, 0), "Phòng 2": (2, 0, 0, 1, 1),
                              "Tổng": (5, 1, 1, 2, 1)}


def test_the_page_and_its_exports_say_the_same(report):
    app, program_id, province, _hanoi, reporter, _manager = report
    client = app.test_client()
    login(client, reporter.email)
    page = client.get(f"/reports/programs/{program_id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Chương trình: Bồi dưỡng thanh tra viên mới" in text and "Chậm tiến độ" in text
    # The completion rate as the dashboard writes it (one decimal, the sign against the number):
    # Hà Nội 0 of 1, Ninh Bình 1 of 5, all 1 of 6.
    assert re.findall(r"<td>([\d,]+%)</td>", text) == ["0,0%", "20,0%", "16,7%"]
    export = client.get(f"/reports/programs/{program_id}?unit={province.id}&export=csv")
    assert export.status_code == 200
    rows = list(csv.reader(io.StringIO(export.data.decode("utf-8-sig")), delimiter=";"))
    by_unit = rows[rows.index(next(r for r in rows if r[:1] == ["Đơn vị"])):]
    assert by_unit[1][:6] == ["Phòng 1", "3", "1", "1", "1", "0"]
    assert by_unit[2][:6] == ["Phòng 2", "2", "0", "0", "1", "1"]
    people = {r[1]: r[3] for r in rows if len(r) > 3 and r[0].isdigit()}
    assert people == {"Nguyễn Văn An": "Đã hoàn thành", "Trần Thị Bình": "Chậm tiến độ",
                      "Lê Văn Cường": "Đúng tiến độ", "Hoàng Văn Dũng": "Chậm tiến độ",
                      "Vũ Thị Én": "Quá hạn"}
    xlsx = client.get(f"/reports/programs/{program_id}?export=xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"


def test_a_manager_sees_their_province_only(report):
    app, program_id, _province, hanoi, _reporter, manager = report
    client = app.test_client()
    login(client, manager.email)
    text = client.get(f"/reports/programs/{program_id}").get_data(as_text=True)
    assert "Ninh Bình" in text and "Hà Nội" not in text
    assert client.get(f"/reports/programs/{program_id}?unit={hanoi.id}").status_code == 404


def test_the_programme_filter_keeps_the_programme_courses(report):
    app, program_id, province, _hanoi, reporter, _manager = report
    with app.app_context():
        other = db.session.scalar(sa.select(Course.id).where(Course.key == "giam-sat"))
    client = app.test_client()
    login(client, reporter.email)
    page = client.get(f"/reports/people?program={program_id}&unit={province.id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Nghiệp vụ cơ bản" in text and f'value="{program_id}" selected' in text
    assert client.get(f"/reports/?program={program_id}").status_code == 200
    assert other  # giam-sat is one of the programme's options: it stays in the filtered report


def test_a_unit_with_nobody_in_the_programme_has_no_rate(report, make_unit):
    """As on the dashboard: a unit with nobody to count shows "—", not "0,0%" (no one is behind)."""
    app, program_id, province, _hanoi, reporter, _manager = report
    make_unit("Phòng 3", parent=province, code="NB-3")
    with app.app_context():
        viewer = db.session.get(User, reporter.id)
        program = db.session.get(Program, program_id)
        rows = {row.label: row for row in program_report.program_rollup(
            viewer, program, province.id, clock.today()).rows}
    assert rows["Phòng 3"].people == 0 and rows["Phòng 3"].rate is None
    client = app.test_client()
    login(client, reporter.email)
    text = client.get(f"/reports/programs/{program_id}?unit={province.id}").get_data(as_text=True)
    row = text[text.index(">Phòng 3<"):]
    assert re.search(r"<td>([^<]*)</td>\s*</tr>", row).group(1) == "—"
