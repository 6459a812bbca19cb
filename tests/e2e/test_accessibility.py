"""axe-core on every main page, for the person who uses it: no serious or critical violation.

Pages that need a state made by clicking (a quiz attempt and its result, an import preview,
a rule's preview) are reached by clicking, as a person would.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.e2e.a11y import axe_violations, describe
from tests.e2e.pages import QuizKey, QuizPage, RosterImport, RuleForm, go

TRAINEE = "hocvien@example.vn"
MANAGER = "quanly.hanoi@example.vn"
ADMIN = "quantri@example.vn"
LESSON = "/courses/nghiep-vu-thanh-tra/lessons/he-thong-thanh-tra/he-thong-hai-cap"
VIDEO_LESSON = "/courses/nghiep-vu-thanh-tra/lessons/quy-trinh-thanh-tra/chuan-bi-va-quyet-dinh"  # a player

PAGES = [  # (id, account or None, path with {placeholders} filled from the demo data)
    ("login", None, "/login"),
    ("forgot-password", None, "/forgot"),
    ("verify-certificate", None, "/verify/{certificate}"),
    ("home", TRAINEE, "/"),
    ("catalog", TRAINEE, "/courses/"),
    ("course", TRAINEE, "/courses/nghiep-vu-thanh-tra"),
    ("lesson", TRAINEE, LESSON),
    ("lesson-video", TRAINEE, VIDEO_LESSON),
    ("quiz", TRAINEE, "/courses/nghiep-vu-thanh-tra/quizzes/he-thong-thanh-tra/kiem-tra"),
    ("search", TRAINEE, "/search/?q=thanh+tra+vien"),
    ("my-record", TRAINEE, "/training/record"),
    ("change-password", TRAINEE, "/account/password"),
    ("reports", MANAGER, "/reports/"),
    ("reports-unit", MANAGER, "/reports/units/{unit_hn}?people=1"),
    ("reports-people", MANAGER, "/reports/people?unit={unit_hn}"),
    ("reports-compliance", MANAGER, "/reports/compliance?unit={unit_hn}"),
    ("reports-trend", MANAGER, "/reports/trend"),
    ("reports-legal", MANAGER, "/reports/legal"),
    ("reports-course", MANAGER, "/reports/courses/{course}"),
    ("roster", MANAGER, "/roster/?q=nguyen"),
    ("roster-person", ADMIN, "/roster/staff/{staff_an}"),
    ("training-record", MANAGER, "/training/people/{staff_an}"),
    ("roster-import", ADMIN, "/roster/import"),
    ("roster-imports", ADMIN, "/roster/imports"),
    ("units", ADMIN, "/roster/units"),
    ("unit-edit", ADMIN, "/roster/units/{unit_hn}"),
    ("rules", ADMIN, "/admin/rules"),
    ("rule-new", ADMIN, "/admin/rules/new"),
    ("reminders", ADMIN, "/admin/reminders/"),
    ("privacy-notice", None, "/privacy"),
    ("my-data", TRAINEE, "/account/data"),
    ("audit-log", ADMIN, "/admin/audit"),
    ("audit-log-manager", MANAGER, "/admin/audit?from=01/01/2026"),
    ("corrections", ADMIN, "/privacy/corrections"),
    ("export-person", ADMIN, "/privacy/people/{staff_an}/export"),
]


@pytest.fixture(scope="module")
def ids(live) -> dict[str, object]:
    from mooc.courses.models import Course
    from mooc.roster.models import OrgUnit, Staff
    from mooc.training.models import Certificate

    with live.db() as session:
        return {
            "certificate": session.scalar(sa.select(Certificate.code).order_by(Certificate.id)),
            "unit_hn": session.scalar(sa.select(OrgUnit.id).where(OrgUnit.code == "HN")),
            "course": session.scalar(sa.select(Course.id).where(Course.key == "nghiep-vu-thanh-tra")),
            "staff_an": session.scalar(sa.select(Staff.id).where(Staff.staff_code == "000202")),
        }


@pytest.mark.parametrize(("account", "path"), [(a, p) for _, a, p in PAGES], ids=[n for n, _, _ in PAGES])
def test_main_page_has_no_serious_violations(browsing, ids, account, path) -> None:
    page = browsing.signed_in(account) if account else browsing.new_page()
    go(page, path.format(**ids))
    violations = axe_violations(page)
    assert not violations, describe(violations)


def test_error_page(browsing) -> None:
    page = browsing.signed_in(TRAINEE)
    with browsing.watch.allow(404):
        response = page.goto("/courses/no-such-course")
    assert response.status == 404
    violations = axe_violations(page)
    assert not violations, describe(violations)


def test_quiz_attempt_and_result(browsing, live, make_trainee) -> None:
    person = make_trainee("Tạ Thị Thu Trang", "HCM-P1", "TTV")
    page = browsing.signed_in(person.email, person.password)
    go(page, "/courses/giam-sat-so/quizzes/giam-sat-canh-bao-som/kiem-tra")
    attempt = QuizPage(page).start()
    violations = axe_violations(page)
    assert not violations, describe(violations)
    attempt.answer_all(QuizKey.load(live, "giam-sat-so", "giam-sat-canh-bao-som/kiem-tra"), right=False)
    result = attempt.submit()
    expect(result.card).to_contain_text("Chưa đạt")
    violations = axe_violations(page)  # the result without its key (review: after_close)
    assert not violations, describe(violations)
    attempt = result.try_again()
    attempt.answer_all(QuizKey.load(live, "giam-sat-so", "giam-sat-canh-bao-som/kiem-tra"), right=True)
    result = attempt.submit()
    expect(result.card).to_contain_text("Đạt")
    violations = axe_violations(page)  # the review: right and wrong answers, explanations
    assert not violations, describe(violations)


def test_import_check_and_rule_preview(browsing, tmp_path) -> None:
    """The pages an administrator reads before applying anything (nothing is applied here)."""
    page = browsing.signed_in(ADMIN)
    go(page, "/")
    sample = tmp_path / "danh-sach.csv"
    sample.write_text("Mã cán bộ;Họ và tên;Email;Đơn vị;Chức vụ\r\n"
                      "000203;Vũ Thị Hòa;hoa.vt@example.vn;HN-P1;Thanh tra viên cao cấp\r\n"
                      "000299;Trương Minh Quân;quan.tm@example;HN-P9;Thanh tra viên\r\n", encoding="utf-8")
    RosterImport(page).upload(sample)
    expect(page.get_by_role("heading", name="Số lỗi: 2")).to_be_visible()
    violations = axe_violations(page)
    assert not violations, describe(violations)
    rule = RuleForm(page).open()
    rule.fill("Soạn thảo văn bản trong hoạt động thanh tra (VBTT-2026)", "Thanh tra Chính phủ", days=45)
    expect(rule.preview()).to_be_visible()
    violations = axe_violations(page)
    assert not violations, describe(violations)


def test_a_table_wider_than_its_box_can_be_scrolled_from_the_keyboard(browsing, live) -> None:
    """A table that scrolls sideways (an audit event's long details, a long address) must be
    reachable from the keyboard (axe: scrollable-region-focusable): the page makes its box
    focusable while it is wider than the screen, and only then."""
    from mooc.auth.models import AuditEvent

    with live.db() as session:
        session.add(AuditEvent(action="login.failed", target="dai-dong@example.vn",
                               details={"user_agent": "Mozilla/5.0-" + "x" * 300}))
    page = browsing.signed_in(ADMIN)
    go(page, "/admin/audit")
    box = page.locator(".table-scroll").first
    assert box.evaluate("box => box.scrollWidth > box.clientWidth")
    assert box.get_attribute("tabindex") == "0"
    violations = axe_violations(page)
    assert not violations, describe(violations)
    go(page, "/admin/rules")  # a table that fits: no extra stop for the Tab key
    fits = page.locator(".table-scroll").first
    assert fits.evaluate("box => box.scrollWidth <= box.clientWidth")
    assert fits.get_attribute("tabindex") is None
