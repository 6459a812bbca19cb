"""`mooc courses check`: each kind of problem, with the right file and line."""

from __future__ import annotations

import json
import os
import unicodedata
from pathlib import Path

import pytest

from mooc.courses.check import check_tree
from mooc.formats.problem import Problem
from mooc.formats.quiz import parse_quiz
from tests.courses.tree import lesson, make_tree, write


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "courses")


def problems(root: Path) -> list[tuple[str, int, str, str]]:
    return [(p.path, p.line, p.severity, p.code) for p in check_tree(root).problems]


def test_the_sample_tree_is_clean(tree):
    result = check_tree(tree)
    assert result.problems == []
    assert result.summary() == {
        "courses": 1,
        "modules": 2,
        "lessons": 3,
        "quizzes": 0,
        "programs": 0,
        "errors": 0,
        "warnings": 0,
    }


def test_the_shipped_courses_are_clean():
    root = Path(__file__).resolve().parents[2] / "courses"
    result = check_tree(root)
    assert [p.format() for p in result.problems] == []
    summary = result.summary()
    assert summary["courses"] >= 2 and summary["modules"] >= 5 and summary["lessons"] >= 15


def test_missing_front_matter(tree):
    write(tree, "luat/01-co-ban/02-nguyen-tac.md", "Just text\n")
    assert problems(tree) == [("courses/luat/01-co-ban/02-nguyen-tac.md", 1, "error", "front-matter-missing")]


def test_bad_yaml_points_at_the_line(tree):
    write(tree, "luat/01-co-ban/02-nguyen-tac.md", "---\ntitle: A\nminutes: [5\n---\n\nBody\n")
    [(path, line, severity, code)] = problems(tree)
    assert (path, severity, code) == ("courses/luat/01-co-ban/02-nguyen-tac.md", "error", "front-matter-yaml")
    assert line in (3, 4)


def test_unknown_key_is_reported_on_its_line(tree):
    write(tree, "luat/01-co-ban/02-nguyen-tac.md", lesson("A", "## X\n\nY", extra="minuts: 5\n"))
    assert problems(tree) == [("courses/luat/01-co-ban/02-nguyen-tac.md", 4, "error", "unknown-key")]


def test_missing_and_wrong_type_keys(tree):
    write(tree, "luat/01-co-ban/02-nguyen-tac.md", "---\ntitle: A\nminutes: năm\n---\n\nBody\n")
    assert problems(tree) == [("courses/luat/01-co-ban/02-nguyen-tac.md", 3, "error", "wrong-type")]
    write(tree, "luat/course.md", "---\ntitle: T\ncode: C\nedition: 2026\nhours: 1\n---\n")
    found = problems(tree)
    assert ("courses/luat/course.md", 1, "error", "missing-key") in found


def test_duplicate_ids(tree):
    write(tree, "luat/02-nang-cao/01-quy-trinh.md", lesson("Q", "## B\n\nText", extra="id: chung\n"))
    write(tree, "luat/01-co-ban/02-nguyen-tac.md", lesson("N", "## B\n\nText", extra="id: chung\n"))
    found = problems(tree)
    assert ("courses/luat/02-nang-cao/01-quy-trinh.md", 4, "error", "duplicate-id") in found


def test_broken_link_to_a_lesson(tree):
    write(
        tree,
        "luat/02-nang-cao/01-quy-trinh.md",
        lesson("Q", "## B\n\nText\n\nXem [bài](../01-co-ban/09-khong-co.md)."),
    )
    # front matter is 4 lines, then a blank line: body line 5 is the first, the link is on line 10
    assert problems(tree) == [("courses/luat/02-nang-cao/01-quy-trinh.md", 10, "error", "broken-link")]


def test_broken_image_and_missing_alt_text(tree):
    write(
        tree,
        "luat/01-co-ban/01-khai-niem.md",
        lesson("K", "## A\n\n![](images/so-do.svg)\n\n![Ảnh](images/khong-co.png)\n"),
    )
    found = problems(tree)
    assert ("courses/luat/01-co-ban/01-khai-niem.md", 8, "error", "image-alt") in found
    assert ("courses/luat/01-co-ban/01-khai-niem.md", 10, "error", "broken-image") in found


def test_empty_lesson(tree):
    write(tree, "luat/01-co-ban/02-nguyen-tac.md", "---\ntitle: A\nminutes: 3\n---\n\n  \n")
    assert ("courses/luat/01-co-ban/02-nguyen-tac.md", 5, "error", "empty-lesson") in problems(tree)


def test_files_that_are_not_part_of_the_tree_are_warned_about(tree):
    write(tree, "luat/01-co-ban/ghi-chu.txt", "notes")
    write(tree, "luat/01-co-ban/images/thua.png", "png")
    found = problems(tree)
    assert ("courses/luat/01-co-ban/ghi-chu.txt", 1, "warning", "stray-file") in found
    assert ("courses/luat/01-co-ban/images/thua.png", 1, "warning", "unused-file") in found
    assert not check_tree(tree).errors  # warnings alone do not fail the check
    # A Markdown file that looks like a lesson but is misnamed is an error (test_authoring.py).


def test_links_out_of_the_tree_and_dangerous_schemes(tree):
    write(
        tree,
        "luat/01-co-ban/02-nguyen-tac.md",
        lesson("N", "## A\n\n[x](../../../etc/passwd)\n[y](javascript:alert(1))\n[z](/courses/x)\n"),
    )
    found = problems(tree)
    assert ("courses/luat/01-co-ban/02-nguyen-tac.md", 8, "error", "outside-tree") in found
    assert ("courses/luat/01-co-ban/02-nguyen-tac.md", 9, "error", "bad-scheme") in found
    assert ("courses/luat/01-co-ban/02-nguyen-tac.md", 10, "error", "absolute-link") in found


def test_a_courses_folder_that_does_not_exist_is_an_error_not_a_crash(tmp_path):
    """`mooc courses check` with MOOC_COURSES_DIR naming no folder: the check said so, then
    stopped with a FileNotFoundError while looking for the programmes' courses."""
    result = check_tree(tmp_path / "khong-co")
    assert [(p.code, p.severity) for p in result.problems] == [("no-courses", "error")]


def test_a_course_folder_with_a_bad_name_is_told_the_name_to_use(tree):
    write(tree, "Luật Mới/course.md", (tree / "luat/course.md").read_text(encoding="utf-8"))
    [problem] = [p for p in check_tree(tree).problems if p.code == "bad-name"]
    assert "'luat-moi'" in problem.message

def test_symlinks_are_refused(tree, tmp_path):
    outside = write(tmp_path, "secret.md", lesson("S", "secret"))
    os.symlink(outside, tree / "luat/01-co-ban/03-lien-ket.md")
    assert ("courses/luat/01-co-ban/03-lien-ket.md", 1, "error", "symlink") in problems(tree)


def test_oversized_files_are_refused(tree):
    write(tree, "luat/01-co-ban/02-nguyen-tac.md", lesson("N", "## A\n\n" + "chữ " * 200_000))
    assert ("courses/luat/01-co-ban/02-nguyen-tac.md", 1, "error", "too-large") in problems(tree)


def test_not_utf8(tree):
    legacy = unicodedata.normalize("NFD", "---\ntitle: Đúng\nminutes: 3\n---\n\nĐúng\n").encode("cp1258")
    (tree / "luat/01-co-ban/02-nguyen-tac.md").write_bytes(legacy)
    [(_path, _line, severity, code)] = problems(tree)
    assert (severity, code) == ("error", "encoding")


def test_raw_html_is_a_warning(tree):
    write(tree, "luat/01-co-ban/02-nguyen-tac.md", lesson("N", "## Mục 2\n\n<script>alert(1)</script>\n"))
    assert problems(tree) == [("courses/luat/01-co-ban/02-nguyen-tac.md", 8, "warning", "raw-html")]


def test_cli_prints_path_line_and_exits_1(app, tree):
    write(tree, "luat/01-co-ban/02-nguyen-tac.md", lesson("A", "## X\n\nY", extra="minuts: 5\n"))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["courses", "check", str(tree)])
    assert result.exit_code == 1
    assert (
        "courses/luat/01-co-ban/02-nguyen-tac.md:4: error: phần đầu tệp không nhận khóa 'minuts'"
        in result.output
    )
    as_json = runner.invoke(args=["courses", "check", str(tree), "--format", "json"])
    data = json.loads(as_json.output)
    assert data["ok"] is False and data["problems"][0]["line"] == 4
    write(tree, "luat/01-co-ban/02-nguyen-tac.md", lesson("A", "## X\n\nY"))
    assert runner.invoke(args=["courses", "check", str(tree)]).exit_code == 0


# --- quizzes that can be farmed ------------------------------------------------------------


def _pool_quiz(review: str, attempts: int, pool: int, draw: int | None = None, pass_percent: int = 80) -> str:
    front = f"---\ntitle: Kiểm tra\npass_percent: {pass_percent}\nattempts: {attempts}\nreview: {review}\n"
    front += f"draw: {draw}\n---\n" if draw else "---\n"
    questions = "".join(
        f"\n## Câu {n} {{#cau-{n}}}\n\n- [x] Đúng\n- [ ] Sai\n\n> Giải thích {n}.\n" for n in range(pool)
    )
    return front + questions


FARMING = "courses/luat/01-co-ban/09-kiem-tra.quiz.md"


@pytest.mark.parametrize(
    "review, attempts, pool, draw, pass_percent, warned",
    [
        ("after_submit_with_key", 3, 10, None, 80, True),  # the shipped quizzes before: every question back
        ("after_submit_with_key", 0, 30, 5, 80, True),  # unlimited attempts: the whole pool, in time
        ("after_submit_with_key", 3, 15, 10, 80, True),  # 1 - (1/3)^2 = 89% seen by the third attempt
        ("after_submit_with_key", 2, 15, 10, 80, False),  # 67% seen before the last attempt
        ("after_submit_with_key", 3, 15, 10, 90, False),  # 89% < 90%
        ("after_submit_with_key", 1, 10, None, 80, False),  # one attempt: the key comes too late to help
        ("after_submit", 3, 10, None, 80, False),  # marks only, no key
        ("after_close", 3, 10, None, 80, False),
        ("after_pass", 3, 10, None, 80, False),
        ("after_last_attempt", 3, 10, None, 80, False),
        ("never", 3, 10, None, 80, False),
    ],
)
def test_a_counted_quiz_that_shows_its_key_to_questions_that_come_back_is_warned(
    tree, review, attempts, pool, draw, pass_percent, warned
):
    write(tree, "luat/01-co-ban/09-kiem-tra.quiz.md", _pool_quiz(review, attempts, pool, draw, pass_percent))
    found = [p for p in check_tree(tree).problems if p.code == "review-farming"]
    assert [(p.path, p.line, p.severity) for p in found] == ([(FARMING, 5, "warning")] if warned else [])
    if warned:
        assert "counts towards completion" in found[0].message and "after_close" in found[0].message


@pytest.mark.parametrize(("completion", "warned"), [
    ("{quizzes: none}", False),
    ("{quizzes: [co-ban/khac]}", False),
    ("{quizzes: [co-ban/kiem-tra]}", True),
    ("{quizzes: all}", True),
])
def test_a_practice_quiz_that_does_not_count_may_show_its_key(tree, completion, warned):
    course = (tree / "luat/course.md").read_text(encoding="utf-8")
    course = course.replace("language: vi\n", f"language: vi\ncompletion: {completion}\n")
    write(tree, "luat/course.md", course)
    write(tree, "luat/01-co-ban/09-kiem-tra.quiz.md", _pool_quiz("after_submit_with_key", 3, 4))
    write(tree, "luat/01-co-ban/08-khac.quiz.md", _pool_quiz("after_close", 3, 4))
    codes = [p.code for p in check_tree(tree).problems]
    assert ("review-farming" in codes) is warned, codes



def test_the_shipped_quizzes_draw_from_larger_pools_and_keep_their_key():
    from mooc.formats.quiz_review import farming_risk

    root = Path(__file__).resolve().parents[2] / "courses"
    result = check_tree(root)
    assert len(result.quizzes) >= 8
    for path, quiz in result.quizzes.items():
        settings = quiz.settings
        assert settings.review in ("after_close", "after_pass", "after_last_attempt"), path
        assert settings.draw and settings.draw <= len(quiz.questions) * 3 // 4, (path, settings.draw)
        assert farming_risk(settings, len(quiz.questions)) is None, path
        for question in quiz.questions:
            assert question.explanation_md.strip(), (path, question.key)


def test_quiz_problems_are_the_one_problem_of_every_check(tmp_path):
    """The quiz format and the courses check share one Problem: what `mooc courses check`
    prints, annotates for GitHub and writes as JSON is the quiz parser's own object."""
    text = "---\ntitle: Kiểm tra\n---\n\n## Câu hỏi {#q}\n"
    quiz, problems = parse_quiz(text, path="a.quiz.md")
    assert quiz is None and problems and all(type(p) is Problem for p in problems)
    first = problems[0]
    assert first.format() == str(first)
    assert first.github().startswith(f"::error file=a.quiz.md,line={first.line},title={first.code}::")
    assert first.as_dict()["code"] == first.code

    tree = make_tree(tmp_path / "courses")
    write(tree, "luat/01-co-ban/09-kiem-tra.quiz.md", text)
    found = [p for p in check_tree(tree).problems if p.path.endswith("09-kiem-tra.quiz.md")]
    assert found and all(type(p) is Problem for p in found)
    assert [(p.line, p.code) for p in found] == [(p.line, p.code) for p in problems]
