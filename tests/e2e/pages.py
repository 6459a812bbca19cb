"""Page objects: what a person does on each page, in the words the page shows them (Vietnamese,
the default language). Selectors are roles, labels and visible text wherever the page offers
them, so a test breaks when a person could no longer find the thing either.

Quiz answers: the key is never in the page. ``QuizKey`` reads it on the server side (the Quiz
row's questions, as synced), and the tests choose answers *by the text a person reads*, as
someone who studied (or did not) would.
"""

from __future__ import annotations

import re
import time
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyotp
import sqlalchemy as sa
from playwright.sync_api import Locator, Page, expect

CHOICE_TYPES = ("single", "multiple", "true_false")


def go(page: Page, path: str) -> Any:
    """Open a path as a person typing the address: the final answer must be 2xx."""
    response = page.goto(path)
    assert response is not None, f"no response for {path}"
    assert response.ok, f"{path} answered {response.status}"
    return response


# The authenticator "app" of the e2e people: the key each set up (by e-mail) and the last time
# step whose code it typed (a code works once: a second sign-in in the same 30 s types the next).
AUTHENTICATOR: dict[str, str] = {}
LAST_STEP: dict[str, int] = {}


def authenticator_code(email: str) -> str:
    """The code the person's phone shows, never one already used."""
    totp = pyotp.TOTP(AUTHENTICATOR[email])
    step = max(totp.timecode(datetime.now(UTC)), LAST_STEP.get(email, -1) + 1)
    while step > totp.timecode(datetime.now(UTC)) + 1:  # pragma: no cover - 3 sign-ins in 30 s
        time.sleep(1)
    LAST_STEP[email] = step
    return totp.generate_otp(step)


def sign_in(page: Page, email: str, password: str) -> None:
    """Through the form: the one on screen if the site already asked (keeping its ?next=). When
    the site asks for the second factor's code, the person types it from their app; when their
    role needs one they have not set up, they set it up as the page says (the key shown beside
    the QR code goes into the app)."""
    if "/login" not in page.url:
        go(page, "/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Mật khẩu", exact=True).fill(password)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page).not_to_have_url(re.compile(r"/login(\?|$)"))  # on to the code, the setup or the page
    if "/login/code" in page.url:
        expect(page.get_by_role("heading", level=1)).to_have_text("Mã đăng nhập")
        page.get_by_label("Mã", exact=True).fill(authenticator_code(email))
        page.get_by_role("button", name="Đăng nhập").click()
    elif "/account/two-factor" in page.url:
        set_up_authenticator(page, email)
    expect(page).not_to_have_url(re.compile(r"/login"))
    # Attached, not visible: on a phone it sits behind the header's menu button.
    expect(page.get_by_role("button", name="Đăng xuất", include_hidden=True)).to_be_attached()


def set_up_authenticator(page: Page, email: str) -> list[str]:
    """The setup page: the button, the key into the "app", its first code; the recovery codes
    shown once (returned), then on to where the person was going."""
    page.get_by_role("button", name="Thiết lập xác thực hai lớp").click()
    expect(page.locator(".qr-code svg")).to_be_visible()
    AUTHENTICATOR[email] = page.locator("code.secret-key").inner_text().replace(" ", "")
    page.get_by_label("Mã", exact=True).fill(authenticator_code(email))
    page.get_by_role("button", name="Bật").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mã khôi phục")
    codes = [text_of(code) for code in page.locator(".recovery-codes code").all_inner_texts()]
    assert len(codes) == 10
    page.get_by_role("link", name="Tôi đã lưu các mã: tiếp tục").click()
    return codes


def text_of(value: str) -> str:
    """Text as compared by the tests: NFC, spaces collapsed."""
    return " ".join(unicodedata.normalize("NFC", value).split())


# --- trainee --------------------------------------------------------------------------------


class HomePage:
    def __init__(self, page: Page) -> None:
        self.page = page

    def open(self) -> HomePage:
        go(self.page, "/")
        expect(self.page.get_by_role("heading", level=1)).to_have_text("Khóa học của tôi")
        return self

    def section(self, heading: str) -> Locator:
        title = self.page.get_by_role("heading", name=heading, level=2)
        return self.page.locator("section").filter(has=title)

    def card(self, heading: str, course_title: str) -> Locator:
        return self.section(heading).locator("li.card").filter(
            has=self.page.get_by_role("heading", name=course_title, level=3))


class LessonPage:
    def __init__(self, page: Page) -> None:
        self.page = page

    @property
    def title(self) -> str:
        return text_of(self.page.get_by_role("heading", level=1).inner_text())

    def read_to_the_end(self) -> None:
        """Scroll through the text as a reader does, down to the button at the end."""
        self.page.locator(".lesson-footer").scroll_into_view_if_needed()

    def mark_done(self) -> None:
        self.page.get_by_role("button", name="Đánh dấu đã học xong và học tiếp").click()
        self.page.wait_for_load_state()


@dataclass
class QuizKey:
    """The answer key of a quiz, by question key, read from the database (never from the page)."""

    questions: dict[str, dict[str, Any]]
    pass_percent: int
    draw: int | None = None  # questions per attempt, when drawn from a larger pool

    @classmethod
    def load(cls, live: Any, course_key: str, quiz_key: str) -> QuizKey:
        from mooc.courses.models import Course, Quiz

        with live.db() as session:
            quiz = session.scalar(sa.select(Quiz).join(Course, Course.id == Quiz.course_id).where(
                Course.key == course_key, Quiz.key == quiz_key))
            assert quiz is not None, f"no quiz {course_key}/{quiz_key}"
            return cls({q["key"]: q for q in quiz.questions}, quiz.settings.get("pass_percent", 80),
                       quiz.settings.get("draw"))

    @property
    def shown(self) -> int:
        """How many questions an attempt shows."""
        return min(self.draw or len(self.questions), len(self.questions))

    def choice(self, question_key: str, label: str) -> dict[str, Any]:
        """The choice of a question whose text is what the label shows."""
        question = self.questions[question_key]
        for choice in question["choices"]:
            if text_of(choice["text_md"]) == text_of(label):
                return choice
        raise AssertionError(f"question {question_key}: no choice reads {label!r}")

    def right_text(self, question_key: str) -> str:
        """What to type for a short or numeric answer to be right."""
        question = self.questions[question_key]
        if question["answers"]:
            return question["answers"][0]
        numeric = question["numeric"][0]
        return numeric.get("value") or numeric["low"]


class QuizPage:
    def __init__(self, page: Page) -> None:
        self.page = page

    def start(self) -> AttemptPage:
        self.page.get_by_role("button", name=re.compile(r"^(Bắt đầu làm bài|Làm lại)$")).click()
        expect(self.page.locator("#attempt-form")).to_be_visible()
        return AttemptPage(self.page)


class AttemptPage:
    def __init__(self, page: Page) -> None:
        self.page = page

    def questions(self) -> list[tuple[str, Locator]]:
        """(question key, its fieldset) in the order shown; the key is the inputs' name."""
        found = []
        for fieldset in self.page.locator("#attempt-form fieldset").all():
            name = fieldset.locator("input[name^='q-']:not([type=hidden])").first.get_attribute("name")
            found.append((name.removeprefix("q-"), fieldset))
        return found

    def answer_all(self, key: QuizKey, right: bool, skip: tuple[str, ...] = ()) -> None:
        """Answer every question (but those of ``skip``) right (as someone who studied) or wrong
        (as someone who did not)."""
        for question_key, fieldset in self.questions():
            if question_key in skip:
                continue
            question = key.questions[question_key]
            if question["type"] in CHOICE_TYPES:
                items = fieldset.locator("ul.choices li").all()
                picked = [item for item in items
                          if key.choice(question_key, item.locator("label").inner_text())["correct"] == right]
                if question["type"] != "multiple":
                    picked = picked[:1]
                for item in picked:
                    item.locator("input").check()
            else:
                fieldset.get_by_label("Câu trả lời của bạn").fill(
                    key.right_text(question_key) if right else "không nhớ")

    def ask_to_submit(self) -> Locator:
        """Press "Nộp bài": the summary dialog opens (nothing is sent yet)."""
        self.page.locator("#submit-attempt").click()
        dialog = self.page.locator("#submit-dialog")
        expect(dialog).to_be_visible()
        return dialog

    def submit(self) -> ResultPage:
        """Press "Nộp bài" and confirm in the summary."""
        self.ask_to_submit().get_by_role("button", name="Nộp bài").click()
        expect(self.page.locator(".result-card")).to_be_visible()
        return ResultPage(self.page)


class ResultPage:
    def __init__(self, page: Page) -> None:
        self.page = page

    @property
    def card(self) -> Locator:
        return self.page.locator(".result-card")

    def try_again(self) -> AttemptPage:
        self.page.get_by_role("button", name="Làm lại").click()
        expect(self.page.locator("#attempt-form")).to_be_visible()
        return AttemptPage(self.page)


# --- administrators and managers --------------------------------------------------------------


def menu(page: Page, name: str) -> None:
    """Follow a link of the main menu in the header (opened first on a phone)."""
    # Whether the toggle shows is the stylesheet's decision (phones only): read it once the page
    # has loaded. Asked earlier, a page still loading shows it unstyled, then hides it, and the
    # click waits for a button that never comes back.
    page.wait_for_load_state("load")
    toggle = page.get_by_role("button", name="Danh mục")
    if toggle.is_visible() and toggle.get_attribute("aria-expanded") != "true":
        toggle.click()
    follow(page, page.get_by_role("navigation", name="Menu chính").get_by_role("link", name=name, exact=True))


def follow(page: Page, link: Locator) -> None:
    """Click a link and return once the page it leads to has loaded.

    A test that reads the page at once (``all_inner_texts``, ``.all()``: snapshots, which do not
    wait) would otherwise read the old page, or a new one still empty: CI once saw a report's rows
    as ``[]`` right after a click on a unit.
    """
    with page.expect_navigation():
        link.click()


def table_after(page: Page, heading: str) -> list[list[str]]:
    """The body cells of the table that follows the heading (h2 or h3) starting with ``heading``."""
    title = page.locator("h2, h3").filter(has_text=re.compile("^" + re.escape(heading)))
    table = title.locator("xpath=following-sibling::div[contains(@class, 'table-scroll')][1]//table")
    return [[text_of(cell) for cell in row.locator("td").all_inner_texts()]
            for row in table.locator("tbody tr").all()]


class RosterImport:
    """Import the roster: upload, then the check (errors, or the plan), then apply."""

    def __init__(self, page: Page) -> None:
        self.page = page

    def upload(self, path: Any) -> RosterImport:
        menu(self.page, "Nhập dữ liệu")
        self.page.get_by_label(re.compile("^Tệp danh sách cán bộ")).set_input_files(path)
        self.page.get_by_role("button", name="Kiểm tra tệp").click()
        expect(self.page.get_by_role("heading", level=1)).to_have_text("Kiểm tra trước khi nhập")
        return self

    def errors(self) -> list[list[str]]:
        """(row, column, problem) of every error."""
        return table_after(self.page, "Số lỗi")

    def count(self, kind: str) -> Locator:
        return self.page.locator("ul.counts li").filter(has_text=re.compile("^" + re.escape(kind) + ":"))

    def changes(self, kind: str) -> list[list[str]]:
        """(row, staff code, name, what changes) of one kind of change: "Thêm mới", "Thay đổi"..."""
        return table_after(self.page, kind + " (")

    def apply(self) -> None:
        self.page.get_by_role("button", name="Áp dụng").click()


class RuleForm:
    """A new assignment rule: the form, its preview, then saving it."""

    def __init__(self, page: Page) -> None:
        self.page = page

    def open(self) -> RuleForm:
        menu(self.page, "Quy tắc")
        self.page.get_by_role("link", name="Thêm quy tắc").click()
        return self

    def fill(self, course: str, unit: str, days: int, note: str = "") -> None:
        self.page.get_by_label("Khóa học", exact=True).select_option(label=course)
        self.page.get_by_label("Đơn vị (gồm cả các đơn vị trực thuộc)").select_option(label=unit)
        self.page.get_by_label("một số ngày sau khi được giao").check()
        self.page.get_by_label("Số ngày để hoàn thành").fill(str(days))
        self.page.get_by_label("Ghi chú", exact=True).fill(note)

    def preview(self) -> Locator:
        self.page.get_by_role("button", name="Xem trước kết quả").click()
        return self.page.get_by_role("region", name="Kết quả của quy tắc")

    def save(self) -> None:
        self.page.get_by_role("button", name="Lưu quy tắc và giao khóa học").click()


class Roster:
    def __init__(self, page: Page) -> None:
        self.page = page

    def open_person(self, typed: str, name: str) -> None:
        """Search the roster as typed (accents optional), open the person named ``name``."""
        menu(self.page, "Danh sách cán bộ")
        self.page.get_by_label("Tìm theo tên, mã cán bộ hoặc e-mail").fill(typed)
        self.page.get_by_role("button", name="Xem", exact=True).click()
        self.page.get_by_role("link", name=name, exact=True).click()
        expect(self.page.get_by_role("heading", level=1)).to_have_text(name)

    def invite(self) -> None:
        self.page.get_by_role("button", name="Gửi lời mời").click()
        expect(self.page.locator(".flash-success")).to_contain_text("Đã gửi lời mời đến")


class Report:
    """The report pages: the table by unit, the list of people, their export."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.table = page.locator("table.report")

    def row_headers(self) -> list[str]:
        expect(self.table).to_be_visible()
        return [text_of(t) for t in self.table.locator("tbody th[scope=row]").all_inner_texts()]

    def drill(self, unit: str) -> None:
        follow(self.page, self.table.get_by_role("link", name=unit, exact=True))

    def people(self) -> list[tuple[str, str, str]]:
        """(name, course, status) of each row of the list of people."""
        rows = []
        expect(self.table).to_be_visible()
        for row in self.table.locator("tbody tr").all():
            cells = [text_of(c) for c in row.locator("td:not(.pick)").all_inner_texts()]
            rows.append((text_of(row.locator("th a").inner_text()), cells[1], cells[2]))
        return rows

    def export(self, kind: str, folder: Any) -> Any:
        """Click the export link; the file as saved by the browser."""
        with self.page.expect_download() as download_info:
            self.page.get_by_role("link", name=kind, exact=True).click()
        download = download_info.value
        path = folder / download.suggested_filename
        download.save_as(path)
        return path
