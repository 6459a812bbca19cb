"""`mooc courses check` on programmes (courses/_chuong-trinh/*.md): each problem with path:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from mooc.courses.check import check_tree
from mooc.formats.program import parse_program
from tests.courses.tree import lesson, write
from tests.training.programs_tree import PROGRAM, make_programs_tree

HEAD = '---\ntitle: "T"\ncode: "C-{n}"\nsummary: "S"\n---\n\n## Các bước\n\n'


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return make_programs_tree(tmp_path / "courses")


def problems(root: Path) -> list[tuple[str, int, str, str]]:
    return [(p.path, p.line, p.severity, p.code) for p in check_tree(root).problems]


def program(tree: Path, name: str, steps: str, n: int = 1) -> str:
    write(tree, f"_chuong-trinh/{name}.md", HEAD.format(n=n) + steps)
    return f"courses/_chuong-trinh/{name}.md"


def test_a_good_programme_is_read_with_its_steps(tree):
    result = check_tree(tree)
    assert result.problems == [] and result.summary()["programs"] == 1
    steps = result.program_steps["moi"]
    assert [(s.line, s.courses, s.pick, s.after_previous) for s in steps] == [
        (11, ("co-ban",), 1, False),
        (12, ("tiep-dan",), 1, True),
        (13, ("van-ban", "giam-sat"), 1, True),
    ]


def test_the_shipped_programme_is_clean_and_uses_the_shipped_courses():
    root = Path(__file__).resolve().parents[2] / "courses"
    result = check_tree(root)
    assert [p.format() for p in result.problems] == []
    assert result.summary()["programs"] >= 1
    shipped = {c.key for c in result.courses}
    for steps in result.program_steps.values():
        assert {c for s in steps for c in s.courses} <= shipped


def test_an_unknown_course_is_named_with_its_line_and_a_suggestion(tree):
    path = program(tree, "sai", "1. co-ban\n2. tiep-dann (sau bước trước)\n")
    assert problems(tree) == [(path, 10, "error", "unknown-course")]
    message = next(p.message for p in check_tree(tree).problems)
    assert "tiep-dann" in message and "'tiep-dan'" in message


def test_a_cycle_of_programmes_is_an_error_at_each_include(tree):
    a = program(tree, "a", "1. co-ban\n2. chương trình: b\n", 1)
    b = program(tree, "b", "1. program: a\n", 2)
    assert problems(tree) == [(a, 10, "error", "program-cycle"), (b, 9, "error", "program-cycle")]


def test_an_included_programme_puts_its_steps_in_place(tree):
    program(tree, "chinh", "1. chương trình: moi\n2. giam-sat (tự chọn)\n", 3)
    result = check_tree(tree)
    assert result.problems[0].code == "duplicate-course"  # giam-sat is an option of moi's step 3
    program(tree, "chinh", "1. chương trình: moi\n2. 1 of: tiep-dan\n", 3)
    assert problems(tree)[0][3] == "duplicate-course"


def test_empty_choice_too_many_and_syntax(tree):
    path = program(tree, "x", "1. 1 trong:\n2. 3 trong: co-ban, van-ban\n3. Học khóa cơ bản\n"
                   "- co-ban\n4. giam-sat (bắt buộc)\n")
    assert problems(tree) == [
        (path, 9, "error", "empty-choice"),
        (path, 10, "error", "choice-too-many"),
        (path, 11, "error", "bad-id"),
        (path, 11, "error", "step-syntax"),
        (path, 12, "error", "step-syntax"),
        (path, 13, "error", "step-marker"),
    ]


def test_no_steps_first_step_prerequisite_missing_key_and_unknown_programme(tree):
    write(tree, "_chuong-trinh/rong.md", '---\ntitle: "T"\ncode: "R"\nsummary: "S"\n---\n\nChỉ có lời.\n')
    write(tree, "_chuong-trinh/dau.md", HEAD.format(n=5) + "1. co-ban (sau bước trước)\n")
    write(tree, "_chuong-trinh/thieu.md", '---\ntitle: "T"\nsummary: "S"\n---\n\n## Các bước\n\n1. co-ban\n')
    write(tree, "_chuong-trinh/goi.md", HEAD.format(n=6) + "1. chương trình: khong-co\n")
    assert problems(tree) == [
        ("courses/_chuong-trinh/dau.md", 9, "error", "first-step-prerequisite"),
        ("courses/_chuong-trinh/goi.md", 9, "error", "unknown-program"),
        ("courses/_chuong-trinh/rong.md", 6, "error", "no-steps"),
        ("courses/_chuong-trinh/thieu.md", 1, "error", "missing-key"),
    ]


def test_two_programmes_with_one_code_and_a_stray_file(tree):
    write(tree, "_chuong-trinh/khac.md", PROGRAM)
    write(tree, "_chuong-trinh/ghi-chu.txt", "x")
    assert problems(tree) == [
        ("courses/_chuong-trinh/ghi-chu.txt", 1, "warning", "stray-file"),
        ("courses/_chuong-trinh/moi.md", 3, "error", "duplicate-code"),
    ]


def test_line_numbers_do_not_change_the_content_hash():
    program_a, _ = parse_program(PROGRAM.encode(), "a.md", "a")
    program_b, _ = parse_program(PROGRAM.replace("## Các bước\n", "## Các bước\n\n\n").encode(), "a.md", "a")
    assert program_a and program_b
    assert program_a.steps[0].line != program_b.steps[0].line
    assert program_a.content_hash(program_a.steps) == program_b.content_hash(program_b.steps)


def test_a_file_that_is_not_utf8_is_refused_with_its_line():
    _program, found = parse_program(b"---\ntitle: x\n\xff\n", "p.md", "p")
    assert [(p.line, p.code) for p in found] == [(3, "encoding")]


def test_a_programme_of_optional_steps_only_is_refused_at_its_first_step(tree):
    """Nothing required: it could never be completed (a certificate nobody can earn)."""
    path = program(tree, "tuy-y", "1. co-ban (tự chọn)\n2. tiep-dan (tự chọn)\n", 7)
    assert problems(tree) == [(path, 9, "error", "only-optional-steps")]
    program(tree, "tuy-y", "1. co-ban (tự chọn)\n2. tiep-dan\n", 7)
    assert problems(tree) == []


def test_the_introduction_is_checked_as_a_lesson_is_at_the_programme_file_s_lines(tree):
    """The introduction is rendered like a lesson: what its page would show as written or drop
    is told at the programme file's line, as in a lesson (tests/courses/test_author_mistakes.py)."""
    intro = ("Chương trình **bắt buộc cho công chức mới.\n\n"  # 7: never closed
             "Theo Luật[^1] và [Luật Thanh tra]\n[luat].\n\n"  # 9: no note; 9-10: no definition
             "<iframe src=\"https://example.vn\"></iframe>\n\n"  # 12: dropped with what it shows
             "Xem [khóa cơ bản](../co-ban/course.md) và [bài](../co-ban/01-mot/02-khong-co.md).\n")  # 14
    write(tree, "_chuong-trinh/moi.md", PROGRAM.replace("Giới thiệu chương trình.\n", intro))
    path = "courses/_chuong-trinh/moi.md"
    found = check_tree(tree).problems
    assert sorted((p.path, p.line, p.severity, p.code) for p in found) == [
        (path, 7, "warning", "unclosed-markup"), (path, 9, "error", "footnote-undefined"),
        (path, 9, "error", "reference-undefined"), (path, 12, "error", "raw-html"),
        (path, 14, "error", "broken-link")], [p.format() for p in found]
    note = next(p.message for p in found if p.code == "footnote-undefined")
    assert "ở cuối phần giới thiệu của chương trình, trước tiêu đề '## Các bước'" in note
    # written right: nothing to say
    right = ("Chương trình **bắt buộc** cho công chức mới.\n\nTheo Luật[^1] và [Luật Thanh tra][luat].\n\n"
             "Xem [khóa cơ bản](../co-ban/course.md).\n\n[^1]: Luật 84/2025/QH15.\n"
             "[luat]: https://vbpl.vn/84\n")
    write(tree, "_chuong-trinh/moi.md", PROGRAM.replace("Giới thiệu chương trình.\n", right))
    assert check_tree(tree).problems == []


def test_text_after_the_steps_is_told_not_dropped(tree):
    """The steps end at the next heading; what follows is shown nowhere (not the introduction,
    not a step): a warning at that heading, so it is moved or deleted on purpose."""
    write(tree, "_chuong-trinh/moi.md", PROGRAM + "\n## Ghi chú\n\nLiên hệ phòng tổ chức cán bộ.\n")
    found = check_tree(tree).problems
    assert [(p.path, p.line, p.severity, p.code) for p in found] == [
        ("courses/_chuong-trinh/moi.md", 15, "warning", "after-steps")], [p.format() for p in found]
    assert "trước tiêu đề '## Các bước'" in found[0].message


def test_a_link_to_a_course_folder_that_does_not_exist_names_the_nearest(tree):
    """'../co-bann/course.md' is a misspelt course, not a file outside the courses: told as a
    broken link with the course meant (it was 'outside-tree: copy the file into the course')."""
    write(tree, "_chuong-trinh/moi.md", PROGRAM.replace(
        "Giới thiệu chương trình.\n", "Bắt đầu với [khóa cơ bản](../co-bann/course.md).\n"))
    write(tree, "co-ban/01-mot/01-bai.md", lesson("Bài", "Xem [khóa](../../tiep-dann/course.md)."))
    found = check_tree(tree).problems
    assert [(p.path, p.line, p.code) for p in found] == [
        ("courses/_chuong-trinh/moi.md", 7, "broken-link"),
        ("courses/co-ban/01-mot/01-bai.md", 6, "broken-link")]
    assert "có phải là 'co-ban'?" in found[0].message and "did you mean 'tiep-dan'?" in found[1].message
