"""Journey 5: someone searches the courses typing without diacritics (as on a phone or an
English keyboard), and lands on the right section of the right lesson, scrolled into view.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from mooc.text import fold
from tests.e2e.pages import sign_in


def assert_landed_on_section(page: Page, lesson_title: str, heading: str) -> None:
    """The lesson is open at the section: its heading is the URL's target, on the screen."""
    expect(page.get_by_role("heading", level=1)).to_have_text(lesson_title)
    anchor = page.url.split("#", 1)[1]
    section = page.locator(f"[id='{anchor}']")
    expect(section).to_have_text(heading)
    # The fragment's navigation may finish a moment after the page's (seen on a loaded machine).
    page.wait_for_function("(anchor) => document.querySelector(':target')?.id === anchor", arg=anchor)
    expect(section).to_be_in_viewport()


def test_search_without_diacritics_lands_on_the_section(browsing) -> None:
    page = browsing.new_page()
    sign_in(page, "baocao@example.vn", "matkhau-demo")

    # From the box in the header, on any page: type, press Enter.
    box = page.get_by_role("search").get_by_role("searchbox", name="Tìm trong các khóa học")
    box.fill("rut khieu nai")
    box.press("Enter")
    expect(page).to_have_url(re.compile(r"/search/\?q=rut\+khieu\+nai$"))
    expect(page.locator(".search-count")).to_contain_text("Tìm thấy")
    first = page.locator(".search-hit").first
    expect(first.get_by_role("link")).to_have_text(re.compile(r"› Rút khiếu nại$"))
    marked = " ".join(first.locator("mark").all_inner_texts())
    assert marked and set(fold(marked).split()) <= {"rut", "khieu", "nai"}, marked  # with their accents
    first.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/lessons/khieu-nai-to-cao-dao-duc/giai-quyet-khieu-nai#"))
    assert_landed_on_section(page, "Giải quyết khiếu nại theo Luật Khiếu nại 2011", "Rút khiếu nại")

    # From the results page, in one course only, words in any order and case.
    page.go_back()
    page.get_by_label("Từ cần tìm").fill("CANG THANG ha nhiet")
    page.get_by_label("Khóa học", exact=True).select_option(label="Tiếp công dân và xử lý đơn")
    page.get_by_role("main").get_by_role("button", name="Tìm kiếm").click()
    hits = page.locator(".search-hit")
    expect(hits.first.locator(".meta")).to_contain_text("Tiếp công dân và xử lý đơn")
    expect(hits.first.get_by_role("link")).to_contain_text("Hạ nhiệt một buổi tiếp căng thẳng")
    hits.first.get_by_role("link").click()
    assert_landed_on_section(page, "Kỹ năng tại bàn tiếp công dân", "Hạ nhiệt một buổi tiếp căng thẳng")
