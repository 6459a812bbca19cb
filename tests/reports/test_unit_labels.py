"""A unit whose name another unit also bears is shown with its path ("Phòng 1 — Thanh tra TP
Hà Nội") everywhere it is listed: roster, person, training record, rules and their preview,
the roster import's preview, the managers' digest rows (mooc.roster.units.unit_labels)."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest

from mooc.auth.models import Role
from mooc.downloads import csv_bytes
from mooc.extensions import db
from mooc.reminders.schedule import _behind_by_unit
from mooc.roster.models import OrgUnit
from mooc.roster.units import labels_of
from mooc.training import assign
from mooc.training.models import AssignmentRule
from tests.conftest import csrf_token, login

NB_1 = "Phòng 1 — Thanh tra tỉnh Ninh Bình"
HN_1 = "Phòng 1 — Thanh tra TP Hà Nội"


def test_the_path_is_added_only_as_far_as_needed():
    rows = [(1, "Thanh tra tỉnh Ninh Bình", None, "NB", True), (2, "Phòng 1", 1, "NB-1", True),
            (3, "Thanh tra TP Hà Nội", None, "HN", True), (4, "Phòng 1", 3, "HN-1", True),
            (5, "Tổ A", 2, "A1", True), (6, "Tổ A", 4, "A2", True), (7, "Phòng 2", 1, "NB-2", True),
            (8, "Phòng 2", None, "OLD", False), (9, "Văn phòng", None, "V1", True),
            (10, "Văn phòng", None, "V2", True)]
    assert labels_of(rows) == {
        1: "Thanh tra tỉnh Ninh Bình", 2: NB_1, 3: "Thanh tra TP Hà Nội", 4: HN_1,
        5: "Tổ A — " + NB_1, 6: "Tổ A — " + HN_1,
        7: "Phòng 2",  # only a closed unit has the same name: the open one stays short
        8: "Phòng 2 (OLD)",
        9: "Văn phòng (V1)", 10: "Văn phòng (V2)",  # same name at the top: the codes tell them apart
    }


@pytest.fixture
def twins(org, person, make_unit, make_user):
    app, o = org
    hn_1 = make_unit("Phòng 1", parent=o.other, code="HN-1")
    an, _ = person(o.section_a, name="Nguyễn Văn An", email="an@example.vn")
    ha, _ = person(hn_1, name="Đỗ Thu Hà", email="ha@example.vn")
    with app.app_context():
        rule = AssignmentRule(course_id=o.course_id, due_days=30)
        rule.units = [db.session.get(OrgUnit, o.section_a.id), db.session.get(OrgUnit, hn_1.id)]
        db.session.add(rule)
        db.session.flush()
        assign.apply_rules()
        db.session.commit()
    admin = make_user(role=Role.ADMIN, email="admin@example.vn")
    client = app.test_client()
    login(client, admin.email)
    return app, o, hn_1, an, ha, client


def test_roster_person_record_and_rules_show_the_path(twins):
    _app, o, hn_1, an, ha, client = twins
    roster = client.get("/roster/").get_data(as_text=True)
    assert NB_1 in roster and HN_1 in roster
    assert HN_1 in client.get(f"/roster/staff/{ha.id}").get_data(as_text=True)
    assert NB_1 in client.get(f"/training/people/{an.id}").get_data(as_text=True)
    rules = client.get("/admin/rules").get_data(as_text=True)
    assert NB_1 in rules and HN_1 in rules


def test_the_rule_preview_shows_the_path(twins):
    _app, o, hn_1, _an, _ha, client = twins
    token = csrf_token(client, "/admin/rules/new")
    page = client.post("/admin/rules/new", data={
        "csrf_token": token, "course": o.optional_id, "units": [o.section_a.id, hn_1.id],
        "due_kind": "days", "due_days": 30}).get_data(as_text=True)
    assert NB_1 in page and HN_1 in page


def test_the_import_preview_shows_the_path(twins):
    _app, _o, _hn_1, _an, _ha, client = twins
    rows = [["Mã cán bộ", "Họ và tên", "Email", "Đơn vị"], ["CB-900", "Lý Văn Mới", "moi@example.vn", "HN-1"]]
    form = {"csrf_token": csrf_token(client, "/roster/import"),
            "file": (io.BytesIO(csv_bytes(rows)), "moi.csv")}
    url = client.post("/roster/import", data=form, content_type="multipart/form-data").headers["Location"]
    page = client.get(url).get_data(as_text=True)
    assert "Lý Văn Mới" in page and re.search(re.escape(HN_1), page)


def test_the_digest_rows_show_the_path(twins):
    app, o, hn_1, _an, _ha, _client = twins
    with app.app_context():
        rows = _behind_by_unit(date.today(), 400, {o.section_a.id, hn_1.id})
    assert {row.unit_name for unit_rows in rows.values() for row in unit_rows} == {NB_1, HN_1}
