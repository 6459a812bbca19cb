"""No developer text on officers' pages: unit kinds in words (issue 19)."""

from __future__ import annotations

import io

from mooc.auth.models import Role
from tests.conftest import csrf_token, login
from tests.roster.helpers import csv_bytes


def test_unit_kinds_are_shown_in_words(app, make_user, make_unit) -> None:
    make_unit("Thanh tra tỉnh Ninh Bình", code="NB", kind="province")
    make_unit("Khối lạ", code="KL", kind="cum-thi-dua")
    client = app.test_client()
    login(client, make_user(role=Role.ADMIN).email)
    page = client.get("/roster/units").get_data(as_text=True)
    assert "<td>Cấp tỉnh</td>" in page and "<td>province</td>" not in page
    assert "<td>cum-thi-dua</td>" in page  # a kind the app does not know is shown as written


def test_the_roster_upload_page_lists_headers_with_diacritics(client, auth) -> None:
    auth.login(role=Role.ADMIN)
    page = client.get("/roster/import").get_data(as_text=True)
    assert "Mã cán bộ" in page and "Họ và tên" in page and "Đơn vị" in page
    assert "ma can bo" not in page and "ho va ten" not in page


def test_a_units_file_without_its_code_column_names_it_with_diacritics(client, auth) -> None:
    auth.login(role=Role.ADMIN)
    token = csrf_token(client, "/roster/units/import")
    uploaded = client.post("/roster/units/import", data={
        "csrf_token": token, "file": (io.BytesIO(csv_bytes([["Phòng 1"]], header=["Tên đơn vị"])), "u.csv")},
        content_type="multipart/form-data")
    page = client.get(uploaded.headers["Location"]).get_data(as_text=True)
    assert "Mã đơn vị" in page
    assert "<td>code</td>" not in page
