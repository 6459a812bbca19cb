"""No developer text on officers' pages: unit kinds in words (issue 19)."""

from __future__ import annotations

from mooc.auth.models import Role
from tests.conftest import login


def test_unit_kinds_are_shown_in_words(app, make_user, make_unit) -> None:
    make_unit("Thanh tra tỉnh Ninh Bình", code="NB", kind="province")
    make_unit("Khối lạ", code="KL", kind="cum-thi-dua")
    client = app.test_client()
    login(client, make_user(role=Role.ADMIN).email)
    page = client.get("/roster/units").get_data(as_text=True)
    assert "<td>Cấp tỉnh</td>" in page and "<td>province</td>" not in page
    assert "<td>cum-thi-dua</td>" in page  # a kind the app does not know is shown as written
