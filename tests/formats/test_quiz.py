"""Tests for mooc.formats.quiz: the quiz file syntax, its problems and their line numbers.

Every expected line number is counted by hand in the text of the test.
"""

from __future__ import annotations

import unicodedata
from decimal import Decimal
from pathlib import Path

import pytest

from mooc.formats.problem import Problem
from mooc.formats.quiz import (
    ChoiceSource,
    NumericAnswer,
    NumericRange,
    QuizSettings,
    choice_key,
    normalize_answer,
    parse_number,
    parse_numeric_answer,
    parse_quiz,
)

FM = "---\ntitle: Kiểm tra\n---\n"  # 3 lines: a question heading right after it is line 4

EXAMPLE = """\
---
title: Kiểm tra chương 1
pass_percent: 80
attempts: 3          # 0 = unlimited
time_limit: 20       # minutes; absent = none
draw: 1
shuffle: true
review: after_pass
partial_credit: false
---

Optional intro text (Markdown) before the first question.

## Ai ký quyết định thanh tra? {#ky-quyet-dinh}

Question text in Markdown.

- [ ] Thanh tra viên
- [x] Thủ trưởng cơ quan thanh tra
- [ ] Trưởng đoàn thanh tra

> Explanation shown at review time.
"""


def parse(body: str, front: str = FM):
    return parse_quiz(front + body, "q.quiz.md")


def problems_of(body: str, front: str = FM) -> list[tuple[int, str, str]]:
    return [(p.line, p.severity, p.code) for p in parse(body, front)[1]]


def one(body: str, front: str = FM):
    quiz, problems = parse(body, front)
    assert quiz is not None, problems
    assert len(quiz.questions) == 1
    return quiz.questions[0]


TF = "\n- [x] Đúng\n- [ ] Sai\n\n> Vì thế.\n"  # a complete answer part, 5 lines


# --- the example of the brief ---------------------------------------------------------


def test_example_parses_completely():
    quiz, problems = parse_quiz(EXAMPLE, "a.quiz.md")
    assert problems == []
    assert quiz is not None
    assert quiz.title == "Kiểm tra chương 1"
    assert quiz.settings == QuizSettings(
        pass_percent=80,
        attempts=3,
        time_limit=20,
        draw=1,
        shuffle=True,
        review="after_pass",
        partial_credit=False,
    )
    assert quiz.intro_md == "Optional intro text (Markdown) before the first question."
    (q,) = quiz.questions
    assert q.key == "ky-quyet-dinh"
    assert q.type == "single"
    assert q.title == "Ai ký quyết định thanh tra?"
    assert q.body_md == "Question text in Markdown."
    assert [(c.text_md, c.correct, c.line) for c in q.choices] == [
        ("Thanh tra viên", False, 18),
        ("Thủ trưởng cơ quan thanh tra", True, 19),
        ("Trưởng đoàn thanh tra", False, 20),
    ]
    assert q.explanation_md == "Explanation shown at review time."
    assert q.points == 1 and q.partial is False and q.shuffle is True
    assert q.line == 14


def test_defaults_when_settings_are_absent():
    quiz, problems = parse("## Q {#q}\n" + TF)
    assert problems == []
    assert quiz.settings == QuizSettings()
    assert quiz.settings.pass_percent == 80
    assert quiz.settings.attempts == 0
    assert quiz.settings.time_limit is None
    assert quiz.settings.draw is None
    assert quiz.settings.shuffle is False
    assert quiz.settings.review == "after_submit"
    assert quiz.settings.partial_credit is False
    assert quiz.intro_md == ""


def test_problem_str_is_path_line_severity_message_code():
    p = Problem("a.quiz.md", 7, "error", "no-answers", "question 'x' has no choices")
    assert str(p) == "a.quiz.md:7: error: question 'x' has no choices [no-answers]"


# --- front matter problems -------------------------------------------------------------


def test_front_matter_missing():
    assert problems_of("## Q {#q}\n" + TF, front="") == [(1, "error", "front-matter-missing")]
    quiz, _ = parse("## Q {#q}\n" + TF, front="")
    assert quiz is None


def test_front_matter_unclosed():
    assert problems_of("", front="---\ntitle: X\n") == [
        (1, "error", "front-matter-unclosed"),
        (2, "error", "no-questions"),
    ]


def test_front_matter_not_yaml_reports_the_line():
    front = "---\ntitle: X\npass_percent: [80\nattempts: 2\n---\n"
    problems = problems_of("## Q {#q}\n" + TF, front)
    assert problems[0][1:] == ("error", "front-matter-yaml")
    assert 3 <= problems[0][0] <= 5


def test_front_matter_yaml_error_line_is_exact_for_a_bad_quote():
    front = '---\ntitle: X\nreview: "after_pass\n---\n'
    assert problems_of("## Q {#q}\n" + TF, front)[0] == (3, "error", "front-matter-yaml")


def test_front_matter_must_be_a_mapping():
    assert problems_of("## Q {#q}\n" + TF, "---\n- a\n- b\n---\n")[0] == (2, "error", "front-matter-yaml")


def test_unknown_setting_at_its_line():
    front = "---\ntitle: X\npass_precent: 70\n---\n"
    problems = parse("## Q {#q}\n" + TF, front)[1]
    assert [(p.line, p.code) for p in problems] == [(3, "unknown-setting")]
    assert "pass_precent" in problems[0].message


def test_file_id_is_left_to_the_course_layer():
    quiz, problems = parse("## Q {#q}\n" + TF, "---\ntitle: X\nid: kiem-tra-chuong-1\n---\n")
    assert problems == [] and quiz is not None


def test_duplicate_setting_names_both_lines():
    front = "---\ntitle: X\nattempts: 1\nattempts: 2\n---\n"
    (problem,) = parse("## Q {#q}\n" + TF, front)[1]
    assert (problem.line, problem.code) == (4, "duplicate-setting")
    assert "3" in problem.message and "4" in problem.message


def test_missing_title():
    assert problems_of("## Q {#q}\n" + TF, "---\nattempts: 1\n---\n") == [(1, "error", "missing-title")]


@pytest.mark.parametrize(
    "setting",
    [
        "title: ''",
        "title: [a, b]",
        "pass_percent: 101",
        "pass_percent: -1",
        "pass_percent: '80'",
        "pass_percent: 80.5",
        "pass_percent: true",
        "pass_percent:",
        "attempts: -1",
        "attempts: 1.5",
        "time_limit: 0",
        "time_limit: -5",
        "time_limit: 20 minutes",
        "draw: 0",
        "shuffle: maybe",
        "shuffle: 1",
        "partial_credit: 1",
        "review: sometimes",
        "review: true",
    ],
)
def test_invalid_setting_value_at_its_line(setting):
    front = (
        f"---\ntitle: X\n{setting}\n---\n" if not setting.startswith("title") else f"---\n{setting}\n---\n"
    )
    line = 3 if not setting.startswith("title") else 2
    assert problems_of("## Q {#q}\n" + TF, front) == [(line, "error", "invalid-setting")]


@pytest.mark.parametrize(
    ("setting", "field", "value"),
    [
        ("pass_percent: 0", "pass_percent", 0),
        ("pass_percent: 100", "pass_percent", 100),
        ("attempts: 0", "attempts", 0),
        ("time_limit: 1", "time_limit", 1),
        ("time_limit:", "time_limit", None),
        ("draw: 1", "draw", 1),
        ("shuffle: yes", "shuffle", True),
        ("review: never", "review", "never"),
        ("review: after_close", "review", "after_close"),
        ("review: after_submit_with_key", "review", "after_submit_with_key"),
        ("review: after_pass", "review", "after_pass"),
        ("review: after_last_attempt\nattempts: 3", "review", "after_last_attempt"),
        ("partial_credit: true", "partial_credit", True),
    ],
)
def test_valid_setting_values(setting, field, value):
    quiz, problems = parse("## Q {#q}\n" + TF, f"---\ntitle: X\n{setting}\n---\n")
    assert problems == []
    assert getattr(quiz.settings, field) == value


def test_draw_larger_than_the_pool_at_the_draw_line():
    front = "---\ntitle: X\nshuffle: true\ndraw: 3\n---\n"
    body = "## A {#a}\n" + TF + "\n## B {#b}\n" + TF
    problems = parse(body, front)[1]
    assert [(p.line, p.code) for p in problems] == [(4, "draw-too-large")]
    assert "3" in problems[0].message and "2" in problems[0].message


def test_unknown_review_policy_lists_the_policies():
    problems = parse("## Q {#q}\n" + TF, "---\ntitle: X\nreview: after_fail\n---\n")[1]
    assert [(p.line, p.code) for p in problems] == [(3, "invalid-setting")]
    for policy in ("after_submit_with_key", "after_last_attempt", "after_close", "never"):
        assert policy in problems[0].message


def test_after_last_attempt_with_unlimited_attempts_is_a_warning():
    front = "---\ntitle: X\nattempts: 0\nreview: after_last_attempt\n---\n"
    quiz, problems = parse("## Q {#q}\n" + TF, front)
    assert quiz is not None
    assert [(p.line, p.severity, p.code) for p in problems] == [(4, "warning", "review-never-shown")]
    assert "after_close" in problems[0].message


def test_title_with_script_is_refused():
    assert problems_of("## Q {#q}\n" + TF, "---\ntitle: a <script>x</script>\n---\n") == [
        (2, "error", "raw-script")
    ]


# --- question problems ------------------------------------------------------------------


def test_empty_quiz():
    assert problems_of("") == [(3, "error", "no-questions")]
    assert problems_of("\nSome intro only.\n") == [(4, "error", "no-questions")]


def test_question_without_key():
    assert problems_of("## Ai ký?\n" + TF) == [(4, "error", "missing-key")]
    assert problems_of("## Tập {1,2}\n" + TF) == [(4, "error", "missing-key")]
    assert problems_of("## Q {points=2}\n" + TF) == [(4, "error", "missing-key")]


@pytest.mark.parametrize("key", ["Ky", "ky_quyet", "-ky", "ky-", "kỳ", "a" * 65, ""])
def test_invalid_key(key):
    assert problems_of(f"## Q {{#{key}}}\n" + TF) == [(4, "error", "invalid-key")]


@pytest.mark.parametrize("key", ["a", "9", "ky-quyet-dinh", "nq198", "a" * 64, "a--b"])
def test_valid_key(key):
    assert one(f"## Q {{#{key}}}\n" + TF).key == key


def test_two_keys_in_one_heading():
    assert problems_of("## Q {#a #b}\n" + TF) == [(4, "error", "invalid-key")]


def test_key_may_come_after_other_attributes():
    q = one("## Q {points=2 #q}\n" + TF)
    assert (q.key, q.points) == ("q", 2)


def test_duplicate_key_names_both_lines():
    body = "## A {#same}\n" + TF + "\n## B {#same}\n" + TF
    # lines: 4 heading A, 5-9 answer part, 10 blank, 11 heading B
    (problem,) = parse(body)[1]
    assert (problem.line, problem.severity, problem.code) == (11, "error", "duplicate-key")
    assert "lines 4 and 11" in problem.message


def test_unknown_and_invalid_attributes():
    assert problems_of("## Q {#q weight=2}\n" + TF) == [(4, "error", "unknown-attribute")]
    assert problems_of("## Q {#q .class}\n" + TF) == [(4, "error", "unknown-attribute")]
    assert problems_of("## Q {#q points=0}\n" + TF) == [(4, "error", "invalid-attribute")]
    assert problems_of("## Q {#q points=x}\n" + TF) == [(4, "error", "invalid-attribute")]
    assert problems_of("## Q {#q points=1001}\n" + TF) == [(4, "error", "invalid-attribute")]
    assert problems_of("## Q {#q shuffle=no}\n" + TF) == [(4, "error", "unknown-attribute")]


def test_empty_heading():
    assert problems_of("## {#q}\n" + TF) == [(4, "error", "empty-title")]
    assert (4, "error", "empty-title") in problems_of("##\n" + TF)


def test_no_correct_choice():
    body = "## Ai ký? {#ky-quyet-dinh}\n\n- [ ] A\n- [ ] B\n\n> X\n"
    (problem,) = parse(body)[1]
    assert (problem.line, problem.code) == (4, "no-correct-choice")
    assert problem.message == ("câu hỏi 'ky-quyet-dinh' chưa có phương án đúng: đánh dấu phương án đúng bằng "
                               "'- [x]' / question 'ky-quyet-dinh' has no correct choice ('- [x]')")


def test_choices_then_answers_is_mixed():
    body = "## Q {#q}\n\n- [x] A\n- [ ] B\n= A\n\n> X\n"
    assert problems_of(body) == [(8, "error", "mixed-answers")]


def test_answers_then_choices_is_mixed():
    body = "## Q {#q}\n\n= A\n\n- [x] A\n- [ ] B\n\n> X\n"
    assert problems_of(body) == [(8, "error", "mixed-answers"), (9, "error", "mixed-answers")]


def test_no_choices_and_no_answers():
    body = "## Q {#q}\n\nJust text.\n\n> Explanation.\n"
    assert problems_of(body) == [(4, "error", "no-answers")]
    assert problems_of("## Q {#q}\n") == [(4, "error", "no-answers")]


def test_only_one_choice():
    assert problems_of("## Q {#q}\n\n- [x] A\n\n> X\n") == [(6, "error", "one-choice")]


def test_true_false_with_both_or_neither_ticked():
    both = "## Q {#q}\n\n- [x] Đúng\n- [x] Sai\n\n> X\n"
    neither = "## Q {#q}\n\n- [ ] Đúng\n- [ ] Sai\n\n> X\n"
    assert problems_of(both) == [(4, "error", "true-false-ticks")]
    assert problems_of(neither) == [(4, "error", "true-false-ticks")]
    assert "both" in parse(both)[1][0].message
    assert "neither" in parse(neither)[1][0].message


@pytest.mark.parametrize("answer", ["5..1", "45 ± x", "45 ± -2", "45 +- ", "1..", "2,5..1,5", "10 +/- abc"])
def test_unparsable_numeric_answer(answer):
    body = f"## Q {{#q}}\n\n= {answer}\n\n> X\n"
    (problem,) = parse(body)[1]
    assert (problem.line, problem.severity, problem.code) == (6, "error", "bad-number")


def test_bad_number_among_good_ones_reports_its_own_line():
    body = "## Q {#q}\n\n= 45\n= 46 ± abc\n\n> X\n"
    assert problems_of(body) == [(7, "error", "bad-number")]


def test_empty_answer_and_empty_choice():
    assert problems_of("## Q {#q}\n\n=\n\n> X\n") == [(6, "error", "empty-answer")]
    assert problems_of("## Q {#q}\n\n- [x]\n- [ ] B\n\n> X\n") == [(6, "error", "empty-choice")]


def test_duplicate_choice_names_both_lines():
    body = "## Q {#q}\n\n- [x] Hai cấp\n- [ ] Ba cấp\n- [ ]  Hai  cấp\n\n> X\n"
    (problem,) = parse(body)[1]
    assert (problem.line, problem.code) == (8, "duplicate-choice")
    assert "lines 6 and 8" in problem.message


def test_text_between_questions_is_an_error():
    body = "## A {#a}\n" + TF + "\nA stray paragraph.\nstill stray.\n\n## B {#b}\n" + TF
    # lines: 4 heading, 5..9 answer part (9 is the explanation), 10 blank, 11 stray
    quiz, problems = parse(body)
    assert [(p.line, p.severity, p.code) for p in problems] == [(11, "error", "stray-text")]
    assert quiz is None  # no trainee would see the paragraph: the file is not loaded until it is placed


def test_text_after_choices_before_explanation_is_stray():
    body = "## Q {#q}\n\n- [x] A\n- [ ] B\n\nA note.\n\n> X\n"
    quiz, problems = parse(body)
    assert [(p.line, p.code) for p in problems] == [(9, "stray-text")]
    assert quiz is None


def test_nested_choice_is_an_error():
    body = "## Q {#q}\n\n- [x] A\n  - [x] A1\n- [ ] B\n\n> X\n"
    assert problems_of(body) == [(7, "error", "nested-choice")]


def test_nested_choice_under_a_plain_list_in_the_body():
    body = "## Q {#q}\n\n- point\n    - [ ] sub\n\n- [x] A\n- [ ] B\n\n> X\n"
    assert problems_of(body) == [(7, "error", "nested-choice")]


@pytest.mark.parametrize(
    ("body", "line"),
    [
        ("## Q <script>x</script> {#q}\n" + TF, 4),
        ("## Q {#q}\n\n<script>alert(1)</script>\n" + TF, 6),
        ("## Q {#q}\n\n- [x] <SCRIPT src=x>\n- [ ] B\n\n> X\n", 6),
        ("## Q {#q}\n\n- [x] A\n- [ ] B\n\n> see < script>\n", 9),
        ("## Q {#q}\n\n- [x] A\n- [ ] B\n\n> ok\n</script>\n", 10),
    ],
)
def test_script_is_an_error(body, line):
    assert (line, "error", "raw-script") in problems_of(body)


def test_script_in_the_intro_is_an_error():
    assert problems_of("\n<script>x</script>\n\n## Q {#q}\n" + TF) == [(5, "error", "raw-script")]


def test_script_inside_code_is_only_text():
    body = "## Q {#q}\n\nUse `<script>` never.\n\n```html\n<script>alert(1)</script>\n```\n" + TF
    quiz, problems = parse(body)
    assert problems == []
    assert "<script>alert(1)</script>" in quiz.questions[0].body_md


def test_unclosed_code_block():
    body = "## A {#a}\n\n```\ncode\n\n- [x] A\n- [ ] B\n\n> X\n\n## B {#b}\n" + TF
    assert (6, "error", "unclosed-code") in problems_of(body)


def test_missing_explanation_is_a_warning():
    quiz, problems = parse("## Q {#q}\n\n- [x] A\n- [ ] B\n")
    assert [(p.line, p.severity, p.code) for p in problems] == [(4, "warning", "missing-explanation")]
    assert quiz is not None


def test_answers_after_the_explanation():
    body = "## Q {#q}\n\n- [x] A\n- [ ] B\n\n> X\n\n- [ ] C\n"
    assert problems_of(body) == [(11, "error", "misplaced-answer")]
    body = "## Q {#q}\n\n= A\n\n> X\n= B\n"
    assert problems_of(body) == [(9, "error", "misplaced-answer")]


def test_choices_in_the_intro():
    body = "\n- [x] Đọc bài trước\n\n## Q {#q}\n" + TF
    assert problems_of(body) == [(5, "error", "answers-outside-question")]


def test_attributes_that_do_not_apply_are_warnings():
    assert problems_of("## Q {#q partial}\n" + TF) == [(4, "warning", "ignored-attribute")]
    assert problems_of("## Q {#q exact}\n\n- [x] A\n- [ ] B\n\n> X\n") == [
        (4, "warning", "ignored-attribute")
    ]
    assert problems_of("## Q {#q case}\n\n= 5\n\n> X\n") == [(4, "warning", "ignored-attribute")]
    assert problems_of("## Q {#q shuffle=false}\n\n= abc\n\n> X\n") == [(4, "warning", "ignored-attribute")]


def test_duplicate_short_answer_is_a_warning_per_match_mode():
    body = "## Q {#q}\n\n= 84/2025/QH15\n= 84/2025/qh15\n\n> X\n"
    assert problems_of(body) == [(7, "warning", "duplicate-answer")]
    body = "## Q {#q case}\n\n= COUNTIFS\n= countifs\n\n> X\n"
    assert problems_of(body) == []
    body = "## Q {#q exact}\n\n= Khánh Hòa\n= Khánh  Hoà\n\n> X\n"
    assert problems_of(body) == [(7, "warning", "duplicate-answer")]


def test_line_offset_is_added_to_every_line():
    text = FM + "## Q {#q}\n\n- [x] A\n\n> X\n"
    (problem,) = parse_quiz(text, "course.md", line_offset=100)[1]
    assert (problem.path, problem.line) == ("course.md", 106)


def test_problems_are_sorted_by_line_and_parsing_goes_on():
    body = "## A\n" + TF + "\n## B {#B}\n" + TF + "\n## C {#c}\n\n- [ ] x\n- [ ] y\n"
    assert problems_of(body) == [
        (4, "error", "missing-key"),
        (11, "error", "invalid-key"),
        (18, "error", "no-correct-choice"),
        (18, "warning", "missing-explanation"),
    ]


# --- question types ---------------------------------------------------------------------


def test_single_choice():
    q = one("## Q {#q}\n\n- [ ] A\n- [x] B\n- [ ] C\n\n> X\n")
    assert q.type == "single"
    assert [c.correct for c in q.choices] == [False, True, False]


def test_multiple_choice():
    q = one("## Q {#q}\n\n- [x] A\n- [X] B\n- [ ] C\n\n> X\n")
    assert q.type == "multiple"
    assert [c.correct for c in q.choices] == [True, True, False]
    assert q.partial is False


@pytest.mark.parametrize(("bullet"), ["-", "*", "+"])
def test_any_list_bullet(bullet):
    q = one(f"## Q {{#q}}\n\n{bullet} [x] A\n{bullet} [ ] B\n\n> X\n")
    assert q.type == "single"


@pytest.mark.parametrize(
    "pair", [("Đúng", "Sai"), ("Sai", "Đúng"), ("True", "False"), ("TRUE", "false"), ("ĐÚNG", "sai")]
)
def test_true_false(pair):
    q = one(f"## Q {{#q}}\n\n- [x] {pair[0]}\n- [ ] {pair[1]}\n\n> X\n")
    assert q.type == "true_false"
    assert [c.text_md for c in q.choices] == list(pair)


def test_two_other_choices_are_single_not_true_false():
    assert one("## Q {#q}\n\n- [x] Có\n- [ ] Không\n\n> X\n").type == "single"
    assert one("## Q {#q}\n\n- [x] Đúng\n- [ ] False\n\n> X\n").type == "single"


def test_short_answer():
    q = one("## Q {#q}\n\n= Thanh tra Chính phủ\n=TTCP\n\n> X\n")
    assert q.type == "short"
    assert q.answers == ("Thanh tra Chính phủ", "TTCP")
    assert q.match_mode == "fold"


def test_short_answer_match_modes():
    assert one("## Q {#q exact}\n\n= A\n\n> X\n").match_mode == "exact"
    assert one("## Q {#q case}\n\n= A\n\n> X\n").match_mode == "case"
    assert one("## Q {#q exact case}\n\n= A\n\n> X\n").match_mode == "exact"


def test_text_and_number_answers_make_a_short_answer():
    q = one("## Q {#q}\n\n= 15\n= mười lăm\n\n> X\n")
    assert q.type == "short"
    assert q.answers == ("15", "mười lăm")


def test_legal_reference_is_a_short_answer_not_a_number():
    assert one("## Q {#q}\n\n= 84/2025/QH15\n\n> X\n").type == "short"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("= 45", NumericAnswer(Decimal("45"), Decimal("0"))),
        ("= 45 ± 2", NumericAnswer(Decimal("45"), Decimal("2"))),
        ("= 45 +- 2", NumericAnswer(Decimal("45"), Decimal("2"))),
        ("= 45+-2", NumericAnswer(Decimal("45"), Decimal("2"))),
        ("= 45 +/- 2", NumericAnswer(Decimal("45"), Decimal("2"))),
        ("= 2,5", NumericAnswer(Decimal("2.5"), Decimal("0"))),
        ("= 2,5 ± 0,1", NumericAnswer(Decimal("2.5"), Decimal("0.1"))),
        ("= 1..5", NumericRange(Decimal("1"), Decimal("5"))),
        ("= 1,5..2.5", NumericRange(Decimal("1.5"), Decimal("2.5"))),
        ("= -5..-1", NumericRange(Decimal("-5"), Decimal("-1"))),
        ("= −3", NumericAnswer(Decimal("-3"), Decimal("0"))),
        ("= 15 ± 0", NumericAnswer(Decimal("15"), Decimal("0"))),
    ],
)
def test_numeric_answer_forms(line, expected):
    q = one(f"## Q {{#q}}\n\n{line}\n\n> X\n")
    assert q.type == "numeric"
    assert q.numeric == (expected,)
    assert q.answers == ()


def test_numeric_with_several_answers():
    q = one("## Q {#q}\n\n= 30\n= 44..46\n\n> X\n")
    assert q.numeric == (NumericAnswer(Decimal(30)), NumericRange(Decimal(44), Decimal(46)))


def test_attributes_points_partial_shuffle():
    q = one("## Q {#q points=3 partial shuffle=false}\n\n- [x] A\n- [x] B\n- [ ] C\n\n> X\n")
    assert (q.points, q.partial, q.shuffle) == (3, True, False)


def test_partial_credit_from_the_settings_applies_to_multiple_only():
    front = "---\ntitle: X\npartial_credit: true\n---\n"
    body = "## M {#m}\n\n- [x] A\n- [x] B\n- [ ] C\n\n> X\n\n## S {#s}\n\n- [x] A\n- [ ] B\n\n> X\n"
    quiz, problems = parse(body, front)
    assert problems == []
    assert [q.partial for q in quiz.questions] == [True, False]


def test_a_question_may_opt_out_of_partial_credit():
    front = "---\ntitle: X\npartial_credit: true\n---\n"
    q = one("## M {#m partial=false}\n\n- [x] A\n- [x] B\n- [ ] C\n\n> X\n", front)
    assert q.partial is False


# --- Markdown content -------------------------------------------------------------------


def test_body_keeps_markdown_lists_code_and_tables():
    body = (
        "## Q {#q}\n\n"
        "Đọc đoạn sau:\n\n"
        "- điểm một\n- điểm hai\n\n"
        "| Cột | Giá trị |\n|---|---|\n| a | 1 |\n\n"
        "> Trích Điều 2.\n\n"
        "```\n## not a question {#nope}\n- [x] not a choice\n= not an answer\n```\n\n"
        "- [x] A\n- [ ] B\n\n> X\n"
    )
    quiz, problems = parse(body)
    assert problems == []
    q = quiz.questions[0]
    assert "- điểm hai" in q.body_md
    assert "| a | 1 |" in q.body_md
    assert "> Trích Điều 2." in q.body_md
    assert "## not a question {#nope}" in q.body_md
    assert [c.text_md for c in q.choices] == ["A", "B"]
    assert q.body_md.startswith("Đọc đoạn sau:") and q.body_md.endswith("```")


def test_setext_underline_in_the_body_is_text():
    q = one("## Q {#q}\n\nTiêu đề\n===\n\n- [x] A\n- [ ] B\n\n> X\n")
    assert q.body_md == "Tiêu đề\n==="


def test_choice_continuation_lines():
    body = (
        "## Q {#q}\n\n- [x] Dòng một\n  tiếp theo\n- [ ] B\nlazy tiếp\n- [ ] C\n\n  đoạn hai của C\n\n> X\n"
    )
    q = one(body)
    assert [c.text_md for c in q.choices] == ["Dòng một\ntiếp theo", "B\nlazy tiếp", "C\n\nđoạn hai của C"]


def test_loose_choice_list_with_blank_lines():
    q = one("## Q {#q}\n\n- [x] A\n\n- [ ] B\n\n- [ ] C\n\n> X\n")
    assert [c.text_md for c in q.choices] == ["A", "B", "C"]


def test_explanation_over_several_lines_and_paragraphs():
    body = "## Q {#q}\n\n- [x] A\n- [ ] B\n\n> Dòng một\n> dòng hai\nlazy\n>\n> Đoạn hai.\n\n> Đoạn ba.\n"
    q = one(body)
    assert q.explanation_md == "Dòng một\ndòng hai\nlazy\n\nĐoạn hai.\n\nĐoạn ba."


def test_intro_keeps_its_markdown():
    quiz, _ = parse("\nĐọc kỹ **trước** khi làm.\n\n- không phải lựa chọn\n\n## Q {#q}\n" + TF)
    assert quiz.intro_md == "Đọc kỹ **trước** khi làm.\n\n- không phải lựa chọn"


def test_h3_and_h1_inside_a_question_are_text():
    q = one("## Q {#q}\n\n### Tình huống\n\n# Big\n\n- [x] A\n- [ ] B\n\n> X\n")
    assert q.body_md == "### Tình huống\n\n# Big"


def test_heading_braces_that_are_not_attributes_stay_in_the_title():
    q = one("## Tập {1, 2} có mấy phần tử? {#tap}\n\n= 2\n\n> X\n")
    assert q.title == "Tập {1, 2} có mấy phần tử?"


# --- text normalisation -----------------------------------------------------------------


def test_crlf_bom_and_nfd_input():
    text = "\ufeff" + (FM + "## Ai ký? {#q}\n\n- [x] Thủ trưởng\n- [ ] Thanh tra viên\n\n> X\n").replace(
        "\n", "\r\n"
    )
    text = unicodedata.normalize("NFD", text)
    quiz, problems = parse_quiz(text)
    assert problems == []
    assert quiz.questions[0].choices[0].text_md == "Thủ trưởng"
    assert unicodedata.is_normalized("NFC", quiz.questions[0].choices[0].text_md)
    assert quiz.questions[0].line == 4


def test_no_trailing_newline():
    quiz, problems = parse_quiz((FM + "## Q {#q}\n" + TF).rstrip("\n"))
    assert problems == [] and quiz is not None


# --- choice keys and the content hash ---------------------------------------------------


def test_choice_keys_survive_reordering_and_are_derived_from_folded_text():
    a = one("## Q {#q}\n\n- [x] Hai cấp\n- [ ] Ba cấp\n\n> X\n")
    b = one("## Q {#q}\n\n- [ ] Ba cấp\n- [x] Hai cấp\n\n> X\n")
    assert {c.text_md: c.key for c in a.choices} == {c.text_md: c.key for c in b.choices}
    assert a.choices[0].key == choice_key("Hai cấp") == choice_key("HAI  CAP")
    assert a.choices[0].key.startswith("c-") and len(a.choices[0].key) == 10


def test_choices_that_differ_only_in_accents_get_distinct_keys():
    q = one("## Chọn chữ đúng chính tả {#q}\n\n- [x] Mã\n- [ ] Má\n- [ ] Ma\n\n> X\n")
    assert len({c.key for c in q.choices}) == 3


def test_content_hash_is_stable_and_ignores_line_moves():
    base = "## Q {#q}\n\n- [x] A\n- [ ] B\n\n> X\n"
    h1 = parse(base)[0].content_hash()
    assert h1 == parse(base)[0].content_hash()
    assert h1 == parse("\n\n" + base)[0].content_hash()  # lines moved, content not
    assert len(h1) == 64


@pytest.mark.parametrize(
    "changed",
    [
        "## Q {#q}\n\n- [x] A\n- [ ] C\n\n> X\n",
        "## Q {#q}\n\n- [ ] A\n- [x] B\n\n> X\n",
        "## Q {#q}\n\n- [x] A\n- [ ] B\n\n> Y\n",
        "## Q {#r}\n\n- [x] A\n- [ ] B\n\n> X\n",
        "## Q {#q points=2}\n\n- [x] A\n- [ ] B\n\n> X\n",
        "## Q2 {#q}\n\n- [x] A\n- [ ] B\n\n> X\n",
        "Intro.\n\n## Q {#q}\n\n- [x] A\n- [ ] B\n\n> X\n",
    ],
)
def test_content_hash_changes_with_content(changed):
    base = parse("## Q {#q}\n\n- [x] A\n- [ ] B\n\n> X\n")[0].content_hash()
    assert parse(changed)[0].content_hash() != base


def test_content_hash_changes_with_settings():
    body = "## Q {#q}\n\n- [x] A\n- [ ] B\n\n> X\n"
    a = parse(body, "---\ntitle: X\n---\n")[0].content_hash()
    b = parse(body, "---\ntitle: X\nattempts: 2\n---\n")[0].content_hash()
    assert a != b


def test_sources_are_frozen():
    q = one("## Q {#q}\n" + TF)
    with pytest.raises(AttributeError):
        q.key = "other"  # type: ignore[misc]
    assert isinstance(q.choices[0], ChoiceSource)


# --- numbers and short-answer normalisation --------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2,5", "2.5"),
        ("2.5", "2.5"),
        (" 3 ", "3"),
        ("-1", "-1"),
        ("+7", "7"),
        ("\u22124", "-4"),
        ("1.000", "1.000"),  # one separator is always decimal
        ("1.234,5", "1234.5"),
        ("1,234.5", "1234.5"),
        ("1.234.567", "1234567"),
        ("1,234,567", "1234567"),
        ("1 234", "1234"),
        ("1\u00a0234,5", "1234.5"),
        ("0,125", "0.125"),
    ],
)
def test_parse_number(text, expected):
    assert parse_number(text) == Decimal(expected)


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "abc",
        "1e5",
        "1,2,3",
        "--1",
        "1.",
        ".5",
        "NaN",
        "Infinity",
        "1.23.4",
        "12 34",
        "٣",
        "1" * 41,
        None,
        5,
    ],
)
def test_parse_number_refuses(text):
    assert parse_number(text) is None


def test_parse_numeric_answer():
    assert parse_numeric_answer("45 ± 2").low == Decimal(43)
    assert parse_numeric_answer("45 ± 2").high == Decimal(47)
    assert parse_numeric_answer("5..1") is None
    assert parse_numeric_answer("abc") is None


@pytest.mark.parametrize(
    ("a", "b", "mode", "same"),
    [
        ("Thanh tra Chinh phu", "Thanh tra Chính phủ", "fold", True),
        ("  THANH   TRA  chính PHỦ ", "Thanh tra Chính phủ", "fold", True),
        ("Doan thanh tra", "Đoàn thanh tra", "fold", True),
        ("Khánh Hòa", "Khánh Hoà", "fold", True),
        ("COUNTIFS", "countifs", "case", False),
        ("Thanh tra Chinh phu", "Thanh tra Chính phủ", "case", True),
        ("Doan", "Đoàn", "case", True),
        ("doan", "Đoàn", "case", False),
        ("Thanh tra Chinh phu", "Thanh tra Chính phủ", "exact", False),
        ("Thanh  tra Chính phủ ", "Thanh tra Chính phủ", "exact", True),
        ("Khánh Hòa", "Khánh Hoà", "exact", True),
        ("thủy", "thuỷ", "exact", True),
        ("bàn", "bán", "exact", False),
        ("thanh tra", "Thanh tra", "exact", False),
    ],
)
def test_normalize_answer(a, b, mode, same):
    assert (normalize_answer(a, mode) == normalize_answer(b, mode)) is same


def test_normalize_answer_nfd_input():
    nfd = unicodedata.normalize("NFD", "Thanh tra Chính phủ")
    for mode in ("fold", "case", "exact"):
        assert normalize_answer(nfd, mode) == normalize_answer("Thanh tra Chính phủ", mode)


def test_normalize_answer_unknown_mode():
    with pytest.raises(ValueError):
        normalize_answer("x", "regex")


# --- the real course files --------------------------------------------------------------

COURSES = Path(__file__).resolve().parents[2] / "courses"
QUIZ_FILES = sorted(COURSES.glob("*/*/*.quiz.md")) if COURSES.is_dir() else []


@pytest.mark.skipif(not QUIZ_FILES, reason="no quiz files under courses/")
@pytest.mark.parametrize("path", QUIZ_FILES, ids=lambda p: str(p.relative_to(COURSES)))
def test_real_quiz_files_have_no_errors(path):
    quiz, problems = parse_quiz(path.read_text(encoding="utf-8"), str(path))
    errors = [str(p) for p in problems if p.severity == "error"]
    assert errors == []
    assert quiz is not None and quiz.questions
