"""Issue 19's daily paths, each walked at desktop width and on a 375 px phone, with axe run on
every main page visited (no serious or critical violation):

- a training officer imports a roster file for their province, invites the new people with an
  e-mail in one go from the import's page, and assigns a course by a rule after its preview;
- a new inspector accepts the invitation, chooses a password and completes a required course,
  its quiz included (the summary before grading first; the lost session and the summary's
  details are test_journey_quiz_safety.py's);
- a unit manager reviews their team on the home page, reminds one person from the list,
  extends a due date from a training record and grants an attempt to someone out of them.

Each journey makes its own units (top-level provinces that no other test counts) and people,
named per viewport, so the journeys do not depend on the order the tests run in.
"""

from __future__ import annotations

import email
import email.policy
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from tests.e2e.a11y import axe_violations, describe
from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.pages import HomePage, LessonPage, QuizKey, QuizPage, RosterImport, RuleForm, go, menu, sign_in
from tests.e2e.test_mobile import layout_problems

VIEWPORTS = pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
COURSE = "Tiếp công dân và xử lý đơn"
COURSE_KEY = "tiep-cong-dan"
QUIZ_KEY = "tiep-cong-dan/kiem-tra"


def axe_clean(page: Page) -> None:
    """axe finds nothing serious on the page; on a phone, nothing is out of reach either (no
    sideways scrolling, every control big enough and uncovered: test_mobile.py's check)."""
    violations = axe_violations(page)
    assert not violations, f"axe on {page.url}:\n{describe(violations)}"
    if page.viewport_size["width"] <= PHONE["width"]:
        problems = layout_problems(page)
        assert not problems, f"layout at {PHONE['width']} px on {page.url}:\n" + "\n".join(problems)


def _tag(viewport: dict[str, int]) -> str:
    return "D" if viewport is DESKTOP else "P"


def _unit(live, code: str, name: str, parent_code: str | None = None) -> int:
    from mooc.roster.models import OrgUnit

    with live.db() as session:
        parent = None
        if parent_code:
            parent = session.scalar(sa.select(OrgUnit).where(OrgUnit.code == parent_code))
        unit = OrgUnit(code=code, name=name, kind="province" if parent is None else "section", parent=parent)
        session.add(unit)
        session.flush()
        return unit.id


def _scope(live, user_id: int, unit_id: int) -> None:
    from mooc.auth.models import User

    with live.db() as session:
        session.get(User, user_id).scope_unit_id = unit_id


def _rule(live, course_key: str, unit_code: str, due_days: int) -> None:
    from mooc.courses.models import Course
    from mooc.roster.models import OrgUnit
    from mooc.training import assign
    from mooc.training.models import AssignmentRule

    with live.db() as session:
        course = session.scalar(sa.select(Course).where(Course.key == course_key))
        rule = AssignmentRule(course_id=course.id, due_days=due_days, note="e2e")
        rule.units = [session.scalar(sa.select(OrgUnit).where(OrgUnit.code == unit_code))]
        session.add(rule)
        session.flush()
        assign.apply_rules(course_ids={course.id})


def _mails_to(live, address: str) -> list[email.message.EmailMessage]:
    found = []
    for path in sorted((live.instance_dir / "outbox").glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if message["To"] and address in message["To"]:
            found.append(message)
    return found


def _invitation_link(live, address: str) -> str:
    for message in _mails_to(live, address):
        body = message.get_body(("plain",)).get_content()
        found = re.search(r"https?://\S+/invite/\S+", body)
        if found:
            return found.group(0)
    raise AssertionError(f"no invitation to {address} in the outbox")


# --- (a) a training officer: import, invite in bulk, assign by a rule ------------------------------


@VIEWPORTS
def test_officer_imports_invites_and_assigns(browsing, live, make_trainee, tmp_path, viewport) -> None:
    from mooc.auth.models import Role

    tag = _tag(viewport)
    province = "Thanh tra tỉnh Lạng Sơn" if tag == "D" else "Thanh tra tỉnh Cao Bằng"
    code = f"E2E-OF-{tag}"
    unit_id = _unit(live, code, province)
    name = "Hoàng Thị Duyên" if tag == "D" else "Nông Thị Duyên"
    officer = make_trainee(name, code, "CV", role=Role.OFFICER)
    _scope(live, officer.user_id, unit_id)
    n = 7100 if tag == "D" else 7200
    new = [  # code, name, e-mail (the last one has none: no invitation possible)
        (f"{n + 1:06d}", "Lương Văn Hải", f"hai.lv.{tag.lower()}@example.vn"),
        (f"{n + 2:06d}", "Bế Thị Hoa", f"hoa.bt.{tag.lower()}@example.vn"),
        (f"{n + 3:06d}", "Triệu Văn Lâm", ""),
    ]
    rows = ["Mã cán bộ;Họ và tên;Email;Đơn vị;Chức vụ;Trạng thái"]
    rows += [f"{c};{name};{mail};{code};Thanh tra viên;Đang công tác" for c, name, mail in new]
    roster_file = tmp_path / f"danh-sach-{code.lower()}.csv"
    roster_file.write_text("\r\n".join(rows) + "\r\n", encoding="utf-8-sig")

    page = browsing.new_page(viewport)
    sign_in(page, officer.email, officer.password)
    axe_clean(page)

    # The import: upload, read the plan, apply.
    menu(page, "Nhập dữ liệu")
    axe_clean(page)
    roster = RosterImport(page)
    page.get_by_label(re.compile("^Tệp danh sách cán bộ")).set_input_files(roster_file)
    page.get_by_role("button", name="Kiểm tra tệp").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Kiểm tra trước khi nhập")
    expect(roster.count("Thêm mới")).to_have_text("Thêm mới: 3")
    axe_clean(page)
    roster.apply()
    expect(page.locator(".flash-success")).to_contain_text("Đã nhập: thêm 3")
    axe_clean(page)

    # On the import's page: invite the new people who have an e-mail, in one go.
    page.get_by_role("button", name="Mời 2 người mới có e-mail").click()
    expect(page.locator(".flash-success")).to_contain_text("Đã gửi lời mời: 2.")
    for _code, _name, address in new[:2]:
        assert _invitation_link(live, address)
    expect(page.get_by_role("button", name=re.compile("^Mời .* người mới"))).to_have_count(0)
    axe_clean(page)

    # A rule: everyone of the province takes the writing course within 30 days; preview first.
    rule = RuleForm(page).open()
    axe_clean(page)
    rule.fill("Soạn thảo văn bản trong hoạt động thanh tra (VBTT-2026)", province, days=30,
              note=f"Cán bộ của {province}")
    preview = rule.preview()
    expect(preview).to_contain_text("4 người thuộc phạm vi; 4 người sẽ được giao ngay")
    for _code, name, _address in new:
        expect(preview.get_by_role("listitem").filter(has_text=name)).to_contain_text(province)
    axe_clean(page)
    rule.save()
    expect(page.locator(".flash-success")).to_have_text("Đã lưu quy tắc: giao khóa học cho 4 người.")
    axe_clean(page)


# --- (b) a new inspector: the invitation, a password, a course with its quiz -----------------------


def _invited(live, full_name: str, address: str, code: str) -> None:
    """A person HR added (no account yet), in Phòng Nghiệp vụ 2 of Hà Nội, invited by the
    administrator: the course "Tiếp công dân" is required there."""
    from mooc.auth.models import User
    from mooc.roster import accounts
    from mooc.roster.models import OrgUnit, Position, Staff
    from mooc.text import split_full_name
    from mooc.training import assign

    family, middle, given = split_full_name(full_name)
    with live.db() as session:
        staff = Staff(staff_code=code,
                      full_name=full_name, family_name=family, middle_name=middle, given_name=given,
                      email=address,
                      unit=session.scalar(sa.select(OrgUnit).where(OrgUnit.code == "HN-P2")),
                      position=session.scalar(sa.select(Position).where(Position.code == "TTV")))
        session.add(staff)
        session.flush()
        assign.apply_rules(staff_ids={staff.id})
        admin = session.scalar(sa.select(User).where(User.email == "quantri@example.vn"))
        report = accounts.invite_many([staff], admin, origin="e2e")
        assert report.invited == 1, report


@VIEWPORTS
def test_new_inspector_accepts_the_invitation_and_completes_a_course(browsing, live, viewport) -> None:
    tag = _tag(viewport).lower()
    name = "Vi Thị Nhung" if tag == "d" else "Sầm Văn Thắng"
    address = f"thanh-tra-vien-moi.{tag}@example.vn"
    _invited(live, name, address, f"E2EIN{tag.upper()}01")
    password = "Thanh tra Ha Noi 2026"

    # Opens the invitation mail's link, chooses a password, signs in.
    page = browsing.new_page(viewport)
    go(page, _invitation_link(live, address))
    expect(page.get_by_role("heading", level=1)).to_have_text("Chào mừng")
    axe_clean(page)
    page.get_by_label("Mật khẩu mới", exact=True).fill(password)
    page.get_by_label("Nhập lại mật khẩu mới").fill(password)
    page.get_by_role("button", name="Đặt mật khẩu").click()
    expect(page.locator(".flash-success")).to_have_text(
        "Đã đặt mật khẩu. Hãy đăng nhập bằng e-mail và mật khẩu mới.")
    axe_clean(page)
    sign_in(page, address, password)

    # The required course waits on the home page; they start it.
    home = HomePage(page)
    card = home.card("Khóa học bắt buộc", COURSE)
    expect(card.locator(".badge")).to_have_text("Chưa bắt đầu")
    axe_clean(page)
    card.get_by_role("link", name=re.compile("^Bắt đầu")).click()

    # Reads every lesson to the end; the last one leads to the quiz.
    lesson = LessonPage(page)
    for _ in range(3):
        expect(page).to_have_url(re.compile(r"/lessons/"))
        axe_clean(page)
        lesson.read_to_the_end()
        lesson.mark_done()
    expect(page).to_have_url(re.compile(r"/quizzes/tiep-cong-dan/kiem-tra$"))
    axe_clean(page)

    # The quiz: all but the last question answered, "Nộp bài" says one is left; back, answer it.
    key = QuizKey.load(live, COURSE_KEY, QUIZ_KEY)
    attempt = QuizPage(page).start()
    axe_clean(page)
    questions = attempt.questions()
    last_key = questions[-1][0]
    attempt.answer_all(key, right=True, skip=(last_key,))
    dialog = attempt.ask_to_submit()
    expect(dialog).to_contain_text(f"Còn 1/{len(questions)} câu chưa trả lời.")
    expect(dialog.get_by_role("link", name=f"Câu {len(questions)}", exact=True)).to_be_visible()
    axe_clean(page)
    dialog.get_by_role("button", name="Quay lại làm tiếp").click()
    expect(dialog).to_be_hidden()
    attempt.answer_all(key, right=True, skip=tuple(k for k, _ in questions[:-1]))
    dialog = attempt.ask_to_submit()
    expect(dialog).to_contain_text(f"Đã trả lời đủ {len(questions)} câu.")
    axe_clean(page)
    dialog.get_by_role("button", name="Nộp bài").click()

    # Passed: the course is complete, with its certificate.
    expect(page.locator(".result-card")).to_contain_text("Đạt")
    complete = page.locator(".course-complete")
    expect(complete).to_contain_text(f"Bạn đã hoàn thành khóa học “{COURSE}”.")
    expect(complete.get_by_role("link", name="Tải chứng nhận (PDF)")).to_be_visible()
    axe_clean(page)
    HomePage(page).open()
    expect(home.card("Đã hoàn thành", COURSE).locator(".badge")).to_have_text("Đã hoàn thành")
    axe_clean(page)


# --- (c) a unit manager: the team, a reminder, a later due date, one more attempt ------------------


def _staff_without_account(live, full_name: str, unit_code: str, code: str) -> int:
    from mooc.roster.models import OrgUnit, Position, Staff
    from mooc.text import split_full_name
    from mooc.training import assign

    family, middle, given = split_full_name(full_name)
    with live.db() as session:
        staff = Staff(staff_code=code, full_name=full_name, family_name=family, middle_name=middle,
                      given_name=given, email=f"{code.lower()}@example.vn",
                      unit=session.scalar(sa.select(OrgUnit).where(OrgUnit.code == unit_code)),
                      position=session.scalar(sa.select(Position).where(Position.code == "CV")))
        session.add(staff)
        session.flush()
        assign.apply_rules(staff_ids={staff.id})
        return staff.id


def _overdue(live, staff_id: int) -> None:
    from mooc import clock
    from mooc.training.models import Enrolment

    with live.db() as session:
        session.execute(sa.update(Enrolment).where(Enrolment.staff_id == staff_id)
                        .values(assigned_on=clock.today() - timedelta(days=70),
                                due_on=clock.today() - timedelta(days=10)))


def _out_of_attempts(live, user_id: int) -> None:
    from mooc import clock
    from mooc.courses.models import Course, Quiz
    from mooc.quizzes.models import AttemptStatus, QuizAttempt

    with live.db() as session:
        quiz = session.scalar(sa.select(Quiz).join(Course, Course.id == Quiz.course_id).where(
            Course.key == COURSE_KEY, Quiz.key == QUIZ_KEY))
        for number in (1, 2, 3):
            session.add(QuizAttempt(user_id=user_id, quiz_id=quiz.id, number=number,
                                    status=AttemptStatus.SUBMITTED, submitted_at=clock.now(),
                                    score=0, max_score=10, percent=0.0, passed=False))


@VIEWPORTS
def test_manager_reviews_the_team_reminds_extends_and_grants(browsing, live, make_trainee, viewport) -> None:
    from mooc.auth.models import Role

    tag = _tag(viewport)
    province = "Thanh tra tỉnh Thái Bình" if tag == "D" else "Thanh tra tỉnh Nam Định"
    root = f"E2E-MG-{tag}"
    root_id = _unit(live, root, province)
    _unit(live, f"{root}-1", "Phòng Thanh tra 1", root)
    _unit(live, f"{root}-2", "Phòng Thanh tra 2", root)
    _rule(live, COURSE_KEY, root, due_days=60)
    manager = make_trainee("Đặng Văn Quý" if tag == "D" else "Đặng Văn Quyết", root, "CV", role=Role.MANAGER)
    _scope(live, manager.user_id, root_id)
    reminded = make_trainee("Tạ Thị Oanh" if tag == "D" else "Tạ Thị Oanh Kiều", f"{root}-1", "CV")
    late = make_trainee("Ninh Văn Phúc" if tag == "D" else "Ninh Văn Phúc Hậu", f"{root}-1", "CV")
    _overdue(live, late.staff_id)
    stuck = make_trainee("Lã Thị Sen" if tag == "D" else "Lã Thị Sen Hồng", f"{root}-2", "CV")
    _out_of_attempts(live, stuck.user_id)
    _staff_without_account(live, "Cù Văn Tín", f"{root}-2", f"E2EMG{tag}05")

    page = browsing.new_page(viewport)
    sign_in(page, manager.email, manager.password)

    # The team at a glance: 5 people, all behind (the course is new), 1 overdue, 1 cannot sign in.
    team = page.locator("section.team")
    expect(team.get_by_role("heading", level=1)).to_have_text(f"Đơn vị của tôi: {province}")
    expect(team.locator(".lead")).to_have_text(
        "5 người; 5 người chưa hoàn thành; 1 người quá hạn; 1 người không đăng nhập được.")
    axe_clean(page)

    # One click to the people behind in Phòng Thanh tra 1; tick one of them and remind her.
    section_row = team.locator("tr").filter(has_text="Phòng Thanh tra 1")
    section_row.locator("td").nth(1).get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Khóa học chưa hoàn thành")
    axe_clean(page)
    page.get_by_role("checkbox", name=re.compile(re.escape(reminded.full_name) + ",")).check()
    page.get_by_role("button", name="Gửi lời nhắc cho những người đã chọn").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Kết quả gửi lời nhắc")
    sent = page.get_by_role("region", name=re.compile("^Đã nhắc qua thư điện tử"))
    expect(sent.get_by_role("link", name=reminded.full_name)).to_be_visible()
    assert _mails_to(live, reminded.email), "no reminder in the outbox"
    assert not _mails_to(live, late.email), "only the person ticked is reminded"
    axe_clean(page)

    # The overdue person's training record: a later due date, with the reason.
    go(page, f"/training/people/{late.staff_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hồ sơ đào tạo")
    axe_clean(page)
    row = page.get_by_role("row").filter(has_text=COURSE)
    expect(row.locator(".badge")).to_have_text("Quá hạn")
    row.locator("details.row-action summary").filter(has_text="Gia hạn").click()
    from mooc import clock

    new_due = clock.today() + timedelta(days=30)
    row.get_by_label("Hạn mới").fill(f"{new_due:%d/%m/%Y}")
    row.get_by_label("Lý do").fill("Đi công tác dài ngày")
    row.get_by_role("button", name="Gia hạn").click()
    expect(page.locator(".flash-success")).to_contain_text(f"sang {new_due:%d/%m/%Y}")
    expect(page.get_by_role("row").filter(has_text=COURSE).locator(".badge")).not_to_have_text("Quá hạn")
    axe_clean(page)

    # The person out of attempts: one more, from her record.
    go(page, f"/training/people/{stuck.staff_id}")
    row = page.get_by_role("row").filter(has_text=COURSE)
    expect(row).to_contain_text("Đã hết lượt làm bài")
    axe_clean(page)
    row.get_by_role("button", name="Cho làm thêm một lần").click()
    expect(page.locator(".flash-success")).to_contain_text(f"{stuck.full_name} được làm thêm một lần")
    expect(page.get_by_role("button", name="Cho làm thêm một lần")).to_have_count(0)
    axe_clean(page)
