"""Dates in a browser whose language is American English read and are typed dd/mm/yyyy, in both
interface languages: the page's language does not decide how Chromium draws an <input type=date>
(mm/dd/yyyy there, and it would not even take "31/12/2026"), so every date box is a text box for
dd/mm/yyyy (mooc/fields.py, templates/_forms.html day_input), read by the server.

A unit manager, in an en-US Chromium, extends an overdue person's due date from the training
record (a day that does not exist first: the page names the box and the way to write a date),
then opens the list of people from a link made when the filters were <input type=date> (ISO)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.pages import go, sign_in
from tests.e2e.test_journey_daily import COURSE, _overdue, _rule, _scope, _unit, axe_clean

WORDS = {
    "vi": {"extend": "Gia hạn", "open": "Gia hạn", "box": "Hạn mới", "reason": "Lý do",
           "not_a_date": "Hạn mới: “31/02/{year}” không phải là ngày. Hãy ghi theo dạng dd/mm/yyyy, "
                         "ví dụ 31/12/2026.",
           "moved": "sang {day}", "due_from": "Hạn từ ngày"},
    "en": {"extend": "Extend", "open": "Extend the due date", "box": "New due date", "reason": "Reason",
           "not_a_date": "New due date: “31/02/{year}” is not a date. Write it as dd/mm/yyyy, "
                         "for example 31/12/2026.",
           "moved": "to {day}", "due_from": "Due from"},
}


@pytest.mark.parametrize("interface", ["vi", "en"])
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_an_english_browser_types_and_reads_dates_dd_mm_yyyy(browsing, live, make_trainee, interface,
                                                             viewport) -> None:
    from mooc import clock
    from mooc.auth.models import Role

    words = WORDS[interface]
    tag = f"{interface}-{'D' if viewport is DESKTOP else 'P'}"
    root = f"E2E-TD-{tag}"
    root_id = _unit(live, root, f"Thanh tra tỉnh Ngày Tháng {tag}")
    _rule(live, "tiep-cong-dan", root, due_days=60)
    manager = make_trainee("Hồ Văn Lịch", root, "CV", role=Role.MANAGER)
    _scope(live, manager.user_id, root_id)
    late = make_trainee("Mạc Thị Hạn", root, "CV")
    _overdue(live, late.staff_id)

    page = browsing.new_page(viewport, locale="en-US")
    assert page.evaluate("navigator.language") == "en-US"
    sign_in(page, manager.email, manager.password)
    if interface == "en":
        page.get_by_role("button", name="English").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")

    go(page, f"/training/people/{late.staff_id}")
    row = page.get_by_role("row").filter(has_text=COURSE)
    row.locator("details.row-action summary").filter(has_text=words["open"]).click()
    box = row.get_by_label(words["box"])
    expect(box).to_have_attribute("type", "text")
    expect(box).to_have_attribute("inputmode", "numeric")
    expect(box).to_have_accessible_name(f"{words['box']} (dd/mm/yyyy)")
    axe_clean(page)

    year = clock.today().year + 1
    box.fill(f"31/02/{year}")
    row.get_by_label(words["reason"]).fill("Đi công tác dài ngày")
    row.get_by_role("button", name=words["extend"], exact=True).click()
    expect(page.locator(".flash-warning").first).to_have_text(words["not_a_date"].format(year=year))

    new_due = clock.today() + timedelta(days=30)
    row = page.get_by_role("row").filter(has_text=COURSE)
    row.locator("details.row-action summary").filter(has_text=words["open"]).click()
    box = row.get_by_label(words["box"])
    box.fill(f"{new_due:%d/%m/%Y}")
    expect(box).to_have_value(f"{new_due:%d/%m/%Y}")
    row.get_by_label(words["reason"]).fill("Đi công tác dài ngày")
    row.get_by_role("button", name=words["extend"], exact=True).click()
    expect(page.locator(".flash-success")).to_contain_text(words["moved"].format(day=f"{new_due:%d/%m/%Y}"))
    expect(page.get_by_role("row").filter(has_text=COURSE)).to_contain_text(f"{new_due:%d/%m/%Y}")

    # A link made when the filters were <input type=date> (ISO): the box shows the day dd/mm/yyyy.
    go(page, f"/reports/people?due_from={new_due.isoformat()}")
    due_from = page.get_by_label(re.compile("^" + words["due_from"]))
    expect(due_from).to_have_value(f"{new_due:%d/%m/%Y}")
    expect(page.locator("table.report")).to_contain_text(late.full_name)
    axe_clean(page)
