"""Counts read the Vietnamese way everywhere on screen: 1.234, never 1234 (issue 19)."""

from __future__ import annotations

from datetime import date

from mooc import clock
from mooc.auth.models import Role
from mooc.training.models import EnrolmentState
from tests.conftest import csrf_token, login
from tests.reports.test_compliance import bulk_enrolments, bulk_staff

PEOPLE = 1234


def test_report_counts_are_grouped_with_dots(org, make_user):
    app, o = org
    ids = bulk_staff(app, [o.section_a.id], PEOPLE)
    bulk_enrolments(app, o.course_id, ids, due_on=date(2099, 1, 1), state=EnrolmentState.COMPLETED,
                    completed_at=clock.now())
    client = app.test_client()
    login(client, make_user(role=Role.REPORTER).email)
    compliance = client.get(f"/reports/compliance?unit={o.province.id}").get_data(as_text=True)
    assert "1.234/1.234 người đạt yêu cầu" in compliance
    trend = client.get("/reports/trend").get_data(as_text=True)
    assert "<td>1.234</td>" in trend and ">1.234</text>" in trend and "1234" not in trend
    this_month = clock.today().strftime("%m/%Y")  # the month as the page writes it, in the export too
    assert f'<th scope="row">{this_month}</th>' in trend
    export = client.get("/reports/trend?export=csv").data.decode("utf-8-sig")
    assert f'"{this_month}";"1234"' in export and clock.today().strftime("%Y-%m") not in export


def test_rule_preview_and_saved_message_group_digits(org, make_user):
    app, o = org
    bulk_staff(app, [o.section_a.id], PEOPLE)
    admin = app.test_client()
    login(admin, make_user(role=Role.ADMIN).email)
    form = {"csrf_token": csrf_token(admin, "/admin/rules/new"), "course": o.course_id,
            "units": [o.province.id], "due_kind": "days", "due_days": 60}
    preview = admin.post("/admin/rules/new", data=form).get_data(as_text=True)
    assert "1.234 người thuộc phạm vi; 1.234 người sẽ được giao ngay" in preview
    assert "và 1.214 người khác." in preview  # the first 20 are named
    saved = admin.post("/admin/rules/new", data=form | {"confirm": "1"}, follow_redirects=True)
    assert "giao khóa học cho 1.234 người" in saved.get_data(as_text=True)


def test_an_english_interface_groups_digits_the_english_way(org, make_user):
    app, o = org
    ids = bulk_staff(app, [o.section_a.id], PEOPLE)
    bulk_enrolments(app, o.course_id, ids, due_on=date(2099, 1, 1), state=EnrolmentState.COMPLETED,
                    completed_at=clock.now())
    client = app.test_client()
    login(client, make_user(role=Role.REPORTER).email)
    client.post("/language", data={"csrf_token": csrf_token(client, "/reports/trend"), "lang": "en"})
    trend = client.get("/reports/trend").get_data(as_text=True)
    assert 'lang="en"' in trend
    assert "<td>1,234</td>" in trend and "1.234" not in trend
