"""Tests for mooc.quizzes.grading: scores, hostile responses, drawing, and what the browser sees."""

from __future__ import annotations

import json
import random

import pytest

from mooc.formats.quiz import parse_quiz
from mooc.formats.quiz_content import snapshot
from mooc.quizzes.grading import (
    AttemptResult,
    QuestionResult,
    draw_questions,
    draw_snapshots,
    grade_attempt,
    grade_question,
    public_view,
)


def quiz_of(body: str, front: str = "---\ntitle: T\n---\n"):
    quiz, problems = parse_quiz(front + body)
    assert quiz is not None, problems
    return quiz


def snap_of(body: str) -> dict:
    (question,) = quiz_of(body).questions
    # Through JSON, as an attempt stores it: grading must not depend on Python objects.
    return json.loads(json.dumps(snapshot(question)))


def keys(snap: dict, *texts: str) -> list[str]:
    by_text = {c["text_md"]: c["key"] for c in snap["choices"]}
    return [by_text[t] for t in texts]


def score(snap: dict, response) -> float:
    return grade_question(snap, response).score


SINGLE = snap_of("## Q {#q}\n\n- [ ] A\n- [x] B\n- [ ] C\n\n> X\n")
TRUE_FALSE = snap_of("## Q {#q}\n\n- [ ] Đúng\n- [x] Sai\n\n> X\n")
MULTI = snap_of("## Q {#q points=3}\n\n- [x] R1\n- [x] R2\n- [x] R3\n- [ ] W1\n- [ ] W2\n\n> X\n")
PARTIAL = snap_of("## Q {#q points=3 partial}\n\n- [x] R1\n- [x] R2\n- [x] R3\n- [ ] W1\n- [ ] W2\n\n> X\n")
SHORT = snap_of("## Q {#q}\n\n= Thanh tra Chính phủ\n= TTCP\n\n> X\n")
SHORT_CASE = snap_of("## Q {#q case}\n\n= COUNTIFS\n\n> X\n")
SHORT_EXACT = snap_of("## Q {#q exact}\n\n= Khánh Hòa\n\n> X\n")
NUMERIC = snap_of("## Q {#q}\n\n= 2,5 ± 0,1\n= 10..12\n\n> X\n")
NUMERIC_EXACT = snap_of("## Q {#q points=2}\n\n= 15 ± 0\n\n> X\n")


# --- snapshots --------------------------------------------------------------------------


def test_snapshot_is_plain_json_data():
    (q,) = quiz_of("## Q {#q points=2}\n\nBody.\n\n- [x] A\n- [ ] B\n\n> Why.\n").questions
    snap = snapshot(q)
    assert json.loads(json.dumps(snap)) == snap
    assert snap["key"] == "q" and snap["type"] == "single" and snap["points"] == 2
    assert snap["title"] == "Q" and snap["body_md"] == "Body." and snap["explanation_md"] == "Why."
    assert snap["choices"] == [
        {"key": q.choices[0].key, "text_md": "A", "correct": True},
        {"key": q.choices[1].key, "text_md": "B", "correct": False},
    ]


def test_snapshot_numbers_are_decimal_strings():
    assert NUMERIC["numeric"] == [{"value": "2.5", "tolerance": "0.1"}, {"low": "10", "high": "12"}]


# --- single choice and true/false ------------------------------------------------------------


def test_single_right_and_wrong():
    assert grade_question(SINGLE, keys(SINGLE, "B")) == QuestionResult(1.0, 1.0, True)
    assert grade_question(SINGLE, keys(SINGLE, "A")) == QuestionResult(0.0, 1.0, False)
    assert score(SINGLE, keys(SINGLE, "B")[0]) == 1.0  # a bare string, as a radio button sends


def test_single_with_several_keys_scores_zero():
    assert score(SINGLE, keys(SINGLE, "B", "A")) == 0.0
    assert score(SINGLE, keys(SINGLE, "A", "B", "C")) == 0.0


def test_single_ignores_unknown_keys_and_repeats():
    assert score(SINGLE, ["c-00000000", *keys(SINGLE, "B")]) == 1.0
    assert score(SINGLE, keys(SINGLE, "B") * 3) == 1.0
    assert score(SINGLE, ["c-00000000"]) == 0.0


def test_true_false():
    assert score(TRUE_FALSE, keys(TRUE_FALSE, "Sai")) == 1.0
    assert score(TRUE_FALSE, keys(TRUE_FALSE, "Đúng")) == 0.0
    assert score(TRUE_FALSE, keys(TRUE_FALSE, "Đúng", "Sai")) == 0.0


# --- multiple choice --------------------------------------------------------------------


def test_multiple_all_or_nothing():
    assert grade_question(MULTI, keys(MULTI, "R1", "R2", "R3")) == QuestionResult(3.0, 3.0, True)
    assert score(MULTI, keys(MULTI, "R3", "R1", "R2")) == 3.0  # order does not matter
    assert score(MULTI, keys(MULTI, "R1", "R2")) == 0.0
    assert score(MULTI, keys(MULTI, "R1", "R2", "R3", "W1")) == 0.0
    assert score(MULTI, []) == 0.0


@pytest.mark.parametrize(
    ("ticked", "expected"),
    [
        # Moodle's rule: each right choice ticked earns 1/3, each wrong one costs 1/2.
        (("R1", "R2", "R3"), 3.0),
        (("R1", "R2"), 2.0),  # 2/3 x 3
        (("R1",), 1.0),
        (("R1", "R2", "R3", "W1"), 1.5),  # (1 - 1/2) x 3
        (("R1", "R2", "W1"), 0.5),  # (2/3 - 1/2) x 3
        (("R1", "R2", "R3", "W1", "W2"), 0.0),  # every choice ticked: 1 - 1
        (("R1", "W1"), 0.0),  # 1/3 - 1/2 < 0: floored at 0
        (("R1", "W1", "W2"), 0.0),
        (("W1", "W2"), 0.0),
        ((), 0.0),
    ],
)
def test_multiple_partial_credit(ticked, expected):
    result = grade_question(PARTIAL, keys(PARTIAL, *ticked))
    assert result.score == pytest.approx(expected)
    assert result.max_score == 3.0
    assert result.correct is (expected == 3.0)


@pytest.mark.parametrize(
    "question",
    [
        "- [x] R1\n- [x] R2\n- [ ] W1\n",  # the case: it gave 50%
        "- [x] R1\n- [ ] W1\n- [ ] W2\n- [ ] W3\n",
        "- [x] R1\n- [x] R2\n- [x] R3\n- [x] R4\n- [ ] W1\n",
        "- [x] R1\n- [x] R2\n- [ ] W1\n- [ ] W2\n- [ ] W3\n- [ ] W4\n- [ ] W5\n",
    ],
)
@pytest.mark.parametrize("partial", [" partial", ""])
def test_ticking_every_choice_never_earns_credit(question, partial):
    snap = snap_of(f"## Q {{#q points=4{partial}}}\n\n{question}\n> X\n")
    if snap["type"] == "single":  # one right choice: radio buttons, ticking all is not possible
        snap = {**snap, "type": "multiple", "partial": bool(partial)}
    everything = [c["key"] for c in snap["choices"]]
    assert grade_question(snap, everything) == QuestionResult(0.0, 4.0, False)


def test_a_question_whose_choices_are_all_right_is_refused():
    quiz, problems = parse_quiz("---\ntitle: T\n---\n\n## Q {#q partial}\n\n- [x] A\n- [x] B\n\n> X\n")
    assert quiz is None
    assert [(p.line, p.code) for p in problems] == [(5, "all-choices-correct")]
    assert "add at least one wrong choice" in problems[0].message


def test_partial_credit_thirds_add_up_exactly():
    snap = snap_of("## Q {#q partial}\n\n- [x] A\n- [x] B\n- [x] C\n- [ ] D\n\n> X\n")
    assert score(snap, keys(snap, "A")) == pytest.approx(1 / 3)
    assert score(snap, keys(snap, "A", "B")) == pytest.approx(2 / 3)


def test_multiple_ignores_unknown_keys():
    assert score(MULTI, [*keys(MULTI, "R1", "R2", "R3"), "c-ffffffff", "../../etc"]) == 3.0
    assert score(PARTIAL, [*keys(PARTIAL, "R1"), "c-ffffffff"]) == 1.0


# --- short answers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "response",
    [
        "Thanh tra Chính phủ",
        "Thanh tra Chinh phu",
        "thanh tra chinh phu",
        "  THANH   TRA  CHÍNH PHỦ  ",
        "Thanh\u00a0tra\tChính phủ",
        "Thanh tra Chi\u0301nh phu\u0309",  # decomposed, as legacy keyboards send
        "ttcp",
    ],
)
def test_short_answer_folds_case_spaces_and_diacritics(response):
    assert score(SHORT, response) == 1.0


@pytest.mark.parametrize("response", ["Thanh tra", "Thanh tra Chính phủ.", "Chính phủ thanh tra", "", "   "])
def test_short_answer_wrong(response):
    assert score(SHORT, response) == 0.0


def test_short_answer_d_and_tone_placement():
    snap = snap_of("## Q {#q}\n\n= Đoàn thanh tra tỉnh Khánh Hòa\n\n> X\n")
    assert score(snap, "doan thanh tra tinh khanh hoa") == 1.0
    assert score(snap, "Đoàn thanh tra tỉnh Khánh Hoà") == 1.0
    assert score(snap, "DOAN THANH TRA TINH KHANH HOA") == 1.0


def test_short_answer_case_mode():
    assert score(SHORT_CASE, "COUNTIFS") == 1.0
    assert score(SHORT_CASE, " COUNTIFS ") == 1.0
    assert score(SHORT_CASE, "countifs") == 0.0


def test_short_answer_exact_mode():
    assert score(SHORT_EXACT, "Khánh Hòa") == 1.0
    assert score(SHORT_EXACT, "Khánh  Hoà") == 1.0  # tone placement and spacing only
    assert score(SHORT_EXACT, "Khanh Hoa") == 0.0
    assert score(SHORT_EXACT, "khánh hòa") == 0.0


# --- numeric ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "response", ["2,5", "2.5", " 2,5 ", "2,4", "2.6", "2,60", "10", "11,5", "12", 11, 2.5]
)
def test_numeric_right_including_the_boundaries(response):
    assert score(NUMERIC, response) == 1.0


@pytest.mark.parametrize("response", ["2,39", "2,61", "2.6000001", "9,99", "12,01", "-2,5", "13", 2.61])
def test_numeric_wrong_just_outside(response):
    assert score(NUMERIC, response) == 0.0


def test_numeric_zero_tolerance():
    assert grade_question(NUMERIC_EXACT, " 15 ") == QuestionResult(2.0, 2.0, True)
    assert score(NUMERIC_EXACT, "15,0") == 2.0
    assert score(NUMERIC_EXACT, "15.000001") == 0.0
    assert score(NUMERIC_EXACT, "mười lăm") == 0.0


@pytest.mark.parametrize(
    "response", [True, False, float("nan"), float("inf"), "1e1", "2,5 ngày", "", None, ["2,5"], {"v": "2,5"}]
)
def test_numeric_refuses_what_is_not_a_number(response):
    assert score(NUMERIC, response) == 0.0


def test_numeric_grouped_response():
    snap = snap_of("## Q {#q}\n\n= 1234,5\n\n> X\n")
    assert score(snap, "1.234,5") == 1.0
    assert score(snap, "1,234.5") == 1.0
    assert score(snap, "1 234,5") == 1.0


# --- hostile input ----------------------------------------------------------------------

HOSTILE = [
    None,
    "",
    0,
    1,
    -1,
    3.5,
    True,
    b"bytes",
    {"key": "value"},
    [None, 1, {"a": 1}, ["nested"]],
    [["c-deadbeef"]],
    "x" * 1_000_000,
    ["x" * 100_000] * 1000,
    ["c-00000000"] * 100_000,
    object(),
]


@pytest.mark.parametrize(
    "snap", [SINGLE, TRUE_FALSE, MULTI, PARTIAL, SHORT, SHORT_CASE, SHORT_EXACT, NUMERIC]
)
@pytest.mark.parametrize("response", HOSTILE, ids=lambda r: type(r).__name__)
def test_hostile_responses_score_zero_and_never_raise(snap, response):
    result = grade_question(snap, response)
    assert result.score == 0.0
    assert result.correct is False


def test_a_list_where_a_string_is_expected_scores_zero():
    assert score(SHORT, ["Thanh tra Chính phủ"]) == 0.0
    assert score(NUMERIC, ["2,5"]) == 0.0


def test_a_huge_right_answer_is_not_read():
    assert score(SHORT, "Thanh tra Chính phủ" + " " * 5000) == 0.0


def test_right_keys_hidden_in_a_huge_list_are_not_read_past_the_limit():
    response = ["c-00000000"] * 10_000 + keys(SINGLE, "B")
    assert score(SINGLE, response) == 0.0


def test_unknown_question_type_in_a_snapshot_is_a_bug():
    with pytest.raises(ValueError):
        grade_question({**SINGLE, "type": "essay"}, "x")


# --- attempts ---------------------------------------------------------------------------


def test_grade_attempt_sums_and_rounds():
    a = {**SINGLE, "key": "a"}
    b = {**TRUE_FALSE, "key": "b"}
    c = {**SHORT, "key": "c"}
    result = grade_attempt([a, b, c], {"a": keys(SINGLE, "B"), "b": keys(TRUE_FALSE, "Sai"), "c": "sai"}, 66)
    assert isinstance(result, AttemptResult)
    assert (result.score, result.max_score, result.percent) == (2.0, 3.0, 66.67)
    assert result.passed is True
    assert list(result.per_question) == ["a", "b", "c"]
    assert result.per_question["c"] == QuestionResult(0.0, 1.0, False)
    assert (
        grade_attempt([a, b, c], {"a": keys(SINGLE, "B"), "b": keys(TRUE_FALSE, "Sai")}, 67).passed is False
    )


def test_pass_boundary_is_inclusive():
    snaps = [{**SINGLE, "key": f"q{i}"} for i in range(5)]
    right = keys(SINGLE, "B")
    responses = {f"q{i}": right for i in range(4)}
    result = grade_attempt(snaps, responses, 80)
    assert (result.percent, result.passed) == (80.0, True)
    assert grade_attempt(snaps, responses, 81).passed is False


def test_partial_scores_rounding_in_percent():
    snaps = [{**PARTIAL, "key": "p"}, {**SINGLE, "key": "s"}]
    result = grade_attempt(snaps, {"p": keys(PARTIAL, "R1"), "s": []}, 20)
    assert result.score == pytest.approx(1.0) and result.max_score == 4.0
    assert result.percent == 25.0


def test_grade_attempt_with_hostile_responses():
    snaps = [{**SINGLE, "key": "a"}]
    for responses in (None, [], "a", {"a": {"b": 1}}, {"zzz": 1}):
        result = grade_attempt(snaps, responses, 0)
        assert result.score == 0.0 and result.percent == 0.0


def test_grade_attempt_with_no_questions():
    result = grade_attempt([], {}, 80)
    assert (result.score, result.max_score, result.percent, result.passed) == (0.0, 0.0, 0.0, False)


# --- drawing ----------------------------------------------------------------------------

POOL = "".join(
    f"## Câu {i} {{#q{i}}}\n\n- [x] A{i}\n- [ ] B{i}\n- [ ] C{i}\n- [ ] D{i}\n\n> X\n\n" for i in range(10)
)


def test_draw_all_in_file_order_without_shuffle():
    quiz = quiz_of(POOL)
    snaps = draw_questions(quiz, random.Random(1))
    assert [s["key"] for s in snaps] == [f"q{i}" for i in range(10)]
    assert [c["text_md"] for c in snaps[3]["choices"]] == ["A3", "B3", "C3", "D3"]


def test_draw_subset_keeps_file_order_without_shuffle():
    quiz = quiz_of(POOL, "---\ntitle: T\ndraw: 4\n---\n")
    snaps = draw_questions(quiz, random.Random(7))
    order = [int(s["key"][1:]) for s in snaps]
    assert len(order) == 4 and order == sorted(order) and len(set(order)) == 4


def test_draw_is_deterministic_for_a_seed():
    quiz = quiz_of(POOL, "---\ntitle: T\ndraw: 5\nshuffle: true\n---\n")
    first = draw_questions(quiz, random.Random(42))
    assert first == draw_questions(quiz, random.Random(42))
    draws = {json.dumps(draw_questions(quiz, random.Random(seed))) for seed in range(20)}
    assert len(draws) > 1
    assert len(first) == 5 and len({s["key"] for s in first}) == 5


def test_shuffle_changes_question_and_choice_order_for_some_seed():
    quiz = quiz_of(POOL, "---\ntitle: T\nshuffle: true\n---\n")
    orders = set()
    choice_orders = set()
    for seed in range(20):
        snaps = draw_questions(quiz, random.Random(seed))
        assert sorted(s["key"] for s in snaps) == sorted(f"q{i}" for i in range(10))
        orders.add(tuple(s["key"] for s in snaps))
        q0 = next(s for s in snaps if s["key"] == "q0")
        assert sorted(c["text_md"] for c in q0["choices"]) == ["A0", "B0", "C0", "D0"]
        choice_orders.add(tuple(c["text_md"] for c in q0["choices"]))
    assert len(orders) > 1 and len(choice_orders) > 1


def test_question_shuffle_false_and_true_false_keep_choice_order():
    body = (
        "## Fixed {#fixed shuffle=false}\n\n- [x] A\n- [ ] B\n- [ ] C\n- [ ] D\n\n> X\n\n"
        "## TF {#tf}\n\n- [ ] Đúng\n- [x] Sai\n\n> X\n"
    )
    quiz = quiz_of(body, "---\ntitle: T\nshuffle: true\n---\n")
    for seed in range(20):
        snaps = {s["key"]: s for s in draw_questions(quiz, random.Random(seed))}
        assert [c["text_md"] for c in snaps["fixed"]["choices"]] == ["A", "B", "C", "D"]
        assert [c["text_md"] for c in snaps["tf"]["choices"]] == ["Đúng", "Sai"]


def test_draw_snapshots_from_stored_json_matches_draw_questions():
    quiz = quiz_of(POOL, "---\ntitle: T\ndraw: 4\nshuffle: true\n---\n")
    stored = json.loads(json.dumps([snapshot(q) for q in quiz.questions]))
    frozen = json.dumps(stored)
    settings = {"draw": 4, "shuffle": True}
    drawn = draw_snapshots(stored, settings, random.Random(9))
    assert drawn == draw_questions(quiz, random.Random(9))
    assert drawn == draw_snapshots(stored, quiz.settings, random.Random(9))
    assert json.dumps(stored) == frozen  # the stored snapshots are not shuffled in place


def test_draw_snapshots_honours_a_stored_shuffle_false():
    quiz = quiz_of("## F {#f shuffle=false}\n\n- [x] A\n- [ ] B\n- [ ] C\n- [ ] D\n\n> X\n")
    stored = json.loads(json.dumps([snapshot(q) for q in quiz.questions]))
    assert stored[0]["shuffle"] is False
    for seed in range(10):
        (snap,) = draw_snapshots(stored, {"shuffle": True}, random.Random(seed))
        assert [c["text_md"] for c in snap["choices"]] == ["A", "B", "C", "D"]


def test_drawn_snapshots_grade_like_the_source():
    quiz = quiz_of(POOL, "---\ntitle: T\ndraw: 3\nshuffle: true\n---\n")
    snaps = draw_questions(quiz, random.Random(3))
    responses = {s["key"]: [c["key"] for c in s["choices"] if c["correct"]][0] for s in snaps}
    result = grade_attempt(json.loads(json.dumps(snaps)), responses, 100)
    assert (result.percent, result.passed) == (100.0, True)


# --- what the browser may see -------------------------------------------------------------

SECRET_QUIZ = """\
## Chọn một {#single}

Thân câu hỏi.

- [ ] Lựa chọn sai một
- [x] Lựa chọn đúng một

> GIẢI-THÍCH-MỘT

## Chọn nhiều {#multiple partial}

- [x] Đúng-A
- [x] Đúng-B
- [ ] Sai-C

> GIẢI-THÍCH-HAI

## Đúng hay sai {#true-false}

- [ ] Đúng
- [x] Sai

> GIẢI-THÍCH-BA

## Ghi tên {#short}

= ĐÁP-ÁN-BÍ-MẬT
= MẬT-KHẨU-HAI

> GIẢI-THÍCH-BỐN

## Ghi số {#numeric}

= 987654 ± 321
= 13579..24680

> GIẢI-THÍCH-NĂM
"""

FORBIDDEN = [
    "correct",
    "answers",
    "explanation",
    '"numeric":',  # the field; "numeric" as the type's name is fine
    "tolerance",
    "low",
    "high",
    "value",
    "match_mode",
    "GIẢI-THÍCH",
    "ĐÁP-ÁN-BÍ-MẬT",
    "MẬT-KHẨU-HAI",
    "987654",
    "321",
    "13579",
    "24680",
    "true,",
    "true}",
]


@pytest.mark.parametrize("key", ["single", "multiple", "true-false", "short", "numeric"])
def test_public_view_leaks_nothing(key):
    quiz = quiz_of(SECRET_QUIZ)
    snap = snapshot(next(q for q in quiz.questions if q.key == key))
    text = json.dumps(public_view(snap), ensure_ascii=False)
    for word in FORBIDDEN:
        assert word not in text, word
    # Order of choices must not give the answer away either: it is the snapshot's order.
    if snap["choices"]:
        assert [c["key"] for c in public_view(snap)["choices"]] == [c["key"] for c in snap["choices"]]


def test_public_view_has_what_the_page_needs():
    quiz = quiz_of(SECRET_QUIZ)
    snap = snapshot(quiz.questions[0])
    view = public_view(snap)
    assert view == {
        "key": "single",
        "type": "single",
        "title": "Chọn một",
        "body_md": "Thân câu hỏi.",
        "points": 1,
        "choices": [{"key": c["key"], "text_md": c["text_md"]} for c in snap["choices"]],
    }
    short = public_view(snapshot(quiz.questions[3]))
    assert "choices" not in short and short["type"] == "short"


def test_public_view_ignores_fields_added_to_snapshots_later():
    snap = {**snapshot(quiz_of(SECRET_QUIZ).questions[0]), "grader_notes": "SECRET"}
    assert "SECRET" not in json.dumps(public_view(snap))
