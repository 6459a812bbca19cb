"""What a new author on a Vietnamese Windows machine with Word habits gets wrong, and what
the check and the sync must do about it: say so with file:line, never drop what was written
silently, never cost a trainee their progress. Each test failed on the code before its fix."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from mooc import clock
from mooc.courses import editions
from mooc.courses.models import Course, Lesson
from mooc.courses.progress import mark_done
from mooc.courses.sync import sync_tree
from mooc.extensions import db
from mooc.training.completion import course_progress
from tests.courses.tree import LAW_2025, lesson, make_tree, write

T0 = datetime(2026, 3, 2, 8, tzinfo=UTC)
FIXTURES_GIFT = Path(__file__).resolve().parents[1] / "formats/gift"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "courses")


def sync(app, root: Path, at: datetime | None = None):
    if at is not None:
        clock.set_now(at)
    with app.app_context():
        report = sync_tree(root)
        db.session.commit()
        return report


def windows_save(path: Path, text: str) -> None:
    """What Notepad and Word on Windows write: a BOM, CRLF line ends (and macOS: NFD)."""
    path.write_bytes(b"\xef\xbb\xbf" + unicodedata.normalize("NFD", text).replace("\n", "\r\n").encode())


def _reads(app, user, key: str) -> None:
    """``user`` marks the lesson ``key`` done."""
    with app.app_context():
        lesson_id = db.session.scalar(sa.select(Lesson.id).where(Lesson.key == key))
        mark_done(user.id, lesson_id, course_id=1)
        db.session.commit()


# --- a reading stays current unless the words change --------------------------------------------


def _read_in_refresher(app, user_id: int, key: str) -> int:
    """How many of {this lesson} the person has read since it last changed (a refresher's count)."""
    with app.app_context():
        course = db.session.scalar(sa.select(Course))
        lesson_id = db.session.scalar(sa.select(Lesson.id).where(Lesson.key == key))
        return course_progress(user_id, course, only=frozenset({lesson_id})).lessons_done


def test_renumbering_or_resaving_a_lesson_keeps_a_refresher_reading(app, tree, make_user):
    sync(app, tree, T0)
    user = make_user()
    clock.set_now(T0 + timedelta(hours=1))
    _reads(app, user, "co-ban/nguyen-tac")
    old = tree / "luat/01-co-ban/02-nguyen-tac.md"
    text = old.read_text(encoding="utf-8").replace("minutes: 5", "minutes: 7")
    old.unlink()  # renumbered (the guide: "renumber freely"), saved from Windows, new reading time
    windows_save(tree / "luat/01-co-ban/05-nguyen-tac.md", text.replace("Tuân theo pháp luật.",
                                                                       "Tuân theo\npháp luật."))
    write(tree, "luat/01-co-ban/01-khai-niem.md", (tree / "luat/01-co-ban/01-khai-niem.md")
          .read_text(encoding="utf-8").replace("02-nguyen-tac.md", "05-nguyen-tac.md"))
    report = sync(app, tree, T0 + timedelta(hours=2))
    assert "lesson luat/co-ban/nguyen-tac" in report.changed  # its row changed (position, minutes)...
    assert _read_in_refresher(app, user.id, "co-ban/nguyen-tac") == 1  # ...but not what it says
    write(tree, "luat/01-co-ban/05-nguyen-tac.md", text.replace("Khách quan.", "Khách quan, trung thực."))
    sync(app, tree, T0 + timedelta(hours=3))
    assert _read_in_refresher(app, user.id, "co-ban/nguyen-tac") == 0  # a word changed: read it again


def test_rewrapping_a_paragraph_is_not_a_change_of_edition(app, tree):
    write(tree, "luat/01-co-ban/02-nguyen-tac.md",
          lesson("Nguyên tắc", "## Mục 1\n\nTuân theo pháp luật, khách quan,\ntrung thực.\n\n## Mục 2\n\nB."))
    sync(app, tree, T0)
    with app.app_context():
        first = db.session.scalar(sa.select(Course.content_hash))
    write(tree, "luat/01-co-ban/02-nguyen-tac.md",
          lesson("Nguyên tắc", "## Mục 1\n\nTuân theo pháp luật,\nkhách quan, trung thực.\n\n## Mục 2\n\nB."))
    sync(app, tree, T0 + timedelta(hours=1))
    with app.app_context():
        course = db.session.scalar(sa.select(Course))
        assert course.content_hash != first  # a new edition is recorded...
        assert not editions.changes_since(course, first).changed  # ...in which no lesson changed


# --- a renamed course folder archives the course: say so before the sync does it ---------------


def _check_command(app, root: Path):
    return app.test_cli_runner().invoke(args=["courses", "check", str(root)])


def test_renaming_a_course_folder_warns_that_its_progress_would_be_archived(app, tree, make_user):
    sync(app, tree)
    _reads(app, make_user(), "co-ban/nguyen-tac")
    (tree / "luat").rename(tree / "luat-2026")  # "a new edition": the folder gets the year
    output = _check_command(app, tree).output
    assert "luat-2026/course.md:1: warning:" in output and "[progress-archived]" in output
    assert "'luat'" in output and "1 " in output and "id: luat" in output  # what keeps it
    synced = app.test_cli_runner().invoke(args=["courses", "sync", str(tree)])
    assert "lưu trữ khóa học / archived course: luat" in synced.output and "id: luat" in synced.output
    write(tree, "luat-2026/course.md", (tree / "luat-2026/course.md").read_text(encoding="utf-8")
          .replace("language: vi\n", "language: vi\nid: luat\n"))
    output = _check_command(app, tree).output
    assert "[progress-archived]" not in output  # the id keeps it; the next sync restores it


def test_no_archive_warning_for_a_file_that_is_still_there_but_has_an_error(app, tree, make_user):
    sync(app, tree)
    _reads(app, make_user(), "co-ban/nguyen-tac")
    windows_save(tree / "luat/01-co-ban/02-nguyen-tac.md", "---\ntitle: X\nminuts: 5\n---\n\nA.\n")
    output = _check_command(app, tree).output
    assert "02-nguyen-tac.md:3: error:" in output and "[unknown-key]" in output
    assert "[progress-archived]" not in output  # the file holds the lesson still: its error is the news


def test_a_lesson_moved_to_another_module_is_named_in_the_warning(app, tree, make_user):
    sync(app, tree)
    _reads(app, make_user(), "co-ban/nguyen-tac")
    (tree / "luat/01-co-ban/02-nguyen-tac.md").rename(tree / "luat/02-nang-cao/05-nguyen-tac.md")
    link = tree / "luat/01-co-ban/01-khai-niem.md"
    text = link.read_text(encoding="utf-8")
    link.write_text(text.replace("02-nguyen-tac.md", "../02-nang-cao/05-nguyen-tac.md"), encoding="utf-8")
    output = _check_command(app, tree).output
    assert "courses/luat/01-co-ban/02-nguyen-tac.md:1: warning:" in output
    assert "courses/luat/02-nang-cao/05-nguyen-tac.md có cùng tên" in output and "has the same name" in output
    assert "'previously: co-ban/nguyen-tac'" in output


# --- every course file is read by the same rules: encodings and YAML ----------------------------


def _check(app, root: Path) -> str:
    return _check_command(app, root).output


@pytest.mark.parametrize(("relative", "line"), [
    ("luat/01-co-ban/02-nguyen-tac.md", 3),
    ("luat/01-co-ban/module.md", 3),
    ("luat/course.md", 3),
    ("_chuong-trinh/lo-trinh.md", 3),
])
def test_a_key_written_twice_is_an_error_not_a_silent_last_wins(app, tree, relative, line):
    write(tree, "_chuong-trinh/lo-trinh.md",
          "---\ntitle: Lộ trình\ncode: LT\nsummary: S\n---\n\n## Các bước\n\n1. luat\n")
    path = tree / relative
    lines = path.read_text(encoding="utf-8").split("\n")
    lines.insert(2, 'title: "Bản nháp"')  # Word habit: a second title pasted below the first
    path.write_text("\n".join(lines), encoding="utf-8")
    output = _check(app, tree)
    assert f"courses/{relative}:{line}: error: khóa 'title' được viết hai lần (dòng 2 và 3)" in output
    assert "the key 'title' is written twice" in output and "[front-matter-yaml]" in output


def test_a_document_written_twice_in_a_registry_entry_is_an_error(app, tree):
    write(tree, "_phap-ly.yaml", "documents:\n  - number: 84/2025/QH15\n    kind: Luật\n"
          "    title: Luật Thanh tra\n    title: Luật Thanh tra 2025\n    issuer: Quốc hội\n"
          "    signed: 25/06/2025\n    in_force: 01/07/2025\n    source: https://example.vn/84\n")
    output = _check(app, tree)
    assert "courses/_phap-ly.yaml:5: error: khóa 'title' được viết hai lần (dòng 4 và 5)" in output


@pytest.mark.parametrize(("raw", "line", "said"), [
    ("---\ntitle: Nguyên tắc\n".encode("utf-16"), 1, "UTF-16"),  # Notepad's "Unicode"
    (b"---\ntitle: Nguy\xean t\xe1c\nminutes: 5\n---\n\nA.\n", 2, "Windows-1258"),  # a legacy code page
    (b"PK\x03\x04\x14\x00\x06\x00", 1, "Word (.docx)"),  # "Save As" kept Word's format
    (b"{\\rtf1\\ansi\\deff0 ---}", 1, "RTF (WordPad, Word)"),  # WordPad's default
])
def test_a_file_that_is_not_utf8_says_what_it_is_and_how_to_save_it(app, tree, raw, line, said):
    (tree / "luat/01-co-ban/02-nguyen-tac.md").write_bytes(raw)
    output = _check(app, tree)
    assert f"courses/luat/01-co-ban/02-nguyen-tac.md:{line}: error:" in output and "[encoding]" in output
    assert said in output and "UTF-8" in output


def test_a_programme_and_the_registry_say_the_same_about_their_encoding(app, tree):
    write(tree, "_phap-ly.yaml", "documents: []\n")
    (tree / "_phap-ly.yaml").write_bytes("documents: []\n".encode("utf-16"))
    (tree / "_chuong-trinh").mkdir()
    (tree / "_chuong-trinh/lo-trinh.md").write_bytes(b"---\ntitle: L\xf4 tr\xecnh\n---\n")
    output = _check(app, tree)
    assert "courses/_phap-ly.yaml:1: error: tệp được lưu dạng UTF-16" in output
    assert "courses/_chuong-trinh/lo-trinh.md:2: error: dòng 2 không phải UTF-8" in output


def test_a_non_breaking_space_from_word_is_found_on_its_own_line(app, tree):
    write(tree, "luat/01-co-ban/02-nguyen-tac.md",
          "---\ntitle: Nguyên tắc\nminutes:\u00a05\nlegal: [84/2025/QH15]\n---\n\n## Mục 2\n\nA.\n")
    output = _check(app, tree)
    assert "02-nguyen-tac.md:3: error: dòng có ký tự cách đặc biệt (U+00A0" in output
    assert "legal: \"[" not in output  # not the old advice to quote the (valid) list below it


def test_a_forgotten_closing_line_is_named(app, tree):
    write(tree, "luat/01-co-ban/02-nguyen-tac.md",
          "---\ntitle: Nguyên tắc\nminutes: 5\nĐoạn mở đầu của bài.\n\n## Mục 2\n\n---\n\nA.\n")
    output = _check(app, tree)
    assert "02-nguyen-tac.md:4: error: dòng này không phải 'khóa: giá trị': có lẽ thiếu dòng '---'" in output


def test_the_registry_yaml_error_is_explained_like_front_matter(app, tree):
    write(tree, "_phap-ly.yaml", "documents:\n  - number: 84/2025/QH15\n    kind: Luật\n"
          "    title: Luật Thanh tra: sửa đổi\n")
    output = _check(app, tree)
    assert "courses/_phap-ly.yaml:4: error: dấu hai chấm ':' trong nội dung chưa đặt" in output


def test_import_gift_names_a_utf16_bank(app, tmp_path):
    source = tmp_path / "ngan-hang.gift"
    source.write_bytes("::Q1:: Câu? {T}\n".encode("utf-16"))
    result = app.test_cli_runner().invoke(
        args=["courses", "import-gift", str(source), "--out", str(tmp_path / "09-kiem-tra.quiz.md")])
    assert result.exit_code == 1 and "UTF-16" in result.output


# --- what an author wrote is never left out with only a warning ----------------------------------


@pytest.mark.parametrize(("name", "suggestion"), [
    ("03-phu-luc.markdown", "03-phu-luc.md"),
    ("03-phu-luc.md.txt", "03-phu-luc.md"),  # Notepad: "Save as type: Text" added .txt
    ("03-phu-luc.txt", "03-phu-luc.md"),
    ("03-on-tap.quiz.md.txt", "03-on-tap.quiz.md"),
])
def test_a_lesson_saved_under_another_text_name_is_an_error(app, tree, name, suggestion):
    write(tree, f"luat/01-co-ban/{name}", lesson("Phụ lục", "## A\n\nB."))
    result = _check_command(app, tree)
    assert result.exit_code == 1
    assert f"courses/luat/01-co-ban/{name}:1: error: bài " in result.output
    assert "[bad-name]" in result.output and f"Đổi tên thành '{suggestion}'" in result.output
    assert f"Rename it to '{suggestion}'" in result.output


def test_an_unnumbered_text_file_with_front_matter_is_an_error_and_a_note_is_not(app, tree):
    write(tree, "luat/01-co-ban/bai-moi.txt", lesson("Bài mới", "## A\n\nB."))
    write(tree, "luat/01-co-ban/ghi-chu.txt", "việc cần làm: thêm ảnh\n")
    output = _check_command(app, tree).output
    assert "bai-moi.txt:1: error:" in output and "Rename it to '03-bai-moi.md'" in output
    assert "ghi-chu.txt:1: warning:" in output and "[stray-file]" in output


def test_an_office_lock_file_is_ignored(app, tree):
    (tree / "luat/01-co-ban/~$-nguyen-tac.md").write_bytes(b"\x0bTra\x00\x00")  # Word has the file open
    result = _check_command(app, tree)
    assert result.exit_code == 0 and "~$" not in result.output


def test_a_question_written_the_word_way_is_an_error_and_the_sync_refuses(app, tree):
    write(tree, "luat/01-co-ban/09-kiem-tra.quiz.md",
          "---\ntitle: Kiểm tra\n---\n\n## Ai ký quyết định thanh tra? {#ky}\n\n- [x] Thủ trưởng\n"
          "- [ ] Trưởng đoàn\n\n> Thủ trưởng cơ quan thanh tra.\n\nCâu 2. Thời hạn thanh tra là bao lâu?\n\n"
          "a) 30 ngày\nb) 45 ngày\n")
    result = _check_command(app, tree)
    assert result.exit_code == 1
    assert "09-kiem-tra.quiz.md:12: error: đoạn này nằm sau câu hỏi 'ky'" in result.output
    synced = app.test_cli_runner().invoke(args=["courses", "sync", str(tree)])
    assert synced.exit_code == 1 and "Not synced" in synced.output


# --- every link the page shows is a link the check read ---------------------------------------


def _with_body(tree: Path, body: str) -> None:
    write(tree, "luat/01-co-ban/02-nguyen-tac.md", lesson("Nguyên tắc", f"## Mục 2\n\n{body}\n"))


def test_a_picture_with_spaces_in_its_name_is_checked_and_shown(app, tree):
    svg = (tree / "luat/01-co-ban/images/so-do.svg").read_text()
    write(tree, "luat/01-co-ban/images/sơ đồ hệ thống.svg", svg)
    _with_body(tree, "![Sơ đồ](images/sơ đồ hệ thống.svg)\n\n![Thiếu](<images/không có.svg>)")
    output = _check(app, tree)
    assert "02-nguyen-tac.md:10: error: không có hình 'images/không có.svg'" in output
    assert "[unused-file]" not in output  # the picture with spaces is used
    _with_body(tree, "![Sơ đồ](images/sơ đồ hệ thống.svg)")
    sync(app, tree)
    with app.app_context():
        html = db.session.scalar(sa.select(Lesson.html).where(Lesson.key == "co-ban/nguyen-tac"))
    assert 'src="/courses/luat/files/01-co-ban/images/s%C6%A1%20%C4%91%E1%BB%93' in html


@pytest.mark.parametrize("target", ["C:\\Users\\tra\\Desktop\\so-do.png", "D:/anh/so-do.png",
                                    "\\\\may-chu\\chung\\so-do.png"])
def test_a_path_on_the_authors_computer_is_an_error(app, tree, target):
    _with_body(tree, f"![Sơ đồ]({target})")
    output = _check(app, tree)
    assert "02-nguyen-tac.md:8: error: '" in output and "là đường dẫn trên máy của bạn" in output
    assert "e.g. 'images/so-do.png'" in output and "[outside-tree]" in output


def test_a_scheme_the_page_drops_is_an_error(app, tree):
    _with_body(tree, "Gọi [đường dây nóng](tel:02412345678).")
    assert "02-nguyen-tac.md:8: error: liên kết 'tel:' sẽ bị xóa khỏi trang" in _check(app, tree)


@pytest.mark.parametrize(("written", "meant"), [
    ("images\\so-do.svg", "images/so-do.svg"),
    ("01-khai-niem", "01-khai-niem.md"),
    ("01-Khai-Niem.MD", "01-khai-niem.md"),
    ("..\\02-nang-cao\\01-quy-trinh.md#cac-buoc", "../02-nang-cao/01-quy-trinh.md#cac-buoc"),
])
def test_a_link_written_the_windows_way_says_how_to_write_it(app, tree, written, meant):
    kind = "!" if written.startswith("images") else ""
    _with_body(tree, f"{kind}[Xem]({written})")
    assert f"does not exist: did you mean '{meant}'?" in _check(app, tree)


def test_a_relative_link_written_in_html_is_an_error(app, tree):
    _with_body(tree, '<img src="images/so-do.svg" alt="Sơ đồ"> và <a href="https://thanhtra.gov.vn">TTCP</a>')
    output = _check(app, tree)
    assert "02-nguyen-tac.md:8: error: liên kết 'images/so-do.svg' viết bằng HTML" in output
    assert "thanhtra.gov.vn" not in output  # a web address in HTML is kept as it is


def test_a_code_block_never_closed_is_an_error(app, tree):
    _with_body(tree, "Mẫu:\n\n```text\nQUYẾT ĐỊNH thanh tra...\n\n## Mục 3\n\nXem [bài](khong-co.md).")
    result = _check_command(app, tree)
    assert result.exit_code == 1
    assert "02-nguyen-tac.md:10: error: khối mã mở ở đây không có dòng ``` đóng" in result.output
    assert "[unclosed-code]" in result.output


# --- one mistake, one message -------------------------------------------------------------------


def test_an_unreadable_registry_is_one_error_not_one_per_citation(app, tree):
    registry = "documents:\n" + LAW_2025.replace("title: Luật Thanh tra", "title: Luật: Thanh tra")
    write(tree, "_phap-ly.yaml", registry)
    write(tree, "luat/01-co-ban/02-nguyen-tac.md", lesson(
        "Nguyên tắc", "## Mục 2\n\nTheo Luật Thanh tra số 84/2025/QH15.", extra="legal: [84/2025/QH15]\n"))
    result = _check_command(app, tree)
    assert "courses/_phap-ly.yaml:4: error: dấu hai chấm ':'" in result.output
    assert "[legal-unknown]" not in result.output and "[legal-unregistered]" not in result.output
    assert result.exit_code == 1 and "1 error(s)" in result.output


def test_a_document_put_under_unverified_is_told_where_it_belongs(app, tree):
    write(tree, "_phap-ly.yaml", "documents: []\nunverified:\n" + LAW_2025)
    output = _check_command(app, tree).output
    assert "courses/_phap-ly.yaml:3: error: dưới 'unverified:' mỗi mục chỉ là một số hiệu" in output
    assert "{'number'" not in output  # not the entry dumped as a dict


def test_a_course_or_module_that_fails_to_load_is_one_error(app, tree):
    make_tree(tree.parent / "other")
    (tree.parent / "other/luat").rename(tree / "khac")
    write(tree, "khac/course.md", (tree / "khac/course.md").read_text(encoding="utf-8")
          .replace("code: LTT", "code: KHAC").replace("edition: 2026", "edition: 2026-2027"))
    write(tree, "_chuong-trinh/lo-trinh.md",
          "---\ntitle: Lộ trình\ncode: LT\nsummary: S\n---\n\n## Các bước\n\n1. luat\n2. khac\n")
    (tree / "luat/02-nang-cao/module.md").write_bytes("---\ntitle: Nâng cao\n---\n".encode("utf-16"))
    _with_body(tree, "Tiếp theo: [quy trình](../02-nang-cao/01-quy-trinh.md).")  # into the broken module
    output = _check_command(app, tree).output
    assert "courses/khac/course.md:4: error: 'edition' phải là một số nguyên" in output
    assert "courses/luat/02-nang-cao/module.md:1: error: tệp được lưu dạng UTF-16" in output
    assert "[unknown-course]" not in output  # the programme's 'khac' is there, with its own error
    assert "[broken-link]" not in output  # 01-quy-trinh.md is there: its module is what to fix
    assert output.count("error:") == 2


def test_a_question_pasted_twice_under_another_key_is_a_warning(app, tree):
    question = "## Ai ký quyết định thanh tra? {{#{key}}}\n\n- [x] Thủ trưởng\n- [ ] Trưởng đoàn\n\n> G.\n\n"
    same_title = "## Ai ký quyết định thanh tra? {#khac}\n\n- [x] Chánh Thanh tra\n- [ ] Trưởng đoàn\n"
    write(tree, "luat/01-co-ban/09-kiem-tra.quiz.md", "---\ntitle: Kiểm tra\n---\n\n"
          + question.format(key="ky") + question.format(key="ky-2") + same_title)
    output = _check_command(app, tree).output
    assert "09-kiem-tra.quiz.md:12: warning: câu hỏi 'ky-2' trùng nội dung với 'ky' (dòng 5)" in output
    assert output.count("[duplicate-question]") == 1  # the same title with other choices is another question


# --- a file saved again by another editor, words unchanged, is unchanged ----------------------


QUIZ = ("---\ntitle: Kiểm tra nhanh\n---\n\n## Ai ký quyết định thanh tra? {#ky}\n\n"
        "- [x] Thủ trưởng\n- [ ] Trưởng đoàn\n\n> Thủ trưởng ký.\n")
RESAVED = ["luat/course.md", "luat/01-co-ban/module.md", "luat/02-nang-cao/module.md",
           "luat/01-co-ban/01-khai-niem.md", "luat/01-co-ban/02-nguyen-tac.md",
           "luat/02-nang-cao/01-quy-trinh.md", "luat/01-co-ban/09-kiem-tra.quiz.md",
           "_phap-ly.yaml", "_chuong-trinh/lo-trinh.md"]


def _quiz_and_lesson_rows(app) -> dict[str, tuple]:
    from mooc.courses.models import Module, Quiz

    with app.app_context():
        rows: dict[str, tuple] = {}
        for model in (Course, Module, Lesson, Quiz):
            for row in db.session.scalars(sa.select(model)):
                rows[f"{model.__name__} {row.key}"] = (
                    row.source_hash, getattr(row, "updated_at", None), getattr(row, "content_hash", None))
        return rows


@pytest.mark.parametrize("how", ["bom", "crlf", "nfd", "all three"])
def test_a_file_saved_again_with_a_bom_crlf_or_nfd_is_unchanged(app, tree, make_user, how):
    write(tree, "luat/01-co-ban/09-kiem-tra.quiz.md", QUIZ)
    write(tree, "_phap-ly.yaml", "documents:\n" + LAW_2025)
    write(tree, "_chuong-trinh/lo-trinh.md",
          "---\ntitle: Lộ trình thanh tra\ncode: LT\nsummary: Học luật trước.\n---\n\n"
          "Chương trình cho công chức mới.\n\n## Các bước\n\n1. luat\n")
    sync(app, tree, T0)
    user = make_user()
    clock.set_now(T0 + timedelta(hours=1))
    _reads(app, user, "co-ban/nguyen-tac")
    before = _quiz_and_lesson_rows(app)
    for relative in RESAVED:  # Notepad, Word, a Mac: the same words, other bytes
        path = tree / relative
        text = path.read_text(encoding="utf-8")
        if how in ("nfd", "all three"):
            text = unicodedata.normalize("NFD", text)
        if how in ("crlf", "all three"):
            text = text.replace("\n", "\r\n")
        raw = text.encode()
        path.write_bytes(b"\xef\xbb\xbf" + raw if how in ("bom", "all three") else raw)
    report = sync(app, tree, T0 + timedelta(hours=2))
    assert report.changed == [] and not report.has_changes, report.changed
    assert report.rendered == 0
    assert _quiz_and_lesson_rows(app) == before  # no hash, no updated_at, no edition moved
    assert _read_in_refresher(app, user.id, "co-ban/nguyen-tac") == 1  # the reading stands
    output = app.test_cli_runner().invoke(args=["courses", "sync", str(tree)]).output
    assert "không có thay đổi" in output and "no changes" in output


# --- what the page would show as written, or strip: said at its line -------------------------

MISTAKES = """## Mục 2

Phạm vi thanh tra[^1], xem [Luật Thanh tra][luat] và ![Sơ đồ][so-do].

| Bước | Việc |
|---|---|
| 1 | Ra quyết định | Thủ trưởng |
| 2 |

Các bước:
- chuẩn bị
- tiến hành

Đây là **điều quan trọng.

<iframe src="https://www.youtube.com/embed/x"></iframe> <font color="red">Lưu ý</font>

<p align="center" style="color:red">Giữa</p>

#Kết luận
"""


def test_markdown_the_page_would_show_as_written_is_told_at_its_line(app, tree):
    write(tree, "luat/01-co-ban/02-nguyen-tac.md", lesson("Nguyên tắc", MISTAKES))
    result = _check_command(app, tree)
    found = {(int(line.split(":")[1]), line.split(": ")[1], line.rsplit("[", 1)[1].rstrip("]"))
             for line in result.output.splitlines() if "02-nguyen-tac.md:" in line}
    assert found == {
        (8, "error", "footnote-undefined"), (8, "error", "reference-undefined"),
        (12, "error", "table-row"), (13, "warning", "table-row"),
        (16, "warning", "list-not-separated"), (19, "warning", "unclosed-markup"),
        (21, "error", "raw-html"), (21, "warning", "raw-html"), (23, "warning", "raw-html"),
        (25, "warning", "title-heading"),
    }, result.output
    assert result.exit_code == 1
    output = result.output
    assert "thêm một dòng '[^1]: nội dung chú thích'" in output and "add a line '[^1]: the note'" in output
    assert "'[luat]: địa chỉ hoặc tệp'" in output and "'[so-do]: địa chỉ hoặc tệp'" in output
    assert "trang bỏ mất 1 ô cuối" in output and "the page drops the last 1" in output
    assert "thẻ <iframe> bị loại khỏi trang" in output and "the <font> tag is not kept" in output
    assert "trang bỏ align=, style= của <p>" in output
    synced = app.test_cli_runner().invoke(args=["courses", "sync", str(tree)])
    assert synced.exit_code != 0 and "footnote-undefined" in synced.output  # sync refuses it
    # the same written right, and what only looks like a mistake, is clean
    right = ("## Mục 2\n\nPhạm vi thanh tra[^1], xem [Luật Thanh tra][luat] và ![Sơ đồ][so-do].\n\n"
             "| Bước | Việc | Ai |\n|---|---|---|\n| 1 | Ra quyết định | Thủ trưởng |\n| 2 | | |\n\n"
             "Các bước:\n\n- chuẩn bị\n- tiến hành\n\nĐây là **điều quan trọng**, a * b, 2*3, (*), "
             "\\*sao\\*, `mã **x` và ____ để điền.\n\n<p>Giữa</p>\n\n## Kết luận {#ket-luan}\n\n"
             "!!! note \"Lưu ý\"\n    Trước khi ra quyết định:\n\n    - kiểm tra\n\n"
             "```\n[^9] **x `y\n- a\n```\n\n"
             "[^1]: Khoản 5 Điều 2.\n[luat]: https://vbpl.vn/x\n[so-do]: images/so-do.svg\n")
    write(tree, "luat/01-co-ban/02-nguyen-tac.md", lesson("Nguyên tắc", right))
    result = _check_command(app, tree)
    assert result.exit_code == 0 and "02-nguyen-tac.md" not in result.output, result.output


def test_a_list_run_into_a_callouts_paragraph_is_told(app, tree):
    write(tree, "luat/01-co-ban/02-nguyen-tac.md", lesson(
        "Nguyên tắc", '## Mục 2\n\n!!! note "Lưu ý"\n    Trước khi ra quyết định:\n    - kiểm tra\n'))
    output = _check_command(app, tree).output
    assert "02-nguyen-tac.md:10: warning:" in output and "[list-not-separated]" in output


# --- a quiz's Markdown: each piece read as a lesson is, told at the quiz file's line -----------

QUIZ_PATH = "luat/01-co-ban/09-kiem-tra.quiz.md"
KY = "## Ai ký quyết định thanh tra? {#ky}\n\n- [x] Thủ trưởng\n- [ ] Trưởng đoàn\n\n> Thủ trưởng ký.\n"


def _quiz_found(app, tree: Path, questions: str) -> set[tuple[int, str, str]]:
    """(line, severity, code) of what check says about the quiz (its questions from line 5)."""
    write(tree, QUIZ_PATH, f"---\ntitle: Kiểm tra\n---\n\n{questions}")
    output = _check_command(app, tree).output
    return {(int(line.split(":")[1]), line.split(": ")[1], line.rsplit("[", 1)[1].rstrip("]"))
            for line in output.splitlines() if "09-kiem-tra.quiz.md:" in line}


def _text(text: str) -> str:
    """KY with ``text`` as its question's text."""
    return KY.replace("\n\n- [x]", f"\n\n{text}\n\n- [x]")


def _choice(text: str) -> str:
    return KY.replace("Trưởng đoàn", text)


@pytest.mark.parametrize(("written", "told", "right"), [
    # the introduction, before the first question
    ("Đọc kỹ **từng câu.\n\n" + KY, (5, "warning", "unclosed-markup"), "Đọc kỹ **từng câu**.\n\n" + KY),
    # a question's title: one line, rendered on its own
    (KY.replace("thanh tra?", "thanh tra?[^1]"), (5, "error", "footnote-undefined"),
     KY.replace("> Thủ trưởng ký.", "> Thủ trưởng ký[^1].\n>\n> [^1]: Điều 48.")),
    (KY.replace("## Ai", "## 2. Ai"), (5, "warning", "not-inline"), KY.replace("## Ai", "## 2\\. Ai")),
    # a question's text
    (_text("Theo [Luật Thanh tra][luat]:"), (7, "error", "reference-undefined"),
     _text("Theo [Luật Thanh tra][luat]:\n\n[luat]: https://vbpl.vn/84")),
    (_text("Theo Luật[^1]:") + ">\n> [^1]: Luật 84/2025/QH15.\n",
     (7, "error", "footnote-undefined"),  # the note in the explanation does not serve the text
     _text("Theo Luật[^1]:\n\n[^1]: Luật 84/2025/QH15.")),
    (_text("| Ai | Việc |\n|---|---|\n| A | ký | B |"), (9, "error", "table-row"),
     _text("| Ai | Việc |\n|---|---|\n| A | ký \\| B |")),
    # a choice: one line (a continuation line is at its own line)
    (_choice("> 5 người"), (8, "error", "not-inline"), _choice("\\> 5 người")),  # shown '5 người'
    (_choice("- 5 ngày"), (8, "error", "not-inline"), _choice("\\- 5 ngày")),  # shown '5 ngày'
    (_choice("3. Điều 5"), (8, "error", "not-inline"), _choice("3\\. Điều 5")),  # shown 'Điều 5'
    (_choice("---"), (8, "error", "not-inline"), _choice("\\---")),
    (_choice("Trưởng đoàn\n  và *Phó đoàn"), (9, "warning", "unclosed-markup"),
     _choice("Trưởng đoàn\n  và *Phó đoàn*")),
    # the explanation
    (KY + '> <iframe src="https://www.youtube.com/embed/x"></iframe>\n', (11, "error", "raw-html"),
     KY + "> [Video](https://www.youtube.com/watch?v=x)\n"),
    (KY + ">\n> Các bước:\n>\n> - [ ] Đọc luật\n", (14, "warning", "task-list"),
     KY + ">\n> Các bước:\n>\n> - Đọc luật\n"),
], ids=["intro", "title-footnote", "title-list", "text-reference", "text-note-elsewhere", "text-table",
        "choice-quote", "choice-minus", "choice-number", "choice-rule", "choice-continued",
        "explanation-iframe", "explanation-task"])
def test_markdown_a_quiz_would_show_as_written_is_told_at_its_line(app, tree, written, told, right):
    assert _quiz_found(app, tree, written) == {told}
    assert _quiz_found(app, tree, right) == set()  # written right, nothing to say


def test_what_the_quiz_parser_tells_is_not_told_again(app, tree):
    found = _quiz_found(app, tree, _text("**Chú ý <script>x</script>"))
    assert found == {(7, "error", "raw-script"), (7, "warning", "unclosed-markup")}  # not raw-html on top
    found = _quiz_found(app, tree, "- [x] Đọc bài trước\n\n" + KY + "\n## Câu hai {#hai}\n\n"
                        "- [x] A\n  - [ ] B\n- [ ] C\n\n> Vì *A.\n")
    assert found == {(5, "error", "answers-outside-question"), (17, "error", "nested-choice"),
                     (20, "warning", "unclosed-markup")}  # not task-list on top


def test_a_link_in_a_quiz_leads_only_within_its_own_piece(app, tree):
    """Each piece of a quiz (a question's title, text, each choice, the explanation) is rendered
    apart and its ids made its own on the page (render.scope_ids): a link from the explanation to
    an anchor of the question's text would jump nowhere. Told at the link's line, with where the
    anchor is; the same link beside its anchor is fine."""
    table = "### Bảng thẩm quyền {#bang}\n\n| Ai | Ký |\n|---|---|\n| Thủ trưởng | Có |"
    found = _quiz_found(app, tree, _text(table) + ">\n> Xem [bảng](#bang).\n")
    assert found == {(18, "warning", "broken-anchor")}
    output = _check_command(app, tree).output
    told = next(line for line in output.splitlines() if "[broken-anchor]" in line)
    assert "'#bang'" in told and "nội dung câu hỏi, dòng 7" in told, told  # where the anchor is
    assert _quiz_found(app, tree, _text("Xem [bảng](#bang) dưới đây.\n\n" + table)) == set()
    assert _quiz_found(app, tree, KY + ">\n> Xem [mục](#khong-co).\n") == {(12, "warning", "broken-anchor")}


def test_a_link_in_an_introduction_leads_only_within_it(app, tree):
    """A course's and a module's introductions are shown on the course page, each rendered apart
    (a module's ids are its own: scope_ids): a link to an anchor is read against its own text."""
    write(tree, "luat/01-co-ban/module.md", "---\ntitle: Cơ bản\n---\n\n## Phạm vi {#pham-vi}\n\n"
          "Xem [phạm vi](#pham-vi) và [mục tiêu](#muc-tieu).\n")
    output = _check_command(app, tree).output
    told = [line for line in output.splitlines() if "[broken-anchor]" in line]
    assert len(told) == 1 and "module.md:7: warning:" in told[0] and "'#muc-tieu'" in told[0], output


def test_a_reference_written_with_a_space_is_a_reference(app, tree):
    _with_body(tree, "Xem [Luật Thanh tra] [luat] và ![Sơ đồ] [so-do].")
    output = _check(app, tree)
    assert output.count("02-nguyen-tac.md:8: error:") == 2 and "[reference-undefined]" in output
    assert "Markdown đọc '[Luật Thanh tra] [luat]' như '[Luật Thanh tra][luat]'" in output
    assert "to show the brackets, write '\\[Luật Thanh tra\\] \\[luat\\]'" in output
    _with_body(tree, "Xem [Luật Thanh tra] [luat], [a]  [b], Điều \\[1\\] \\[2\\].\n\n[luat]: https://vbpl.vn/84")
    assert "02-nguyen-tac.md" not in _check(app, tree)  # two spaces: two brackets, as Markdown reads it
    sync(app, tree)
    with app.app_context():
        html = db.session.scalar(sa.select(Lesson.html).where(Lesson.key == "co-ban/nguyen-tac"))
    assert '<a href="https://vbpl.vn/84" rel="noopener noreferrer">Luật Thanh tra</a>' in html
    assert "[a]  [b]" in html and "[1] [2]" in html


def test_a_reference_split_over_a_line_end_is_a_reference(app, tree):
    """'[text]' ending a line and '[ref]' starting the next: Python-Markdown reads '[text][ref]'
    (one line end is the one space it allows), in a paragraph, a list item or a quote alike."""
    _with_body(tree, "Xem [Luật Thanh tra]\n[luat] về phạm vi.\n\n- mục [Điều 5\nkhoản 2][d5].\n\n"
                     "> trích [Nghị định]\n> [nd] này.")
    output = _check(app, tree)
    assert output.count("02-nguyen-tac.md:8: error:") == 1, output
    assert "02-nguyen-tac.md:11: error:" in output and "02-nguyen-tac.md:14: error:" in output, output
    assert "Markdown đọc '[Luật Thanh tra]' ở cuối dòng này và '[luat]' ở đầu dòng sau" in output
    assert "to show the brackets, write '\\[luat\\]'" in output
    # indented unlike the line above (Markdown keeps a lazy line's spaces), a trailing space, a
    # heading, an escape: two brackets as written, as Markdown reads them; and defined, a link
    _with_body(tree, "Xem [a]\n  [b] x, [c] \n[d] y, \\[e\\]\n\\[f\\].\n\n## Mục [g]\n[h] z\n\n"
                     "Xem [Luật Thanh tra]\n[luat].\n\n[luat]: https://vbpl.vn/84")
    assert "02-nguyen-tac.md" not in _check(app, tree)
    sync(app, tree)
    with app.app_context():
        html = db.session.scalar(sa.select(Lesson.html).where(Lesson.key == "co-ban/nguyen-tac"))
    assert '<a href="https://vbpl.vn/84" rel="noopener noreferrer">Luật Thanh tra</a>' in html
    assert "[a]\n  [b]" in html and "[c] \n[d]" in html and "[e]\n[f]" in html


def _import_gift(app, tmp_path: Path, bank: str):
    source = tmp_path / "ngan-hang.gift"
    source.write_text(bank, encoding="utf-8")
    out = tmp_path / "09-kiem-tra.quiz.md"
    return app.test_cli_runner().invoke(args=["courses", "import-gift", str(source), "--out", str(out)])


def test_import_gift_tells_markdown_shown_as_written_at_the_gift_line(app, tmp_path):
    result = _import_gift(app, tmp_path, (
        "// ngân hàng\n\n::Ký::Ai ký quyết định?{=Thủ trưởng ~Trưởng đoàn}\n\n"
        "::Đậm::[markdown]Theo **Luật Thanh tra,\nai ký kết luận?{\n  =Thủ trưởng\n  ~> 5 người\n}\n"))
    lines = [line for line in result.output.splitlines() if "warning:" in line or "error:" in line]
    gift = f"{tmp_path}/ngan-hang.gift:5: "
    assert len(lines) == 2, result.output
    assert lines[0].startswith(gift + "warning: “Đậm”: dấu '**' mở") and "[unclosed-markup]" in lines[0]
    assert lines[1].startswith(gift + "error: “Đậm”: phương án bắt đầu bằng '>'")
    assert "[not-inline]" in lines[1]
    assert "09-kiem-tra.quiz.md:11)" in lines[0] and "09-kiem-tra.quiz.md:14)" in lines[1]


def test_import_gift_never_tells_gifts_own_escapes_but_tells_the_mistake_beside_them(app, tmp_path):
    bank = (FIXTURES_GIFT / "escapes.gift").read_text(encoding="utf-8") + (
        "\n::Tập hợp::[markdown]Tập \\{1, 2\\} có \\#2 phần tử\\: a \\= b, c \\~ d, **đậm**.{\n"
        "  =Hai \\{2\\}\n  ~Ba \\~3 *nghiêng\n}\n")
    result = _import_gift(app, tmp_path, bank)
    told = [line for line in result.output.splitlines() if "warning:" in line or "error:" in line]
    assert len(told) == 1 and "ngan-hang.gift:15: warning: “Tập hợp”: dấu '*' mở" in told[0], result.output
    written = (tmp_path / "09-kiem-tra.quiz.md").read_text(encoding="utf-8")
    assert "Tập {1, 2} có #2 phần tử: a = b, c ~ d, **đậm**." in written


def test_a_reference_or_note_followed_by_a_colon_is_told(app, tree):
    _with_body(tree, "Theo [Luật Thanh tra][luat]: thanh tra hai cấp.\n\nTheo Luật[^1]: hai cấp.")
    output = _check(app, tree)
    assert "02-nguyen-tac.md:8: error:" in output and "[reference-undefined]" in output
    assert "02-nguyen-tac.md:10: error:" in output and "[footnote-undefined]" in output
