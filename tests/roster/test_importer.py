"""The roster import: the plan (each kind of change, each kind of error with its row), the
all-or-nothing apply, idempotent re-import, the full-roster safety threshold, history."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from mooc import clock
from mooc.auth.models import AuditEvent, Role, User
from mooc.extensions import db
from mooc.roster import importer, queries
from mooc.roster.models import OrgUnit, Position, RosterImport, Staff, StaffHistory, StaffStatus
from tests.conftest import login
from tests.roster.helpers import HEADER, csv_bytes


def _plan(app, data: bytes, **kwargs):
    with app.app_context():
        return importer.plan_import(importer.open_sheet(data), **kwargs)


def _run(app, data: bytes, *, confirmed: bool = False, **kwargs):
    """Plan and apply in one transaction, as the command does; returns the plan."""
    with app.app_context():
        plan = importer.plan_import(importer.open_sheet(data), checksum="c" * 64,
                                    filename="hr.csv", **kwargs)
        if plan.ok and (confirmed or not plan.confirmation_needed):
            importer.apply_plan(plan, source="test", confirmed=confirmed)
        db.session.commit()
        return plan


@pytest.fixture
def tree(make_unit):
    hanoi = make_unit("Thanh tra Thành phố Hà Nội", code="HN", kind="province")
    p1 = make_unit("Phòng Nghiệp vụ 1", parent=hanoi, code="HN-P1")
    p2 = make_unit("Phòng Nghiệp vụ 2", parent=hanoi, code="HN-P2")
    hcm = make_unit("Thanh tra Thành phố Hồ Chí Minh", code="HCM", kind="province")
    return {"HN": hanoi, "HN-P1": p1, "HN-P2": p2, "HCM": hcm}


ROWS = [
    ["000123", "Nguyễn Văn Đức", "Duc.NV@Example.vn", "HN-P1", "Thanh tra viên"],
    ["000124", "Trần Thị Hòa", "hoa.tt@example.vn", "HN-P2", "Thanh tra viên chính"],
    ["000125", "Lê Minh Anh", "", "Thanh tra Thành phố Hồ Chí Minh", "Chuyên viên"],
]


def _staff(app) -> dict[str, Staff]:
    with app.app_context():
        rows = db.session.execute(sa.select(Staff)).scalars().all()
        db.session.expunge_all()
    return {s.staff_code: s for s in rows}


def test_first_import_adds_people_positions_history_and_a_record(app, tree):
    plan = _run(app, csv_bytes(ROWS))
    assert plan.counts == {"added": 3, "changed": 0, "moved": 0, "deactivated": 0, "reactivated": 0,
                           "unchanged": 0}
    assert plan.new_positions == ["Thanh tra viên", "Thanh tra viên chính", "Chuyên viên"]
    staff = _staff(app)
    duc = staff["000123"]  # leading zeros kept
    assert duc.full_name == "Nguyễn Văn Đức"
    assert (duc.family_name, duc.middle_name, duc.given_name) == ("Nguyễn", "Văn", "Đức")
    assert duc.email == "duc.nv@example.vn"
    assert duc.unit_id == tree["HN-P1"].id and duc.status == StaffStatus.ACTIVE
    assert duc.search_text == "nguyen van duc 000123 duc.nv@example.vn"
    assert staff["000125"].unit_id == tree["HCM"].id  # a unit given by its exact name
    assert staff["000125"].email is None
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Position)) == 3
        history = db.session.execute(sa.select(StaffHistory)).scalars().all()
        assert len(history) == 3 and all(h.valid_to is None for h in history)
        record = db.session.execute(sa.select(RosterImport)).scalar_one()
        assert (record.checksum, record.rows, record.counts["added"]) == ("c" * 64, 3, 3)
        event = db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "roster.imported")
                                   ).scalar_one()
        assert event.details["added"] == 3


def test_reimporting_the_same_file_changes_nothing(app, tree):
    _run(app, csv_bytes(ROWS))
    before = _staff(app)
    clock.set_now(datetime(2030, 1, 1, tzinfo=UTC))
    again = _run(app, csv_bytes(ROWS))
    assert again.counts["unchanged"] == 3
    assert sum(again.counts[kind] for kind in again.KINDS) == 0
    assert again.new_positions == []
    after = _staff(app)
    assert {code: s.updated_at for code, s in after.items()} == {code: s.updated_at for code,
                                                                 s in before.items()}
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(StaffHistory)) == 3


def test_changes_are_listed_field_by_field_and_moves_open_history(app, tree):
    clock.set_now(datetime(2026, 3, 1, 3, tzinfo=UTC))
    _run(app, csv_bytes(ROWS))
    clock.set_now(datetime(2026, 9, 1, 3, tzinfo=UTC))
    changed = [
        ["000123", "Nguyễn  Văn   Đức", "duc.moi@example.vn", "HN-P1", "Thanh tra viên"],
        ["000124", "Trần Thị Hòa", "hoa.tt@example.vn", "HN-P1", "Thanh tra viên chính"],
        ["000125", "Lê Minh Anh", "", "HCM", "Chuyên viên"],
    ]
    plan = _run(app, csv_bytes(changed))
    assert plan.counts == {"added": 0, "changed": 1, "moved": 1, "deactivated": 0, "reactivated": 0,
                           "unchanged": 1}
    (change,) = plan.of_kind("changed")
    assert change.fields == [("email", "duc.nv@example.vn", "duc.moi@example.vn")]
    (move,) = plan.of_kind("moved")
    assert move.fields == [("unit_id", tree["HN-P2"].id, tree["HN-P1"].id)] and move.row == 3
    staff = _staff(app)
    assert staff["000123"].search_text.endswith("duc.moi@example.vn")
    with app.app_context():
        rows = db.session.execute(sa.select(StaffHistory).where(StaffHistory.staff_id == staff["000124"].id)
                                  .order_by(StaffHistory.valid_from)).scalars().all()
        assert [(r.valid_from, r.valid_to, r.unit_id) for r in rows] == [
            (date(2026, 3, 1), date(2026, 9, 1), tree["HN-P2"].id),
            (date(2026, 9, 1), None, tree["HN-P1"].id)]
        # "As of a date": before the move she was in Phòng 2, after it in Phòng 1.
        spring = dict(db.session.execute(sa.select(queries.staff_as_of(date(2026, 5, 1)).subquery()
                                                   .c[0:2])).all())
        autumn = dict(db.session.execute(sa.select(queries.staff_as_of(date(2026, 10, 1)).subquery()
                                                   .c[0:2])).all())
    assert spring[staff["000124"].id] == tree["HN-P2"].id
    assert autumn[staff["000124"].id] == tree["HN-P1"].id


ERROR_CASES = [
    # (rows, (row, column, code)) — rows are data rows; the header is spreadsheet row 1
    ([["", "Nguyễn Văn A", "", "HN", ""]], (2, "Mã cán bộ", "required")),
    ([["001", "", "", "HN", ""]], (2, "Họ và tên", "required")),
    ([["001", "Nguyễn Văn A", "", "", ""]], (2, "Đơn vị", "required")),
    ([["001", "Nguyễn Văn A", "not-an-address", "HN", ""]], (2, "Email", "invalid_email")),
    ([["001", "Nguyễn Văn A", "", "KHONG-CO", ""]], (2, "Đơn vị", "unknown_unit")),
    ([["001", "Nguyễn Văn A", "", "HN", ""], ["002", "Lê B", "", "HN", ""], ["001", "Trần C", "", "HN", ""]],
     (4, "Mã cán bộ", "duplicate_code")),
    ([["001", "Nguyễn Văn A", "a@example.vn", "HN", ""], ["002", "Lê B", "A@example.vn", "HN", ""]],
     (3, "Email", "duplicate_email")),
    ([["1.23E+05", "Nguyễn Văn A", "", "HN", ""]], (2, "Mã cán bộ", "scientific_code")),
    ([["1,23E+05", "Nguyễn Văn A", "", "HN", ""]], (2, "Mã cán bộ", "scientific_code")),
    ([["001", "Nguyễn Văn A", "", "Phòng Nghiệp vụ 1", ""]], (2, "Đơn vị", "ambiguous_unit")),
]


@pytest.mark.parametrize("rows, expected", ERROR_CASES)
def test_each_error_names_its_row_and_column(app, make_unit, rows, expected):
    hanoi = make_unit("Hà Nội", code="HN")
    make_unit("Phòng Nghiệp vụ 1", parent=hanoi, code="HN-P1")
    hcm = make_unit("Hồ Chí Minh", code="HCM")
    make_unit("Phòng Nghiệp vụ 1", parent=hcm, code="HCM-P1")
    plan = _plan(app, csv_bytes(rows))
    assert [(i.row, i.column, i.code) for i in plan.issues] == [expected]
    assert plan.changes == []
    result = plan.summary()
    assert result["errors"][0]["row"] == expected[0] and result["errors"][0]["message"]


def test_duplicate_messages_name_both_rows(app, make_unit):
    make_unit(code="HN")
    plan = _plan(app, csv_bytes([["001", "A B", "x@example.vn", "HN", ""], ["001", "C D",
                                                                            "x@example.vn", "HN", ""]]))
    with app.test_request_context():
        messages = [(issue.row, issue.message) for issue in plan.issues]
    assert messages == [(3, "Mã cán bộ 001 cũng có ở dòng 2."), (3, "E-mail x@example.vn cũng có ở dòng 2.")]


def test_status_date_and_taken_email_errors(app, make_unit, make_staff):
    unit = make_unit(code="HN")
    make_staff("Người Khác", unit=unit, email="taken@example.vn", staff_code="900")
    header = [*HEADER, "Trạng thái", "Ngày vào"]
    plan = _plan(app, csv_bytes([
        ["001", "A B", "", "HN", "", "đi chơi", ""],
        ["002", "C D", "", "HN", "", "", "31/02/2024"],
        ["003", "E F", "taken@example.vn", "HN", "", "", "01/02/2024"],
    ], header=header))
    assert [(i.row, i.column, i.code) for i in plan.issues] == [
        (2, "Trạng thái", "unknown_status"), (3, "Ngày vào", "invalid_date"), (4, "Email", "email_taken")]


def test_a_missing_required_column_is_an_error_on_the_header_row(app, make_unit):
    make_unit(code="HN")
    plan = _plan(app, csv_bytes([["001", "A B"]], header=["Mã cán bộ", "Họ và tên"]))
    assert [(i.row, i.code) for i in plan.issues] == [(1, "missing_column")]


def test_applying_is_all_or_nothing_even_when_it_fails_part_way(app, tree, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(importer, "_record_moves", broken)
    with app.app_context():
        plan = importer.plan_import(importer.open_sheet(csv_bytes(ROWS)))
        with pytest.raises(RuntimeError):
            importer.apply_plan(plan)
        # The staff rows, the positions and the record were written before the failure ...
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Staff)) == 3
        db.session.rollback()
    with app.app_context():  # ... and none of it stays.
        for model in (Staff, Position, RosterImport, StaffHistory, AuditEvent):
            assert db.session.scalar(sa.select(sa.func.count()).select_from(model)) == 0, model


def test_a_plan_with_errors_is_never_applied(app, tree):
    with app.app_context():
        plan = importer.plan_import(importer.open_sheet(csv_bytes([["", "A", "", "HN", ""]])))
        with pytest.raises(importer.PlanHasErrors):
            importer.apply_plan(plan)


def _ten_people(app, unit) -> None:
    rows = [[f"{n:03d}", f"Nguyễn Văn Số{n}", "", unit.code, ""] for n in range(10)]
    assert _run(app, csv_bytes(rows)).counts["added"] == 10


def test_full_roster_marks_missing_people_as_left_never_deletes(app, make_unit):
    unit = make_unit(code="HN")
    _ten_people(app, unit)
    nine = [[f"{n:03d}", f"Nguyễn Văn Số{n}", "", "HN", ""] for n in range(9)]
    partial = _run(app, csv_bytes(nine))  # not full: nobody is marked as left
    assert partial.counts["deactivated"] == 0
    plan = _run(app, csv_bytes(nine), full=True)  # 1 of 10 = 10%: not more than the share
    assert plan.counts["deactivated"] == 1 and not plan.confirmation_needed
    (gone,) = plan.of_kind("deactivated")
    assert gone.staff_code == "009" and gone.row is None
    staff = _staff(app)
    assert len(staff) == 10
    assert staff["009"].status == StaffStatus.LEFT and staff["009"].left_on == clock.today()
    # Back in the file: reactivated.
    back = _run(app, csv_bytes(nine + [["009", "Nguyễn Văn Số9", "", "HN", ""]]), full=True)
    assert back.counts["reactivated"] == 1
    assert _staff(app)["009"].left_on is None


def test_full_roster_needs_confirmation_above_the_share(app, make_unit):
    unit = make_unit(code="HN")
    _ten_people(app, unit)
    eight = [[f"{n:03d}", f"Nguyễn Văn Số{n}", "", "HN", ""] for n in range(8)]
    plan = _run(app, csv_bytes(eight), full=True)  # 2 of 10 = 20% > 10%
    assert plan.confirmation_needed and plan.missing_left == 2
    assert plan.summary()["confirmation_needed"] is True
    with app.app_context(), pytest.raises(importer.ConfirmationNeeded):
        importer.apply_plan(plan)
    assert all(s.status == StaffStatus.ACTIVE for s in _staff(app).values())
    assert _plan(app, csv_bytes(eight), full=True, confirm_percent=25).confirmation_needed is False
    _run(app, csv_bytes(eight), full=True, confirmed=True)
    assert sum(s.status == StaffStatus.LEFT for s in _staff(app).values()) == 2


def test_a_person_who_leaves_loses_access_at_once(app, tree, make_user):
    _run(app, csv_bytes(ROWS))
    staff = _staff(app)["000123"]
    user = make_user(email="duc.nv@example.vn", staff=staff)
    client = app.test_client()
    assert login(client, user.email).status_code == 302
    assert client.get("/").status_code == 200
    header = [*HEADER, "Trạng thái"]
    rows = [[*row, "Đang công tác"] for row in ROWS]
    rows[0][-1] = "Đã nghỉ"
    plan = _run(app, csv_bytes(rows, header=header))
    assert plan.counts["deactivated"] == 1
    assert client.get("/").status_code == 302  # the open session ended with the import
    with app.app_context():
        assert db.session.get(User, user.id).active is False
    assert login(app.test_client(), user.email).status_code == 200  # refused
    rows[0][-1] = "đang công tác"
    assert _run(app, csv_bytes(rows, header=header)).counts["reactivated"] == 1
    assert login(app.test_client(), user.email).status_code == 302


def test_a_merged_unit_in_the_file_means_the_unit_it_merged_into(app, tree):
    with app.app_context():
        p2 = db.session.get(OrgUnit, tree["HN-P2"].id)
        p2.active, p2.merged_into_id = False, tree["HN-P1"].id
        db.session.commit()
    plan = _run(app, csv_bytes([["1", "A B", "", "HN-P2", ""]]))
    assert plan.ok
    assert _staff(app)["1"].unit_id == tree["HN-P1"].id


def test_two_people_can_swap_e_mail_addresses(app, tree):
    rows = [["1", "A B", "a@example.vn", "HN", ""], ["2", "C D", "c@example.vn", "HN", ""]]
    _run(app, csv_bytes(rows))
    swapped = [["1", "A B", "c@example.vn", "HN", ""], ["2", "C D", "a@example.vn", "HN", ""]]
    plan = _run(app, csv_bytes(swapped))
    assert plan.ok and plan.counts["changed"] == 2
    staff = _staff(app)
    assert (staff["1"].email, staff["2"].email) == ("c@example.vn", "a@example.vn")


def test_positions_match_by_code_or_title_ignoring_case_and_tone_placement(app, tree):
    with app.app_context():
        db.session.add_all([Position(code="TTV", title="Thanh tra viên", rank=70),
                            Position(code="PCTT", title="Phó Chánh Thanh tra Hòa Bình", rank=20)])
        db.session.commit()
    plan = _plan(app, csv_bytes([
        ["1", "A B", "", "HN", "thanh tra viên"],
        ["2", "C D", "", "HN", "TTV"],
        ["3", "E F", "", "HN", "PHÓ CHÁNH THANH TRA HOÀ BÌNH"],
        ["4", "G H", "", "HN", "Thanh tra viên chính"],
        ["5", "I K", "", "HN", "Thanh tra viên chính"],
    ]))
    assert plan.new_positions == ["Thanh tra viên chính"]


def test_status_column_and_left_date(app, tree):
    header = [*HEADER, "Trạng thái", "Ngày nghỉ"]
    plan = _run(app, csv_bytes([
        ["1", "A B", "", "HN", "", "Nghỉ phép", ""],
        ["2", "C D", "", "HN", "", "", "15/01/2025"],
    ], header=header))
    assert plan.ok
    staff = _staff(app)
    assert staff["1"].status == StaffStatus.ON_LEAVE
    assert (staff["2"].status, staff["2"].left_on) == (StaffStatus.LEFT, date(2025, 1, 15))


def test_role_of_an_existing_account_is_kept_by_imports(app, tree, make_user):
    _run(app, csv_bytes(ROWS))
    staff = _staff(app)["000124"]
    manager = make_user(email="hoa.tt@example.vn", role=Role.MANAGER, scope_unit=tree["HN"], staff=staff)
    _run(app, csv_bytes(ROWS))
    with app.app_context():
        assert db.session.get(User, manager.id).role == Role.MANAGER


def test_a_date_before_year_1000_is_shown_as_written(app, tree):
    """One way to show a date in every import's messages: dd/mm/yyyy, the year in four digits
    (strftime wrote year 1 as "1")."""
    header = [*HEADER, "Ngày vào"]
    plan = _plan(app, csv_bytes([["1", "A B", "", "HN", "", "01/01/0001"]], header=header))
    assert [(i.row, i.code, i.params) for i in plan.issues] == [
        (2, "date_out_of_range", {"value": "01/01/0001"})]
