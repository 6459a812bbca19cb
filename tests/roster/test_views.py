"""Roster pages: who sees whom (a manager never sees another unit, in lists, search or a
person's page), diacritic-free search, Vietnamese order, pagination, and the upload flow."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from mooc.auth.models import AuditEvent, Role
from mooc.config import settings
from mooc.extensions import db
from mooc.roster.models import OrgUnit, Position, RosterImport, Staff, StaffHistory
from tests.conftest import csrf_token
from tests.roster.helpers import csv_bytes

PERSON_LINK = re.compile(r'href="/roster/staff/(\d+)">([^<]+)</a>')


def _names(page: str) -> list[str]:
    return [name for _id, name in PERSON_LINK.findall(page)]


@pytest.fixture
def org(make_unit, make_staff):
    hanoi = make_unit("Thanh tra Hà Nội", code="HN")
    hanoi_p1 = make_unit("Phòng 1 Hà Nội", parent=hanoi, code="HN-P1")
    hcm = make_unit("Thanh tra Hồ Chí Minh", code="HCM")
    people = {
        "duc": make_staff("Nguyễn Văn Đức", unit=hanoi_p1, email="duc@example.vn"),
        "hoa": make_staff("Trần Thị Hòa", unit=hanoi),
        "hoa2": make_staff("Lê Thị Hoà", unit=hcm),
        "an": make_staff("Bùi Văn An", unit=hcm),
    }
    return {"HN": hanoi, "HN-P1": hanoi_p1, "HCM": hcm, **people}


def test_trainees_cannot_see_the_roster(client, auth, org):
    auth.login(role=Role.TRAINEE)
    assert client.get("/roster/").status_code == 403
    assert client.get(f"/roster/staff/{org['duc'].id}").status_code == 403


def test_a_manager_sees_only_their_subtree_in_lists_search_and_pages(client, auth, org):
    auth.login(role=Role.MANAGER, scope_unit=org["HN"])
    page = client.get("/roster/").get_data(as_text=True)
    assert sorted(_names(page)) == ["Nguyễn Văn Đức", "Trần Thị Hòa"]
    assert "Thanh tra Hồ Chí Minh" not in page  # not even in the unit filter
    # Search for someone in another unit finds nothing, by name, code or e-mail.
    for query in ("Bùi Văn An", "bui van an", org["an"].staff_code, "hoa"):
        found = _names(client.get("/roster/", query_string={"q": query}).get_data(as_text=True))
        assert "Bùi Văn An" not in found and "Lê Thị Hoà" not in found, query
    # Asking for the other unit by id in the filter shows nobody.
    assert _names(client.get("/roster/", query_string={"unit": org["HCM"].id}).get_data(as_text=True)) == []
    assert client.get(f"/roster/staff/{org['an'].id}").status_code == 404
    assert client.get(f"/roster/staff/{org['duc'].id}").status_code == 200


def test_a_manager_without_a_unit_sees_nobody(client, auth, org):
    auth.login(role=Role.MANAGER)
    assert _names(client.get("/roster/").get_data(as_text=True)) == []


def test_search_ignores_diacritics_case_and_tone_placement(client, auth, org):
    auth.login(role=Role.ADMIN)

    def search(query: str) -> list[str]:
        return sorted(_names(client.get("/roster/", query_string={"q": query}).get_data(as_text=True)))

    assert search("nguyen van duc") == ["Nguyễn Văn Đức"]
    assert search("NGUYỄN VĂN ĐỨC") == ["Nguyễn Văn Đức"]
    assert search("đức") == ["Nguyễn Văn Đức"] and search("duc@example") == ["Nguyễn Văn Đức"]
    assert search("Hoà") == search("Hòa") == search("hoa") == ["Lê Thị Hoà", "Trần Thị Hòa"]
    assert search("bui van an") == search("Bùi An") == ["Bùi Văn An"]
    assert search("100%_") == []


def test_lists_sort_the_vietnamese_way_and_paginate_in_the_database(app, client, auth, make_unit, make_staff):
    unit = make_unit(code="X")
    names = ["Đặng Văn Ấn", "Bùi Thị Anh", "Nguyễn Văn An", "Lê Văn Ân", "Trần Văn Bình", "Vũ Thị Ánh",
             "Phạm Văn Đức", "Ngô Văn Dũng", "Hoàng Văn Ă", "Lý Văn Zô", "Trịnh Thị Ánh"]
    for name in names:
        make_staff(name, unit=unit)
    auth.login(role=Role.REPORTER)
    from mooc.text import person_sort_key

    expected = sorted(names, key=person_sort_key)
    assert expected == ["Nguyễn Văn An", "Bùi Thị Anh", "Trịnh Thị Ánh", "Vũ Thị Ánh", "Hoàng Văn Ă",
                        "Lê Văn Ân", "Đặng Văn Ấn", "Trần Văn Bình", "Ngô Văn Dũng", "Phạm Văn Đức",
                        "Lý Văn Zô"]
    from mooc.roster import queries

    seen: list[str] = []
    for number in (1, 2, 3):
        with app.app_context():
            from mooc.auth.models import User

            viewer = db.session.execute(sa.select(User)).scalars().first()
            page = queries.roster_page(viewer, queries.RosterFilter(), page=number, per_page=4)
            seen += [s.full_name for s in page.items]
            assert page.total == 11 and page.pages == 3
    assert seen == expected
    html = client.get("/roster/").get_data(as_text=True)
    assert _names(html) == expected


def test_pagination_links_keep_the_filters(client, auth, make_unit, make_staff, monkeypatch):
    from mooc.roster import queries

    monkeypatch.setattr(queries, "PER_PAGE", 2)
    unit = make_unit(code="X")
    for n in range(5):
        make_staff(f"Nguyễn Văn Người{n}", unit=unit)
    make_staff("Trần Thị Khác", unit=unit)
    auth.login(role=Role.ADMIN)
    first = client.get("/roster/", query_string={"q": "nguyen"}).get_data(as_text=True)
    assert _names(first) == ["Nguyễn Văn Người0", "Nguyễn Văn Người1"]
    assert "Trang 1 / 3" in first
    link = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    assert "q=nguyen" in link and "page=2" in link
    assert _names(client.get(link).get_data(as_text=True)) == ["Nguyễn Văn Người2", "Nguyễn Văn Người3"]
    last = client.get("/roster/", query_string={"q": "nguyen", "page": "99"}).get_data(as_text=True)
    assert _names(last) == ["Nguyễn Văn Người4"]


def test_person_page_shows_details_and_history(app, client, auth, org):
    auth.login(role=Role.ADMIN)
    page = client.get(f"/roster/staff/{org['duc'].id}").get_data(as_text=True)
    assert "Nguyễn Văn Đức" in page and "Phòng 1 Hà Nội" in page and "duc@example.vn" in page
    assert "Gửi lời mời" in page  # an admin can invite


UPLOAD_ROWS = [["000123", "Nguyễn Văn Đức", "duc.nv@example.vn", "HN", "Thanh tra viên"],
               ["000124", "Trần Thị Hòa", "", "HN", "Chuyên viên"]]


def _upload(client, data: bytes, filename: str = "danh-sach.csv", full: bool = False):
    token = csrf_token(client, "/roster/import")
    form = {"csrf_token": token, "file": (__import__("io").BytesIO(data), filename)}
    if full:
        form["full"] = "y"
    return client.post("/roster/import", data=form, content_type="multipart/form-data")


def test_upload_preview_then_apply(app, client, auth, make_unit):
    make_unit("Thanh tra Hà Nội", code="HN")
    admin = auth.login(role=Role.ADMIN)
    response = _upload(client, csv_bytes(UPLOAD_ROWS))
    assert response.status_code == 302
    preview_url = response.headers["Location"]
    checksum = re.search(r"/roster/import/([0-9a-f]{64})", preview_url).group(1)
    assert (settings(app).instance_dir / "imports" / f"{checksum}.csv").is_file()
    page = client.get(preview_url).get_data(as_text=True)
    assert "Thêm mới: <strong>2</strong>" in page and "Chức vụ mới" in page
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Staff)) == 0  # nothing yet
    fingerprint = re.search(r'name="fingerprint" value="([0-9a-f]+)"', page).group(1)
    mapping = dict(re.findall(r'name="(col_\d+)" value="(\w+)"', page))
    form = {"csrf_token": csrf_token(client, preview_url), "fingerprint": fingerprint,
            "name": "danh-sach.csv", **mapping}
    applied = client.post(f"/roster/import/{checksum}", data=form)
    assert applied.status_code == 302, applied.get_data(as_text=True)[:2000]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Staff)) == 2
        record = db.session.execute(sa.select(RosterImport)).scalar_one()
        assert (record.actor_id, record.filename, record.checksum) == (admin.id, "danh-sach.csv", checksum)
    detail = client.get(applied.headers["Location"]).get_data(as_text=True)
    assert "danh-sach.csv" in detail and checksum in detail
    assert "danh-sach.csv" in client.get("/roster/imports").get_data(as_text=True)
    # The applied file is not kept (it holds personal data): the same preview is gone.
    assert not (settings(app).instance_dir / "imports" / f"{checksum}.csv").exists()
    assert client.post(f"/roster/import/{checksum}", data=form).status_code == 404
    # Uploaded again, the plan changed (everyone is there now): the old preview is refused.
    assert _upload(client, csv_bytes(UPLOAD_ROWS)).status_code == 302
    again = client.post(f"/roster/import/{checksum}", data=form)
    assert again.status_code == 200 and "đã thay đổi" in again.get_data(as_text=True)


def test_preview_shows_errors_with_rows_and_cannot_be_applied(app, client, auth, make_unit):
    make_unit(code="HN")
    auth.login(role=Role.ADMIN)
    rows = [*UPLOAD_ROWS, ["000123", "Lê Văn Ba", "sai-email", "KHONG-CO", ""]]
    url = _upload(client, csv_bytes(rows)).headers["Location"]
    page = client.get(url).get_data(as_text=True)
    assert "Số lỗi: 3" in page
    assert "Mã cán bộ 000123 cũng có ở dòng 2." in page
    assert "Áp dụng" not in page


def test_the_admin_can_correct_the_column_mapping(app, client, auth, make_unit):
    make_unit(code="HN")
    auth.login(role=Role.ADMIN)
    data = csv_bytes([["7", "Lý Thị Mai", "HN"]], header=["Số hiệu", "Họ và tên", "Nơi công tác"])
    url = _upload(client, data).headers["Location"]
    page = client.get(url).get_data(as_text=True)
    assert "Tệp không có cột “Đơn vị”" in page  # "Nơi công tác" is not a known header
    checksum = url.split("/roster/import/")[1].split("?")[0]
    fixed = client.get(f"/roster/import/{checksum}",
                       query_string={"col_0": "staff_code", "col_1": "full_name", "col_2": "unit"})
    assert "Thêm mới: <strong>1</strong>" in fixed.get_data(as_text=True)


def test_upload_refuses_files_that_are_not_rosters(client, auth):
    auth.login(role=Role.ADMIN)
    page = _upload(client, b"%PDF-1.7 ...", "cv.pdf").get_data(as_text=True)
    assert "Đây không phải là tệp CSV hoặc XLSX." in page


def test_the_stored_upload_is_found_by_checksum_only(client, auth):
    auth.login(role=Role.ADMIN)
    assert client.get("/roster/import/../../secret_key").status_code == 404
    assert client.get("/roster/import/" + "a" * 64).status_code == 404


def test_full_upload_over_the_share_needs_the_tick(app, client, auth, make_unit, make_staff):
    unit = make_unit(code="HN")
    for n in range(4):
        make_staff(f"Nguyễn Văn Người{n}", unit=unit, staff_code=f"90{n}")
    auth.login(role=Role.ADMIN)
    url = _upload(client, csv_bytes(UPLOAD_ROWS), full=True).headers["Location"]
    page = client.get(url).get_data(as_text=True)
    assert "đánh dấu 4 trên 4 người" in page
    checksum = url.split("/roster/import/")[1].split("?")[0]
    form = {"csrf_token": csrf_token(client, url), "full": "1",
            "fingerprint": re.search(r'name="fingerprint" value="([0-9a-f]+)"', page).group(1),
            **dict(re.findall(r'name="(col_\d+)" value="(\w+)"', page))}
    refused = client.post(f"/roster/import/{checksum}", data=form)
    assert refused.status_code == 200 and "Hãy đánh dấu ô xác nhận" in refused.get_data(as_text=True)
    assert client.post(f"/roster/import/{checksum}", data={**form, "confirm": "y"}).status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).where(Staff.status == "left")) == 4


def test_managers_cannot_import_or_edit_units(client, auth, make_unit):
    unit = make_unit(code="HN")
    auth.login(role=Role.MANAGER, scope_unit=unit)
    for url in ("/roster/import", "/roster/imports", "/roster/units", "/roster/units/new",
                f"/roster/units/{unit.id}"):
        assert client.get(url).status_code == 403, url


def test_admin_creates_renames_and_merges_units(app, client, auth, make_unit, make_staff):
    hcm = make_unit("Thanh tra TP Hồ Chí Minh", code="HCM")
    bd = make_unit("Thanh tra tỉnh Bình Dương", code="BD")
    section = make_unit("Phòng Nghiệp vụ", parent=bd, code="BD-P1")
    person = make_staff("Trần Văn Bình", unit=section)
    person2 = make_staff("Lê Thị Dương", unit=bd)
    auth.login(role=Role.ADMIN)
    token = csrf_token(client, "/roster/units/new")
    created = client.post("/roster/units/new", data={"csrf_token": token, "code": "VT",
                                                     "name": "Thanh tra Vũng Tàu",
                                                     "kind": "province", "parent": "0"})
    assert created.status_code == 302
    renamed = client.post(f"/roster/units/{hcm.id}", data={
        "csrf_token": token, "code": "HCM", "name": "Thanh tra Thành phố Hồ Chí Minh", "kind": "province",
        "parent": "0"})
    assert renamed.status_code == 302
    # A unit cannot move under its own sub-unit.
    cycle = client.post(f"/roster/units/{bd.id}", data={"csrf_token": token, "code": "BD", "name": "X",
                                                        "kind": "", "parent": str(section.id)})
    assert cycle.status_code == 200
    merged = client.post(f"/roster/units/{bd.id}/merge", data={
        "csrf_token": token, "merge-target": str(hcm.id), "merge-confirm": "y"})
    assert merged.status_code == 302
    with app.app_context():
        units = {u.code: u for u in db.session.execute(sa.select(OrgUnit)).scalars()}
        assert units["HCM"].name == "Thanh tra Thành phố Hồ Chí Minh"
        assert (units["BD"].active, units["BD"].merged_into_id) == (False, hcm.id)
        assert units["BD-P1"].parent_id == hcm.id  # the section now hangs from the new unit
        assert db.session.get(Staff, person2.id).unit_id == hcm.id  # people of the unit moved
        assert db.session.get(Staff, person.id).unit_id == section.id  # people of the section stay in it
        history = db.session.execute(sa.select(StaffHistory).where(StaffHistory.staff_id == person2.id)
                                     .order_by(StaffHistory.valid_from)).scalars().all()
        # Where the person was before the merge is kept (they predate history), then the move.
        assert [h.unit_id for h in history] == [bd.id, hcm.id]
        assert history[0].valid_to == history[1].valid_from and history[1].valid_to is None
        actions = set(db.session.execute(sa.select(AuditEvent.action)).scalars())
        assert {"unit.created", "unit.updated", "unit.merged"} <= actions
    # A manager of the merged province's new home sees the moved people (reports roll up).
    listing = client.get("/roster/", query_string={"unit": hcm.id}).get_data(as_text=True)
    assert {"Trần Văn Bình", "Lê Thị Dương"} <= set(_names(listing))
    assert "Bình Dương" in client.get("/roster/units").get_data(as_text=True)


def test_a_unit_cannot_merge_into_its_own_sub_unit(client, auth, make_unit):
    top = make_unit(code="TOP")
    child = make_unit(parent=top, code="CHILD")
    auth.login(role=Role.ADMIN)
    token = csrf_token(client, f"/roster/units/{top.id}")
    response = client.post(f"/roster/units/{top.id}/merge", data={
        "csrf_token": token, "merge-target": str(child.id), "merge-confirm": "y"})
    assert response.status_code == 302
    assert "Không thể sáp nhập" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_nav_links_follow_the_role(client, auth, make_unit):
    auth.login(role=Role.ADMIN)
    page = client.get("/").get_data(as_text=True)
    assert 'href="/roster/"' in page and 'href="/roster/import"' in page


def test_positions_created_by_import_show_in_the_filter(app, client, auth, make_unit):
    make_unit(code="HN")
    auth.login(role=Role.ADMIN)
    with app.app_context():
        db.session.add(Position(code="CV", title="Chuyên viên"))
        db.session.commit()
    assert "Chuyên viên" in client.get("/roster/").get_data(as_text=True)


def test_the_mapping_form_shows_what_each_column_was_taken_for(client, auth, make_unit):
    make_unit(code="HN")
    auth.login(role=Role.ADMIN)
    url = _upload(client, csv_bytes(UPLOAD_ROWS)).headers["Location"]
    page = client.get(url).get_data(as_text=True)
    selected = re.findall(r'<select id="col_(\d+)"[^>]*>.*?<option value="(\w+)" selected>', page, re.S)
    assert selected == [("0", "staff_code"), ("1", "full_name"), ("2", "email"), ("3", "unit"),
                        ("4", "position")]


def test_a_column_mapping_with_unicode_digits_is_not_a_column(app, client, auth, make_unit):
    """``col_²`` passed str.isdigit() and then failed int(): only ASCII column numbers count."""
    make_unit("Thanh tra Hà Nội", code="HN")
    auth.login(role=Role.ADMIN)
    url = _upload(client, csv_bytes(UPLOAD_ROWS)).headers["Location"]
    checksum = url.split("/roster/import/")[1].split("?")[0]
    for key in ("col_²", "col_٣", "col_" + "9" * 30, "col_-1"):
        response = client.get(f"/roster/import/{checksum}", query_string={key: "full_name"})
        assert response.status_code == 200, key
