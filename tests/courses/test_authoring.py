"""Issue 17: nothing an author writes is dropped silently, and every message says what to do.

Each test here failed on the code before the issue was fixed (see the commit message).
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from mooc import clock
from mooc.auth.models import Role
from mooc.courses.check import check_tree
from mooc.courses.models import Course, Lesson, LessonProgress, Module, Quiz
from mooc.courses.progress import mark_done
from mooc.courses.sync import sync_tree
from mooc.extensions import db
from mooc.quizzes.attempts import start_attempt
from tests.conftest import login
from tests.courses.tree import lesson, make_tree, write

ROOT = Path(__file__).resolve().parents[2]
QUIZ = (
    "---\ntitle: Kiểm tra\n---\n\nGiới thiệu{intro}.\n\n## Câu một? {{#mot}}\n\n{body}\n"
    "- [x] Đúng\n- [ ] Sai\n\n> Giải thích{explanation}.\n"
)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "courses")


def found(root: Path) -> list[tuple[str, int, str, str, str]]:
    return [(p.path, p.line, p.severity, p.code, p.message) for p in check_tree(root).problems]


def codes(root: Path) -> set[tuple[str, str]]:
    return {(p.severity, p.code) for p in check_tree(root).problems}


def sync(app, root: Path):
    with app.app_context():
        report = sync_tree(root)
        db.session.commit()
        return report


def lesson_rows(app) -> dict[str, Lesson]:
    with app.app_context():
        rows = {row.key: row for row in db.session.scalars(sa.select(Lesson))}
        db.session.expunge_all()
        return rows


# --- silent loss: misnamed files -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("kiem-tra.quiz.md", "03-kiem-tra.quiz.md"),
        ("02-Du-Lieu.md", "02-du-lieu.md"),
        ("02-dữ-liệu.md", "02-du-lieu.md"),
        ("02 du lieu.md", "02-du-lieu.md"),
    ],
)
def test_a_misnamed_lesson_or_quiz_is_an_error_with_the_name_to_use(tree, name, suggestion):
    text = QUIZ.format(intro="", body="", explanation="") if name.endswith(".quiz.md") else lesson("X", "Y")
    write(tree, f"luat/01-co-ban/{name}", text)
    problems = [p for p in check_tree(tree).problems if p.path.endswith(name)]
    assert [(p.severity, p.code) for p in problems] == [("error", "bad-name")]
    assert f"Rename it to '{suggestion}'" in problems[0].message
    assert "lowercase letters a-z" in problems[0].message  # which rule
    with pytest.raises(Exception, match="error"):
        sync_tree(tree)  # the course does not go live without it (refused before any database work)


def test_a_misnamed_module_folder_is_an_error(tree):
    write(tree, "luat/03 Nâng Cao/module.md", "---\ntitle: Ba\n---\n")
    [problem] = [p for p in check_tree(tree).problems if "Nâng Cao" in p.path]
    assert (problem.severity, problem.code) == ("error", "bad-name")
    assert "'03-nang-cao'" in problem.message


def test_import_gift_refuses_an_output_name_the_course_would_leave_out(app, tmp_path):
    gift = tmp_path / "bank.gift"
    gift.write_text("::q1:: 2+2? {=4 ~5}\n", encoding="utf-8")
    runner = app.test_cli_runner()
    out = tmp_path / "courses/luat/01-co-ban/kiem-tra.quiz.md"
    result = runner.invoke(args=["courses", "import-gift", str(gift), "--out", str(out)])
    assert result.exit_code != 0 and not out.exists()
    assert "09-kiem-tra.quiz.md" in result.output
    good = tmp_path / "courses/luat/01-co-ban/09-kiem-tra.quiz.md"
    good.parent.mkdir(parents=True)
    assert runner.invoke(args=["courses", "import-gift", str(gift), "--out", str(good)]).exit_code == 0


# --- silent loss: identity ------------------------------------------------------------------


def test_giving_a_lesson_an_id_keeps_its_progress_and_its_old_address(app, tree, make_user):
    sync(app, tree)
    user = make_user()
    before = lesson_rows(app)["co-ban/khai-niem"]
    with app.app_context():
        mark_done(user.id, before.id, course_id=before.course_id)
        db.session.commit()
    path = tree / "luat/01-co-ban/01-khai-niem.md"
    path.write_text(path.read_text().replace("minutes: 5\n", "minutes: 5\nid: khai-niem\n"))
    report = sync(app, tree)
    assert report.renamed == ["lesson luat/co-ban/khai-niem -> khai-niem"]
    assert not report.added and not report.archived
    after = lesson_rows(app)
    assert after["khai-niem"].id == before.id and not after["khai-niem"].archived
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LessonProgress)) == 1
    client = app.test_client()
    login(client, user.email)
    response = client.get("/courses/luat/lessons/co-ban/khai-niem")
    assert response.status_code == 301 and response.location.endswith("/courses/luat/lessons/khai-niem")
    assert client.get(response.location).status_code == 200


def test_an_id_equal_to_the_current_key_changes_nothing(app, tree):
    sync(app, tree)
    path = tree / "luat/01-co-ban/01-khai-niem.md"
    path.write_text(path.read_text().replace("minutes: 5\n", "minutes: 5\nid: co-ban/khai-niem\n"))
    assert check_tree(tree).problems == []
    report = sync(app, tree)
    assert not (report.added or report.archived or report.renamed)


def test_previously_keeps_identity_across_a_rename_for_lessons_quizzes_and_modules(app, tree, make_user):
    write(tree, "luat/01-co-ban/09-kiem-tra.quiz.md", QUIZ.format(intro="", body="", explanation=""))
    sync(app, tree)
    ids = lesson_rows(app)
    with app.app_context():
        quiz_id = db.session.scalar(sa.select(Quiz.id).where(Quiz.key == "co-ban/kiem-tra"))
        module_id = db.session.scalar(sa.select(Module.id).where(Module.key == "co-ban"))
    # the module folder is renamed, a lesson renamed, the quiz renamed: all say what they were
    (tree / "luat/01-co-ban").rename(tree / "luat/01-nen-tang")
    write(tree, "luat/01-nen-tang/module.md", "---\ntitle: Cơ bản\npreviously: co-ban\n---\n")
    old = tree / "luat/01-nen-tang/02-nguyen-tac.md"
    old.rename(tree / "luat/01-nen-tang/02-nguyen-tac-chung.md")
    new = tree / "luat/01-nen-tang/02-nguyen-tac-chung.md"
    new.write_text(new.read_text().replace("minutes: 5\n", "minutes: 5\npreviously: co-ban/nguyen-tac\n"))
    quiz = tree / "luat/01-nen-tang/09-kiem-tra.quiz.md"
    quiz.rename(tree / "luat/01-nen-tang/09-on-tap.quiz.md")
    quiz = tree / "luat/01-nen-tang/09-on-tap.quiz.md"
    quiz.write_text(quiz.read_text().replace("title: Kiểm tra\n",
                                             "title: Kiểm tra\npreviously: co-ban/kiem-tra\n"))
    links = tree / "luat/01-nen-tang/01-khai-niem.md"
    links.write_text(links.read_text().replace("02-nguyen-tac.md", "02-nguyen-tac-chung.md"))
    for other in (tree / "luat/02-nang-cao/01-quy-trinh.md", tree / "luat/course.md"):
        other.write_text(other.read_text().replace("01-co-ban", "01-nen-tang"))
    assert check_tree(tree).errors == []
    report = sync(app, tree)
    assert not report.archived and not report.added, report.lines()
    after = lesson_rows(app)
    assert after["nen-tang/khai-niem"].id == ids["co-ban/khai-niem"].id  # through the module's previously
    assert after["nen-tang/nguyen-tac-chung"].id == ids["co-ban/nguyen-tac"].id
    with app.app_context():
        assert db.session.scalar(sa.select(Quiz.id).where(Quiz.key == "nen-tang/on-tap")) == quiz_id
        assert db.session.scalar(sa.select(Module.id).where(Module.key == "nen-tang")) == module_id


def test_check_warns_when_a_change_of_identity_would_archive_progress(app, tree, make_user):
    sync(app, tree)
    user = make_user()
    row = lesson_rows(app)["co-ban/nguyen-tac"]
    with app.app_context():
        mark_done(user.id, row.id, course_id=row.course_id)
        db.session.commit()
    (tree / "luat/01-co-ban/02-nguyen-tac.md").rename(tree / "luat/01-co-ban/02-nguyen-tac-moi.md")
    link = tree / "luat/01-co-ban/01-khai-niem.md"
    link.write_text(link.read_text().replace("02-nguyen-tac.md", "02-nguyen-tac-moi.md"))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["courses", "check", str(tree)])
    assert result.exit_code == 0  # a warning: renaming is allowed
    assert "courses/luat/01-co-ban/02-nguyen-tac.md:1: warning: 1 học viên có tiến độ ở bài học " \
           "'co-ban/nguyen-tac'" in result.output and "1 trainee(s) have progress on lesson" in result.output
    assert "previously: co-ban/nguyen-tac" in result.output and "[progress-archived]" in result.output
    # sync --dry-run says the same, writes nothing; sync prints it after its summary
    dry = runner.invoke(args=["courses", "sync", "--dry-run", str(tree)])
    assert "Dry run" in dry.output and "[progress-archived]" in dry.output
    assert not lesson_rows(app)["co-ban/nguyen-tac"].archived
    real = runner.invoke(args=["courses", "sync", str(tree)])
    assert real.output.index("Synced") < real.output.index("[progress-archived]")



def test_check_warns_when_a_renamed_quiz_has_attempts(app, tree, make_user):
    """The quizzes' attempts count too (courses read them by table name, below quizzes)."""
    write(tree, "luat/01-co-ban/09-kiem-tra.quiz.md", QUIZ.format(intro="", body="", explanation=""))
    sync(app, tree)
    user, other = make_user(), make_user()
    with app.app_context():
        quiz = db.session.scalar(sa.select(Quiz).where(Quiz.key == "co-ban/kiem-tra"))
        start_attempt(user.id, quiz)
        start_attempt(other.id, quiz)
        db.session.commit()
    (tree / "luat/01-co-ban/09-kiem-tra.quiz.md").rename(tree / "luat/01-co-ban/09-on-tap.quiz.md")
    result = app.test_cli_runner().invoke(args=["courses", "check", str(tree)])
    assert result.exit_code == 0, result.output
    assert "courses/luat/01-co-ban/09-kiem-tra.quiz.md:1: warning: 2 học viên có tiến độ ở bài kiểm tra " \
           "'co-ban/kiem-tra'" in result.output and "2 trainee(s) have progress on quiz" in result.output


# --- silent loss: module introduction, renames ------------------------------------------------


def test_the_module_introduction_is_shown_on_the_course_page(app, tree, make_user):
    sync(app, tree)
    client = app.test_client()
    login(client, make_user().email)
    page = client.get("/courses/luat").get_data(as_text=True)
    assert "Chương hai." in page
    assert page.index("Nâng cao") < page.index("Chương hai.") < page.index("Quy trình")


def test_renaming_one_file_changes_only_that_file(app, tree):
    make_tree(tree.parent / "other")  # a second course, as in a real tree
    (tree.parent / "other/luat").rename(tree / "luat-2")
    course = tree / "luat-2/course.md"
    course.write_text(course.read_text().replace("code: LTT", "code: LTT2"))
    sync(app, tree)
    with app.app_context():
        stamps = {(type(r).__name__, r.course.key, r.key): (r.position, r.source_hash)
                  for model in (Lesson, Quiz) for r in db.session.scalars(sa.select(model))}
        modules = {(m.course_id, m.key): m.source_hash for m in db.session.scalars(sa.select(Module))}
        assert len(stamps) == 6 and len(modules) == 4
    clock.set_now(clock.now() + timedelta(hours=1))
    (tree / "luat/02-nang-cao/01-quy-trinh.md").rename(tree / "luat/02-nang-cao/03-quy-trinh.md")
    report = sync(app, tree)
    assert report.changed == ["lesson luat/nang-cao/quy-trinh"], report.lines()
    assert report.rendered == 0  # its text and links did not change: nothing re-rendered
    with app.app_context():
        after = {(type(r).__name__, r.course.key, r.key): (r.position, r.source_hash)
                 for model in (Lesson, Quiz) for r in db.session.scalars(sa.select(model))}
        assert {(m.course_id, m.key): m.source_hash for m in db.session.scalars(sa.select(Module))} == modules
    touched = [key for key in after if after[key] != stamps[key]]
    assert touched == [("Lesson", "luat", "nang-cao/quy-trinh")]


def test_renaming_a_linked_file_re_renders_only_the_pages_that_link_to_it(app, tree):
    sync(app, tree)
    (tree / "luat/01-co-ban/02-nguyen-tac.md").rename(tree / "luat/01-co-ban/03-nguyen-tac.md")
    link = tree / "luat/01-co-ban/01-khai-niem.md"
    link.write_text(link.read_text().replace("02-nguyen-tac.md", "03-nguyen-tac.md"))
    report = sync(app, tree)
    assert sorted(report.changed) == ["lesson luat/co-ban/khai-niem", "lesson luat/co-ban/nguyen-tac"]
    assert report.rendered == 1  # the page whose text changed; the renamed one renders the same


# --- messages an author can act on ----------------------------------------------------------


def test_checking_one_course_resolves_links_to_other_courses(tree):
    make_tree(tree.parent / "tmp2")
    (tree.parent / "tmp2/luat").rename(tree / "khac")
    course = tree / "khac/course.md"
    course.write_text(course.read_text().replace("code: LTT", "code: KHAC"))
    write(tree, "luat/02-nang-cao/02-lien-khoa.md",
          lesson("Liên khóa", "Xem [khóa khác](../../khac/01-co-ban/01-khai-niem.md#thanh-tra-la-gi)."))
    assert check_tree(tree).problems == []
    assert check_tree(tree / "luat").problems == []
    result = check_tree(tree / "luat")
    assert [c.key for c in result.courses] == ["luat"]  # a sync of one course touches only it


def test_links_inside_quizzes_are_checked(tree):
    write(tree, "luat/01-co-ban/09-kiem-tra.quiz.md", QUIZ.format(
        intro=" [x](javascript:alert(1))", body="Xem [bài](khong-co.md).",
        explanation=" [y](../02-nang-cao/sai.md)"))
    problems = [(p.line, p.code) for p in check_tree(tree).errors]
    assert problems == [(5, "bad-scheme"), (9, "broken-link"), (13, "broken-link")]


def test_yaml_errors_say_what_is_wrong_and_how_to_fix_it(tree):
    write(tree, "luat/01-co-ban/02-nguyen-tac.md", "---\ntitle: Bài 1: Khái niệm\nminutes: 5\n---\n\nText\n")
    write(tree, "luat/02-nang-cao/01-quy-trinh.md",
          '---\ntitle: "Nói "có" thôi"\nminutes: 5\n---\n\nText\n')
    messages = {p[0].rsplit("/", 1)[1]: p for p in found(tree) if p[3] == "front-matter-yaml"}
    colon = messages["02-nguyen-tac.md"]
    assert colon[1] == 2 and "dấu hai chấm" in colon[4] and "colon" in colon[4]
    assert 'title: "Bài 1: Khái niệm"' in colon[4]
    assert "mapping values" not in colon[4]
    quote = messages["01-quy-trinh.md"]
    assert "quote" in quote[4] and "dấu nháy" in quote[4]


def test_every_level_one_heading_is_a_warning_and_broken_callouts_are_errors(tree):
    write(tree, "luat/01-co-ban/02-nguyen-tac.md", lesson("N", (
        "Mở đầu.\n\n# Một\n\nA\n\n```\n# không phải tiêu đề\n```\n\n# Hai\n\n"
        '!!! luu-y "Lưu ý"\n    Nội dung.\n\n!!! note "Lưu ý"\n  Thụt hai dấu cách.\n\n'
        '!!! warning "Đúng"\n    Thụt bốn dấu cách.\n\n## Mục 2\n')))
    problems = [(p[1], p[2], p[3]) for p in found(tree) if p[0].endswith("02-nguyen-tac.md")]
    assert problems == [
        (8, "warning", "title-heading"),
        (16, "warning", "title-heading"),
        (18, "error", "bad-callout"),
        (21, "error", "bad-callout"),
    ]


def test_a_refused_image_says_why_and_a_broken_one_causes_no_spurious_unused_warning(tree):
    big = tree / "luat/01-co-ban/images/lon.png"
    big.write_bytes(b"\x89PNG" + b"0" * (5 * 1024 * 1024 + 10))
    write(tree, "luat/01-co-ban/images/ghi-chu.txt", "x")
    write(tree, "luat/01-co-ban/02-nguyen-tac.md", lesson("N", (
        "## Mục 2\n\n![Ảnh lớn](images/lon.png)\n\n![Ghi chú](images/ghi-chu.txt)\n")))
    messages = {p[4] for p in found(tree) if p[0].endswith("02-nguyen-tac.md")}
    assert any("lon.png' cannot be shown: the file is 5.0 MB; the limit is 5 MB" in m for m in messages)
    assert any("ghi-chu.txt' cannot be shown: '.txt' files are not served" in m for m in messages)
    assert not any("not a picture in an images/" in m for m in messages)
    # a picture linked with the wrong folder: one error, with the right path; no "unused" warning
    write(tree, "luat/01-co-ban/01-khai-niem.md", lesson("Khái niệm", "![Sơ đồ](so-do.svg)\n"))
    problems = found(tree)
    [broken] = [p for p in problems if p[3] == "broken-image"]
    assert "did you mean 'images/so-do.svg'?" in broken[4]
    assert not [p for p in problems if p[3] == "unused-file" and p[0].endswith("so-do.svg")]


def test_a_lesson_that_fails_to_load_does_not_make_its_pictures_unused(tree):
    write(tree, "luat/01-co-ban/01-khai-niem.md",
          "---\ntitle: A\nminuts: 5\n---\n\n![Sơ đồ hệ thống](images/so-do.svg)\n")
    assert ("warning", "unused-file") not in codes(tree)


def test_hours_accept_a_decimal_comma(app, tree):
    course = tree / "luat/course.md"
    course.write_text(course.read_text().replace("hours: 2", "hours: 1,5"))
    assert check_tree(tree).problems == []
    sync(app, tree)
    with app.app_context():
        assert db.session.scalar(sa.select(Course.hours)) == 1.5
    course.write_text(course.read_text().replace("hours: 1,5", "hours: nhiều"))
    assert ("error", "wrong-type") in codes(tree)


def test_numeric_answers_show_in_the_interface_number_format(app):
    from flask import render_template_string

    with app.test_request_context():
        assert render_template_string("{{ '2.5'|number(None) }} {{ '45'|number(None) }}") == "2,5 45"
    source = (ROOT / "mooc/quizzes/templates/quizzes/result.html").read_text()
    assert "n.value|number(None)" in source and "n.low|number(None)" in source


def test_sync_prints_warnings_after_its_summary_and_check_takes_a_file(app, tree):
    write(tree, "luat/01-co-ban/02-nguyen-tac.md", lesson("N", "## Mục 2\n\n<b onclick=\"x()\">b</b>\n"))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["courses", "sync", str(tree)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("Đã đồng bộ 1 khóa học") and " / Synced 1 course(s)" in lines[0]
    assert lines[-1].endswith("[raw-html]") and "02-nguyen-tac.md:8: warning:" in lines[-1]
    one = runner.invoke(args=["courses", "check", str(tree / "luat/01-co-ban/02-nguyen-tac.md")])
    assert one.exit_code == 0 and "1 course(s), 2 module(s), 3 lesson(s)" in one.output


def test_broken_anchors_are_reported(tree):
    write(tree, "luat/02-nang-cao/01-quy-trinh.md", lesson("Quy trình", (
        "## Các bước\n\n[a](../01-co-ban/02-nguyen-tac.md#muc-9) [b](#cac-buoc) [c](#khong-co)\n")))
    problems = [(p[1], p[3]) for p in found(tree) if p[0].endswith("01-quy-trinh.md")]
    assert problems == [(8, "broken-anchor"), (8, "broken-anchor")]
    [message] = [p[4] for p in found(tree) if "#muc-9" in p[4]]
    assert "#muc-1" in message and "#muc-2" in message  # the anchors it does have


def test_the_autosync_banner_is_for_administrators_and_shows_code_not_backticks(make_app, tree, make_user):
    app = make_app(COURSES_DIR=str(tree), COURSES_AUTOSYNC=True)
    trainee, admin = app.test_client(), app.test_client()
    login(trainee, make_user().email)
    login(admin, make_user(role=Role.ADMIN).email)
    trainee.get("/courses/luat")
    write(tree, "luat/01-co-ban/02-nguyen-tac.md", lesson("Hỏng", "## A\n\n[x](khong-co.md)"))
    seen_by_trainee = trainee.get("/courses/luat").get_data(as_text=True)
    assert "khong-co.md" not in seen_by_trainee and "mooc courses check" not in seen_by_trainee
    page = admin.get("/courses/luat").get_data(as_text=True)
    assert "khong-co.md" in page and "<code>mooc courses check</code>" in page and "`" not in page


# --- documentation and tooling --------------------------------------------------------------


def _problem_codes() -> set[str]:
    found_codes: set[str] = set()
    for path in (ROOT / "mooc/courses").glob("*.py"):
        text = path.read_text()
        found_codes |= set(re.findall(r"report\.(?:error|warning)\(\s*[^,]+,\s*[^,]+,\s*\"([a-z-]+)\"", text))
        found_codes |= set(re.findall(r"Problem\([^)]*?\"(?:error|warning)\", \"([a-z-]+)\"", text))
        found_codes |= set(re.findall(r"misnamed\(", text) and ["bad-name"])
    quiz = (ROOT / "mooc/formats/quiz.py").read_text()
    found_codes |= set(re.findall(r"self\.(?:error|warn)\(\s*[^,]+,\s*\"([a-z-]+)\"", quiz))
    return found_codes


def test_every_problem_code_is_documented_and_text_output_shows_it(app, tree):
    documented = (ROOT / "docs/authoring.md").read_text()
    codes_in_source = _problem_codes()
    assert len(codes_in_source) > 40
    missing = sorted(code for code in codes_in_source if f"`{code}`" not in documented)
    assert missing == []
    write(tree, "luat/01-co-ban/02-nguyen-tac.md", lesson("A", "## Mục 2\n\nY", extra="minuts: 5\n"))
    output = app.test_cli_runner().invoke(args=["courses", "check", str(tree)]).output
    assert "02-nguyen-tac.md:4: error: phần đầu tệp không nhận khóa 'minuts'" in output
    assert "unknown front matter key 'minuts'" in output
    assert "[unknown-key]" in output
    github = app.test_cli_runner().invoke(args=["courses", "check", "--format", "github", str(tree)]).output
    assert "::error file=courses/luat/01-co-ban/02-nguyen-tac.md,line=4,title=unknown-key::phần đầu" in github


def test_courses_new_writes_a_skeleton_that_checks_and_syncs(app, tmp_path):
    root = tmp_path / "courses"
    runner = app.test_cli_runner()
    result = runner.invoke(args=["courses", "new", "khoa-moi", "--root", str(root), "--title", "Khóa mới"])
    assert result.exit_code == 0, result.output
    checked = check_tree(root)
    assert checked.problems == [] and checked.summary()["quizzes"] == 1
    assert runner.invoke(args=["courses", "new", "khoa-moi", "--root", str(root)]).exit_code != 0
    refused = runner.invoke(args=["courses", "new", "Khóa Mới", "--root", str(root)])
    assert refused.exit_code != 0 and "khoa-moi" in refused.output
    sync(app, root)
    with app.app_context():
        assert db.session.scalar(sa.select(Course.title)) == "Khóa mới"


def test_a_course_repository_can_run_check_on_commit():
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    [hook] = [h for h in hooks if h["id"] == "mooc-courses-check"]
    assert hook["entry"].startswith("mooc courses check") and hook["pass_filenames"] is False
    doc = (ROOT / "docs/authoring.md").read_text()
    assert "--format json" in doc and "--format github" in doc and ".pre-commit-hooks.yaml" in doc


def test_json_output_for_ci(app, tree):
    result = app.test_cli_runner().invoke(args=["courses", "check", "--format", "json", str(tree)])
    data = json.loads(result.output)
    assert data["ok"] is True and data["summary"]["errors"] == 0 and data["problems"] == []
