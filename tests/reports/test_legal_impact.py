"""The legal impact report: every number against a hand-computed fixture, scope (a unit
manager counts their subtree only), the N-days window, the exports, and
``completions_resting_on`` (what the refreshers reuse)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import openpyxl
import pytest
import sqlalchemy as sa

from mooc import clock
from mooc.auth.models import Role, User
from mooc.courses.sync import sync_tree
from mooc.extensions import db
from mooc.reports.legal import superseded_impact
from mooc.training.legal import completions_resting_on
from mooc.training.models import Enrolment, EnrolmentSource, EnrolmentState
from tests.conftest import count_queries, login
from tests.courses.tree import LAW_2022, LAW_2025, legal_entry, lesson, write

REGISTRY = "documents:\n" + LAW_2025 + LAW_2022 + legal_entry(
    "12/2026/TT-TTCP", "Thông tư", "Thông tư thử", "Thanh tra Chính phủ", "02/01/2026", "01/02/2026",
    superseded="by: 84/2025/QH15, from: 01/01/2027, extent: partly")
TODAY = date(2026, 12, 5)  # 12/2026/TT-TTCP is superseded in 27 days


@pytest.fixture
def world(org, person, make_user):
    """Course "luat" rests on 11/2022/QH15 (both lessons; "Bài hai" on 84/2025/QH15 too), course
    "tuy-chon" on 12/2026/TT-TTCP. Completions (C) and not (-):

    NB-1: An (luat C), Bình (luat C, tuy-chon C), Cường (luat -)
    NB-2: Em (tuy-chon C)
    HN:   Hà (luat C twice: cycles 1 and 2)

    11/2022/QH15: An, Bình, Hà = 3 (NB: 2; NB-2: 0). 12/2026/TT-TTCP: Bình, Em = 2 (NB-2: 1).
    """
    app, o = org
    write(o.root, "_phap-ly.yaml", REGISTRY)
    write(o.root, "luat/01-co-ban/01-mot.md",
          lesson("Bài một", "## A\n\nMột.", extra="legal: [11/2022/QH15]\n"))
    write(o.root, "luat/01-co-ban/02-hai.md",
          lesson("Bài hai", "## A\n\nHai.", extra="legal: [11/2022/QH15, 84/2025/QH15]\n"))
    write(o.root, "tuy-chon/01-mot/01-bai.md",
          lesson("Bài", "## A\n\nB.", extra="legal: [12/2026/TT-TTCP]\n"))
    clock.set_now(datetime(2025, 6, 1, 3, tzinfo=UTC))  # synced before 11/2022/QH15 was superseded
    with app.app_context():
        sync_tree(o.root)
        db.session.commit()
    clock.set_now(datetime(2026, 12, 5, 3, tzinfo=UTC))
    people = {}
    for key, unit, name in [("an", o.section_a, "Nguyễn Văn An"), ("binh", o.section_a, "Trần Thị Bình"),
                            ("cuong", o.section_a, "Lê Văn Cường"), ("em", o.section_b, "Hoàng Thị Em"),
                            ("ha", o.other, "Đỗ Thu Hà")]:
        people[key] = person(unit, name=name, email=f"{key}@example.vn")[0]
    done = datetime(2025, 5, 1, 3, tzinfo=UTC)
    rows = [("an", o.course_id, 1, True), ("binh", o.course_id, 1, True), ("binh", o.optional_id, 1, True),
            ("cuong", o.course_id, 1, False), ("em", o.optional_id, 1, True),
            ("ha", o.course_id, 1, True), ("ha", o.course_id, 2, True)]
    with app.app_context():
        for key, course_id, cycle, completed in rows:
            latest = not (key == "ha" and cycle == 1)
            db.session.add(Enrolment(
                staff_id=people[key].id, course_id=course_id, cycle=cycle, latest=latest,
                source=EnrolmentSource.MANUAL, assigned_on=date(2025, 4, 1),
                state=EnrolmentState.COMPLETED if completed else EnrolmentState.IN_PROGRESS,
                completed_at=done if completed else None))
        db.session.commit()
    return app, o, people


def numbers(rows) -> list[tuple[str, int, list[tuple[str, list[str]]]]]:
    return [(row.document.number, row.people, [(c.key, [t for _k, t in c.lessons]) for c in row.courses])
            for row in rows]


def test_the_numbers_for_the_whole_ministry_and_a_window(world, make_user):
    app, _o, _people = world
    reporter = make_user(role=Role.REPORTER)
    with app.app_context():
        user = db.session.get(User, reporter.id)
        assert numbers(superseded_impact(user, TODAY, 30)) == [
            ("11/2022/QH15", 3, [("luat", ["Bài một", "Bài hai"])]),
            ("12/2026/TT-TTCP", 2, [("tuy-chon", ["Bài"])]),
        ]
        # within 10 days, 12/2026/TT-TTCP (superseded on 01/01/2027) is not listed yet
        assert numbers(superseded_impact(user, TODAY, 10)) == [
            ("11/2022/QH15", 3, [("luat", ["Bài một", "Bài hai"])])]


def test_a_unit_manager_counts_their_subtree_only(world, make_user):
    app, o, _people = world
    province = make_user(role=Role.MANAGER, scope_unit=o.province)
    section = make_user(role=Role.MANAGER, scope_unit=o.section_b)
    with app.app_context():
        assert [(r.document.number, r.people) for r in superseded_impact(
            db.session.get(User, province.id), TODAY, 30)] == [("11/2022/QH15", 2), ("12/2026/TT-TTCP", 2)]
        assert [(r.document.number, r.people) for r in superseded_impact(
            db.session.get(User, section.id), TODAY, 30)] == [("11/2022/QH15", 0), ("12/2026/TT-TTCP", 1)]


def test_completions_resting_on_a_document(world):
    app, o, people = world
    with app.app_context():
        ids = {key: staff.id for key, staff in people.items()}
        assert completions_resting_on("11/2022/qh15") == {ids["an"], ids["binh"], ids["ha"]}
        assert completions_resting_on("12/2026/TT-TTCP") == {ids["binh"], ids["em"]}
        assert completions_resting_on("84/2025/QH15") == {ids["an"], ids["binh"], ids["ha"]}
        assert completions_resting_on("11/2022/QH15", units=[o.other.id]) == {ids["ha"]}
        assert completions_resting_on("99/2099/QH15") == set()


def test_the_page_its_parameter_and_its_exports(world, make_user):
    app, o, _people = world
    client = app.test_client()
    manager = make_user(role=Role.MANAGER, scope_unit=o.province)
    assert login(client, manager.email).status_code == 302
    html = client.get("/reports/legal").get_data(as_text=True)
    assert "Văn bản pháp lý bị thay thế" in html
    assert "bị thay thế bởi 84/2025/QH15 từ ngày 01/07/2025" in html
    assert "bị thay thế một phần bởi 84/2025/QH15 từ ngày 01/01/2027" in html and "sắp tới" in html
    assert '<td class="number">2</td>' in html
    narrow = client.get("/reports/legal?days=10").get_data(as_text=True)
    assert "12/2026/TT-TTCP" not in narrow and "11/2022/QH15" in narrow
    # an out-of-range window is ignored (and said so): the default, 90 days
    wide = client.get("/reports/legal?days=99999").get_data(as_text=True)
    assert "12/2026/TT-TTCP" in wide and 'value="90"' in wide
    exported = client.get("/reports/legal?days=30&export=csv")
    assert exported.status_code == 200 and "text/csv" in exported.content_type
    text = exported.get_data(as_text=True).lstrip("\ufeff")
    lines = list(csv.reader(io.StringIO(text), delimiter=";"))  # Vietnamese spreadsheets: ";"
    assert ["11/2022/QH15", "Luật", "Luật Thanh tra", "01/07/2025", "84/2025/QH15", "toàn bộ",
            "Luật Thanh tra 2025", "Bài một; Bài hai", "2"] in lines
    book = openpyxl.load_workbook(io.BytesIO(client.get("/reports/legal?days=30&export=xlsx").data))
    values = [[cell for cell in row] for row in book.worksheets[0].iter_rows(values_only=True)]
    assert any(row[:2] == ("12/2026/TT-TTCP", "Thông tư") and row[-1] == 2 for row in map(tuple, values))


def test_trainees_cannot_read_it_and_the_page_does_not_grow(world, make_user):
    app, _o, people = world
    client = app.test_client()
    assert login(client, "an@example.vn").status_code == 302
    assert client.get("/reports/legal").status_code == 403
    reporter = make_user(role=Role.REPORTER)
    other = app.test_client()
    assert login(other, reporter.email).status_code == 302
    before = count_queries(app, other, "/reports/legal")
    with app.app_context():  # more people completing does not add statements
        for staff in people.values():
            db.session.add(Enrolment(staff_id=staff.id, course_id=world[1].optional_id, cycle=5, latest=False,
                                     source=EnrolmentSource.MANUAL, assigned_on=date(2025, 4, 1),
                                     state=EnrolmentState.COMPLETED, completed_at=clock.now()))
        db.session.commit()
    assert count_queries(app, other, "/reports/legal") == before
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Enrolment)) == 12
