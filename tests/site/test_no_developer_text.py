"""No developer text on the pages trainees, managers, officers and reporters see: no backticks,
no command lines (issue 19). Administrators' pages may name a command, plainly."""

from __future__ import annotations

import re

import pytest

from mooc.auth.models import Role
from tests.conftest import login

PAGES = ["/", "/training/record", "/courses/", "/search/?q=thanh+tra", "/roster/", "/roster/units",
         "/roster/import", "/roster/imports", "/roster/units/new", "/admin/rules", "/admin/rules/new",
         "/admin/history/import", "/reports/", "/reports/people", "/reports/compliance", "/reports/trend"]
COMMAND = re.compile(r"\bmooc [a-z-]+\b")


@pytest.mark.parametrize("role", [Role.TRAINEE, Role.MANAGER, Role.OFFICER, Role.REPORTER])
def test_pages_people_see_have_no_developer_text(make_app, tmp_path, make_unit, make_staff, make_user,
                                                 role) -> None:
    app = make_app(COURSES_DIR=str(tmp_path / "no-courses"))  # the empty catalog's text too
    unit = make_unit("Thanh tra tỉnh Ninh Bình", code="NB", kind="province")
    staff = make_staff("Nguyễn Văn An", unit=unit)
    user = make_user(role=role, staff=staff, scope_unit=unit if role.scoped else None)
    client = app.test_client()
    login(client, user.email)
    seen = 0
    for path in PAGES:
        response = client.get(path)
        if response.status_code != 200:
            continue
        seen += 1
        page = response.get_data(as_text=True)
        assert "`" not in page, path
        assert not COMMAND.search(page), (path, COMMAND.search(page))
    assert seen >= 3
