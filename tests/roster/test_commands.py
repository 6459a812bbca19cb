"""`mooc roster import` and `mooc roster units`: plans, JSON, exit status, dry runs."""

from __future__ import annotations

import json

import sqlalchemy as sa

from mooc.extensions import db
from mooc.roster.models import OrgUnit, RosterImport, Staff, StaffStatus
from tests.roster.helpers import write_csv, write_xlsx

ROWS = [["000123", "Nguyễn Văn Đức", "duc@example.vn", "HN", "Thanh tra viên"],
        ["000124", "Trần Thị Hòa", "", "HN", "Chuyên viên"]]


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_dry_run_prints_the_plan_as_json_and_writes_nothing(app, make_unit, tmp_path):
    make_unit(code="HN")
    path = write_csv(tmp_path / "hr.csv", ROWS)
    result = app.test_cli_runner().invoke(args=["roster", "import", str(path), "--dry-run",
                                                "--format", "json"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    assert {key: plan[key] for key in ("added", "changed", "moved", "deactivated", "reactivated",
                                       "unchanged", "errors")} == {
        "added": 2, "changed": 0, "moved": 0, "deactivated": 0, "reactivated": 0, "unchanged": 0,
        "errors": []}
    assert plan["applied"] is False
    assert _count(app, Staff) == 0 and _count(app, RosterImport) == 0


def test_import_applies_then_reimport_is_unchanged(app, make_unit, tmp_path):
    make_unit(code="HN")
    path = write_xlsx(tmp_path / "hr.xlsx", ROWS)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["roster", "import", str(path)])
    assert first.exit_code == 0, first.output
    assert "Thêm mới: 2" in first.output and "Đã áp dụng." in first.output
    assert _count(app, Staff) == 2
    again = json.loads(runner.invoke(args=["roster", "import", str(path), "--format", "json"]).output)
    assert again["unchanged"] == 2 and again["added"] == 0
    with app.app_context():
        records = db.session.execute(sa.select(RosterImport)).scalars().all()
        assert [(r.source, r.filename, len(r.checksum)) for r in records] == [("cli", "hr.xlsx", 64)] * 2


def test_errors_give_exit_status_1_and_apply_nothing(app, make_unit, tmp_path):
    make_unit(code="HN")
    rows = [*ROWS, ["1.23E+05", "Lê Văn Ba", "khong-phai-email", "KHONG-CO", ""]]
    path = write_csv(tmp_path / "hr.csv", rows)
    result = app.test_cli_runner().invoke(args=["roster", "import", str(path), "--format", "json"])
    assert result.exit_code == 1
    plan = json.loads(result.output)
    assert [(e["row"], e["column"]) for e in plan["errors"]] == [(4, "Mã cán bộ"), (4, "Email"), (4,
                                                                                                  "Đơn vị")]
    assert plan["applied"] is False
    assert _count(app, Staff) == 0
    text = app.test_cli_runner().invoke(args=["roster", "import", str(path)])
    assert text.exit_code == 1 and "dòng 4, Đơn vị" in text.output and "chưa áp dụng gì" in text.output


def test_a_file_that_is_not_a_roster_is_refused(app, tmp_path):
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    result = app.test_cli_runner().invoke(args=["roster", "import", str(path), "--format", "json"])
    assert result.exit_code == 1
    assert ".xls" in json.loads(result.output)["errors"][0]["message"]


def test_full_import_over_the_share_needs_yes(app, make_unit, tmp_path):
    make_unit(code="HN")
    runner = app.test_cli_runner()
    runner.invoke(args=["roster", "import", str(write_csv(tmp_path / "a.csv", ROWS))])
    only_one = write_csv(tmp_path / "b.csv", ROWS[:1])
    refused = runner.invoke(args=["roster", "import", str(only_one), "--full"])
    assert refused.exit_code == 1 and "--yes" in refused.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).where(Staff.status == StaffStatus.LEFT)) == 0
    done = runner.invoke(args=["roster", "import", str(only_one), "--full", "--yes"])
    assert done.exit_code == 0, done.output
    with app.app_context():
        assert db.session.execute(sa.select(Staff.staff_code).where(Staff.status == StaffStatus.LEFT)
                                  ).scalars().all() == ["000124"]


def test_units_command_creates_renames_and_merges(app, tmp_path):
    runner = app.test_cli_runner()
    header = ["Mã đơn vị", "Tên đơn vị", "Mã đơn vị cấp trên", "Sáp nhập vào"]
    first = write_csv(tmp_path / "units.csv", [
        ["HCM-P1", "Phòng Nghiệp vụ 1", "HCM", ""],      # the child before its parent
        ["HCM", "Thanh tra TP Hồ Chí Minh", "", ""],
        ["BD", "Thanh tra tỉnh Bình Dương", "", ""],
    ], header=header)
    result = runner.invoke(args=["roster", "units", str(first), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["added"] == 3
    second = write_csv(tmp_path / "units2.csv", [
        ["HCM-P1", "Phòng Nghiệp vụ 1", "HCM", ""],
        ["HCM", "Thanh tra Thành phố Hồ Chí Minh", "", ""],
        ["BD", "Thanh tra tỉnh Bình Dương", "", "HCM"],
    ], header=header)
    dry = runner.invoke(args=["roster", "units", str(second), "--dry-run"])
    assert "renamed HCM" in dry.output and "merged BD into HCM" in dry.output
    assert runner.invoke(args=["roster", "units", str(second)]).exit_code == 0
    with app.app_context():
        units = {u.code: u for u in db.session.execute(sa.select(OrgUnit)).scalars()}
        assert units["HCM"].name == "Thanh tra Thành phố Hồ Chí Minh"
        assert units["HCM-P1"].parent_id == units["HCM"].id
        assert (units["BD"].active, units["BD"].merged_into_id) == (False, units["HCM"].id)
    again = json.loads(runner.invoke(args=["roster", "units", str(second), "--format", "json"]).output)
    assert again["unchanged"] == 3 and again["merged"] == 0


def test_units_command_errors(app, tmp_path):
    header = ["code", "name", "parent_code", "merged_into"]
    path = write_csv(tmp_path / "units.csv", [
        ["A", "Một", "B", ""], ["B", "Hai", "A", ""], ["C", "", "", ""], ["A", "Ba", "", ""],
        ["D", "Bốn", "", "KHONG-CO"], ["E", "Năm", "ZZ", ""],
    ], header=header, delimiter=",")
    result = app.test_cli_runner().invoke(args=["roster", "units", str(path), "--format", "json"])
    assert result.exit_code == 1
    errors = [(e["row"], e["column"]) for e in json.loads(result.output)["errors"]]
    assert (4, "name") in errors and (5, "code") in errors
    assert (6, "merged_into") in errors and (7, "parent_code") in errors
    assert _count(app, OrgUnit) == 0


def test_roster_commands_have_help(app):
    runner = app.test_cli_runner()
    for args in (["roster", "--help"], ["roster", "import", "--help"], ["roster", "units", "--help"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 0 and len(result.output) > 100
    assert "--dry-run" in runner.invoke(args=["roster", "import", "--help"]).output
