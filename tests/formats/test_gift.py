"""Tests for mooc.formats.gift: each GIFT construct, what is skipped, and the round trip.

The fixtures in tests/formats/gift/ hold one construct per file, plus a realistic mixed
bank exported from Moodle. Every converted file must parse with parse_quiz without errors.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from mooc.formats.gift import DEFAULT_TITLE, GiftResult, Skipped, convert_gift, convert_gift_file
from mooc.formats.quiz import NumericAnswer, NumericRange, QuizSource, parse_quiz
from tests.bilingual import english

FIXTURES = Path(__file__).parent / "gift"
ALL_FIXTURES = sorted(FIXTURES.glob("*.gift"))


def convert(name: str) -> tuple[GiftResult, QuizSource]:
    result = convert_gift((FIXTURES / name).read_text(encoding="utf-8"))
    quiz, problems = parse_quiz(result.markdown, name)
    assert [p for p in problems if p.severity == "error"] == []
    assert quiz is not None
    return result, quiz


def by_key(quiz: QuizSource) -> dict:
    return {q.key: q for q in quiz.questions}


def skipped(result: GiftResult) -> tuple[Skipped, ...]:
    """What was not converted, each reason in its English half (the Vietnamese comes first)."""
    return tuple(Skipped(s.line, s.title, english(s.reason)) for s in result.skipped)


def convert_text(text: str) -> tuple[GiftResult, QuizSource | None]:
    result = convert_gift(text)
    quiz, problems = parse_quiz(result.markdown)
    assert [p for p in problems if p.severity == "error"] == [] or result.converted == 0
    return result, quiz


# --- the round trip ---------------------------------------------------------------------


def test_there_is_a_fixture_per_construct():
    names = {p.stem for p in ALL_FIXTURES}
    assert {
        "comments",
        "category",
        "titles",
        "formats",
        "multichoice",
        "weights",
        "feedback",
        "truefalse",
        "shortanswer",
        "numeric",
        "escapes",
        "unsupported",
        "ngan-hang-hon-hop",
    } <= names


@pytest.mark.parametrize("path", ALL_FIXTURES, ids=lambda p: p.name)
def test_round_trip_parses_without_errors(path):
    result = convert_gift(path.read_text(encoding="utf-8"))
    quiz, problems = parse_quiz(result.markdown, path.name)
    assert [str(p) for p in problems if p.severity == "error"] == []
    assert quiz is not None
    assert len(quiz.questions) == result.converted
    assert result.converted >= 1
    # Only warnings a converted bank can expect: explanations Moodle did not have.
    assert {p.code for p in problems} <= {"missing-explanation", "duplicate-answer"}
    assert result.markdown.endswith("\n") and not result.markdown.endswith("\n\n")


@pytest.mark.parametrize("path", ALL_FIXTURES, ids=lambda p: p.name)
def test_conversion_is_deterministic(path):
    text = path.read_text(encoding="utf-8")
    assert convert_gift(text) == convert_gift(text)


# --- constructs ---------------------------------------------------------------------------


def test_comments_are_ignored_anywhere():
    result, quiz = convert("comments.gift")
    assert result.converted == 2 and result.skipped == ()
    q = by_key(quiz)["comment-inside"]
    assert q.type == "single"
    assert [c.text_md for c in q.choices] == ["Thủ trưởng cơ quan thanh tra", "Thanh tra viên"]
    assert "a comment inside" not in result.markdown and "indented comment" not in result.markdown


def test_first_category_names_the_quiz():
    result, quiz = convert("category.gift")
    assert quiz.title == "Chương 1 - Hệ thống thanh tra"
    assert result.converted == 2


def test_default_title_without_category():
    _, quiz = convert("truefalse.gift")
    assert quiz.title == DEFAULT_TITLE == "Câu hỏi nhập từ Moodle"


def test_titles_become_unique_folded_keys():
    result, quiz = convert("titles.gift")
    assert [q.key for q in quiz.questions] == [
        "cau-1-thoi-hieu-khieu-nai",
        "cau-1-thoi-hieu-khieu-nai-2",
        "don-de-nghi-dot-2",
        "mot-cau-khong-co-tieu-de-nen-khoa-lay-tu-noi",
        "cau-hoi",
    ]
    # The question text, not the Moodle name, is what the trainee reads.
    assert quiz.questions[0].title == "Thời hiệu khiếu nại là bao nhiêu ngày?"


def test_markdown_format_is_kept():
    _, quiz = convert("formats.gift")
    q = by_key(quiz)["markdown"]
    assert q.title == "Chọn **một** phương án *đúng* về `kết luận thanh tra`."
    assert q.choices[0].text_md == "Phải **chính xác**, khách quan"


def test_html_format_is_stripped_with_a_note():
    result, quiz = convert("formats.gift")
    q = by_key(quiz)["html"]
    assert q.title == "html"  # several paragraphs: the Moodle name heads, the text is the body
    assert q.body_md == "Người tiến hành thanh tra gồm **những ai**?\n\n- Đọc kỹ khoản 2 Điều 2"
    assert [c.text_md for c in q.choices] == [
        "Người ra quyết định, Trưởng đoàn và thành viên Đoàn",
        "Chỉ Trưởng đoàn thanh tra",
    ]
    assert q.explanation_md == "Khoản 2 Điều 2 *Luật Thanh tra 2025*."
    assert "alert" not in result.markdown and "<" not in q.body_md
    notes = [n for n in result.notes if n.key == "html"]
    assert any("HTML" in n.message for n in notes)
    assert ("# - html (dòng GIFT 6 / GIFT line 6): đã bỏ định dạng HTML; kiểm tra lại câu chữ / HTML "
            "formatting was removed") in result.markdown


def test_moodle_format_with_tags_is_stripped_too():
    result, quiz = convert("formats.gift")
    assert by_key(quiz)["moodle-html"].title == "Văn bản **Moodle** có thẻ HTML."
    assert any(n.key == "moodle-html" for n in result.notes)


def test_plain_format_is_escaped():
    _, quiz = convert("formats.gift")
    assert by_key(quiz)["plain"].title == "Biểu thức a\\*b\\*c và \\[x\\] trong văn bản thuần."


def test_escaped_html_stays_text_and_is_not_a_script():
    result, quiz = convert("formats.gift")
    assert by_key(quiz)["entity"].title == "Dấu &lt;script> trong câu hỏi chỉ là chữ."
    assert "<script" not in result.markdown


def test_script_in_markdown_text_is_neutralised():
    result, quiz = convert_text("::x::[markdown]Câu <script>alert(1)</script> hỏi?{T}\n")
    assert quiz is not None and "<script" not in result.markdown
    assert "&lt;script>" in quiz.questions[0].title
    assert any("script" in n.message for n in result.notes)


def test_multiple_choice():
    result, quiz = convert("multichoice.gift")
    qs = by_key(quiz)
    basic = qs["mc-basic"]
    assert basic.type == "single"
    assert [(c.text_md, c.correct) for c in basic.choices] == [
        ("25/6/2025", False),
        ("01/7/2025", True),
        ("01/01/2026", False),
    ]
    assert [c.text_md for c in qs["mc-one-line"].choices] == ["Một", "Hai", "Ba", "Bốn"]
    assert qs["mc-one-line"].choices[1].correct


def test_partly_right_answer_in_a_one_answer_question_becomes_wrong_with_a_note():
    result, quiz = convert("multichoice.gift")
    q = by_key(quiz)["mc-partial-single"]
    assert q.type == "single" and [c.correct for c in q.choices] == [True, False, False]
    assert [english(n.message) for n in result.notes if n.key == "mc-partial-single"] == [
        "partly correct answers (Moodle weights) count as wrong here"
    ]


def test_positive_weights_become_multiple_with_partial_credit():
    result, quiz = convert("weights.gift")
    qs = by_key(quiz)
    equal = qs["weights-equal"]
    assert (equal.type, equal.partial) == ("multiple", True)
    assert [c.correct for c in equal.choices] == [True, True, False, False]
    assert "{#weights-equal partial}" in result.markdown
    assert [c.correct for c in qs["weights-thirds"].choices] == [True, True, True, False]
    assert [c.correct for c in qs["weights-unequal"].choices] == [True, True, False]
    messages = {n.key: english(n.message) for n in result.notes}
    assert messages["weights-equal"].startswith(
        "Moodle weights (50%, 50%, -100%, -100%) became partial credit"
    )
    assert "(70%, 30%)" in messages["weights-unequal"]
    # And it says so in the file, for the author.
    assert "# - weights-equal (dòng GIFT 1 / GIFT line 1): trọng số Moodle" in result.markdown


def test_a_single_weighted_answer_is_a_single_choice():
    _, quiz = convert("weights.gift")
    q = by_key(quiz)["weights-one"]
    assert (q.type, q.partial) == ("single", False)


def test_no_correct_answer_and_no_wrong_answer_are_skipped():
    result, _ = convert("weights.gift")
    assert skipped(result) == (
        Skipped(line=26, title="weights-none", reason="no correct answer"),
        # Every answer right: ticking them all would earn full marks (the format refuses it).
        Skipped(
            line=31,
            title="weights-all",
            reason="every answer is right: ticking them all would earn full marks",
        ),
    )


def test_feedback_of_the_right_answer_and_general_feedback_make_the_explanation():
    result, quiz = convert("feedback.gift")
    qs = by_key(quiz)
    assert qs["fb-answer"].explanation_md == "Đúng: khoản 5 Điều 2."
    assert qs["fb-general"].explanation_md == "Thủ tướng phê duyệt theo đề nghị của Tổng Thanh tra Chính phủ."
    assert qs["fb-both"].explanation_md == "Đúng.\n\nKhoản 1 Điều 36."
    assert qs["fb-tf"].explanation_md == "Đúng: khoản 4 Điều 34.\n\nÝ kiến bảo lưu bằng văn bản."
    assert qs["fb-short"].explanation_md == "COUNTIF chỉ nhận một điều kiện."
    dropped = {n.key for n in result.notes if "dropped" in n.message}
    assert dropped == {"fb-answer", "fb-tf"}


def test_true_false():
    _, quiz = convert("truefalse.gift")
    got = {q.key: (q.type, [(c.text_md, c.correct) for c in q.choices]) for q in quiz.questions}
    yes = ("true_false", [("Đúng", True), ("Sai", False)])
    no = ("true_false", [("Đúng", False), ("Sai", True)])
    assert got == {"tf-true": yes, "tf-false": no, "tf-t": yes, "tf-f": no, "tf-lower": yes}


def test_short_answer():
    result, quiz = convert("shortanswer.gift")
    qs = by_key(quiz)
    assert (qs["sa-one"].type, qs["sa-one"].answers) == ("short", ("84/2025/QH15",))
    assert qs["sa-many"].answers == ("Thanh tra Chính phủ", "TTCP")
    assert qs["sa-weights"].answers == ("COUNTIFS",)
    assert qs["sa-wildcard"].answers == ("thanh*",)
    # A short answer that is a number is graded as a number.
    assert qs["sa-number"].type == "numeric"
    assert qs["sa-number"].numeric == (NumericAnswer(Decimal(1945)),)
    messages = [english(n.message) for n in result.notes]
    assert "the partly correct answer 'COUNTIF' was dropped" in messages
    assert any("wildcard" in m for m in messages)
    assert skipped(result) == (Skipped(line=18, title="sa-none", reason="no answer gives full marks"),)


def test_numeric():
    result, quiz = convert("numeric.gift")
    qs = by_key(quiz)
    assert qs["num-tolerance"].numeric == (NumericAnswer(Decimal(90)),)
    assert qs["num-tol2"].numeric == (NumericAnswer(Decimal(45), Decimal(2)),)
    assert qs["num-decimal"].numeric == (NumericAnswer(Decimal("3.14"), Decimal("0.005")),)
    assert qs["num-range"].numeric == (NumericRange(Decimal(1), Decimal(5)),)
    assert qs["num-plain"].numeric == (NumericAnswer(Decimal(3)),)
    assert qs["num-multiple"].numeric == (NumericAnswer(Decimal(1945)),)
    assert qs["num-multiple"].explanation_md == "Đúng."
    assert qs["num-negative"].numeric == (NumericRange(Decimal(-5), Decimal(-1)),)
    assert "= 45 ± 2" in result.markdown and "= 1..5" in result.markdown
    assert skipped(result) == (Skipped(line=19, title="num-bad", reason="'abc' is not a number"),)
    assert {english(n.message) for n in result.notes if n.key == "num-multiple"} == {
        "the partly correct answer '1946:1' was dropped",
        "feedback on wrong answers was dropped",
    }


def test_escapes():
    _, quiz = convert("escapes.gift")
    qs = by_key(quiz)
    assert qs["esc-text"].title == "Trong GIFT phải viết { } = ~ # và : bằng dấu gạch chéo ngược."
    assert [c.text_md for c in qs["esc-text"].choices] == [
        "Ký tự = là dấu bằng",
        "Ký tự ~ là dấu ngã",
        "Ngoặc { và }",
    ]
    assert "esc-title-colon" in qs
    assert qs["esc-short"].answers == ("a=b",)
    assert qs["esc-newline"].title == "Dòng một Dòng hai."
    assert qs["esc-backslash"].title == "Đường dẫn C:\\du-lieu."


def test_unsupported_questions_are_reported_with_line_and_reason():
    result, quiz = convert("unsupported.gift")
    assert skipped(result) == (
        Skipped(1, "matching", "matching question: not supported"),
        Skipped(6, "essay", "essay question (no answers to grade)"),
        Skipped(8, "missing-word", "missing word format (text after the answers) is not supported"),
        Skipped(10, "description", "description only (no answers): not a question"),
        Skipped(12, "unbalanced", "unbalanced braces { }"),
    )
    assert result.converted == 1 and [q.key for q in quiz.questions] == ["kept"]


def test_skipped_question_without_a_title_is_named_by_its_text():
    result, _ = convert_text("Thủ đô là {=Hà Nội ~Huế} của Việt Nam.\n\n::ok::Câu đúng.{T}\n")
    assert skipped(result) == (
        Skipped(1, "Thủ đô là", "missing word format (text after the answers) is not supported"),
    )


def test_realistic_mixed_bank():
    result, quiz = convert("ngan-hang-hon-hop.gift")
    assert quiz.title == "Kiểm tra cuối khóa - Nghiệp vụ thanh tra"
    assert result.converted == 8
    assert [(s.line, s.title) for s in result.skipped] == [
        (49, "Ghép thời hạn"),
        (56, "Tình huống phong bì"),
        (59, "Giới thiệu"),
        (62, "Điền từ"),
    ]
    qs = by_key(quiz)
    assert [q.type for q in quiz.questions] == [
        "single",
        "single",
        "multiple",
        "true_false",
        "short",
        "numeric",
        "numeric",
        "single",
    ]
    first = qs["hieu-luc-luat-thanh-tra"]
    assert first.title == "Luật Thanh tra số 84/2025/QH15 có hiệu lực từ ngày nào?"
    assert [c.text_md for c in first.choices if c.correct] == ["01/7/2025"]
    assert first.explanation_md == (
        "Chính xác.\n\nLuật được thông qua ngày 25/6/2025, có hiệu lực từ ngày 01/7/2025."
    )
    assert (
        qs["he-thong-hai-cap"].choices[1].text_md
        == "Hai cấp: Thanh tra Chính phủ và Thanh tra tỉnh, thành phố"
    )
    assert qs["nguoi-tien-hanh-thanh-tra"].partial is True
    assert qs["khong-phan-biet"].choices[1].correct is True  # FALSE -> Sai ticked
    assert qs["so-hieu-luat"].answers == ("84/2025/QH15",)
    assert qs["han-giai-quyet-to-cao"].numeric == (NumericRange(Decimal(90), Decimal(90)),)


def test_block_structure_in_question_text_cannot_become_quiz_syntax():
    gift = (
        "::x::[markdown]Đọc kỹ\\:\n"
        "= không phải đáp án\n"
        "## không phải câu hỏi\n"
        "- [x] không phải lựa chọn\n"
        "{T}\n"
    )
    result, quiz = convert_text(gift)
    assert quiz is not None and result.converted == 1
    q = quiz.questions[0]
    assert q.type == "true_false" and len(q.choices) == 2
    assert "&#61; không phải đáp án" in q.body_md
    assert "\\## không phải câu hỏi" in q.body_md
    assert "- \\[x] không phải lựa chọn" in q.body_md


def test_duplicate_answers_are_skipped():
    result, _ = convert_text("::d::Câu?{=Một ~Hai ~một}\n\n::ok::Câu.{T}\n")
    assert [s.reason for s in result.skipped] == []  # differ in case: two choices, distinct keys
    result, _ = convert_text("::d::Câu?{=Một ~Hai ~Một}\n\n::ok::Câu.{T}\n")
    assert [english(s.reason) for s in result.skipped] == ["two answers have the same text"]


def test_several_full_answers_in_a_one_answer_question_are_skipped():
    result, _ = convert_text("::d::Câu?{=Một =Hai ~Ba}\n\n::ok::Câu.{T}\n")
    assert english(result.skipped[0].reason).startswith("several fully correct answers")


def test_empty_input():
    result = convert_gift("")
    assert (result.converted, result.skipped) == (0, ())
    assert result.markdown.startswith("---\ntitle: ")


def test_crlf_and_bom():
    text = "\ufeff::a::Câu một.{T}\r\n\r\n::b::Câu hai.{F}\r\n"
    result, quiz = convert_text(text)
    assert [q.key for q in quiz.questions] == ["a", "b"]


# --- the file function ------------------------------------------------------------------


def test_convert_gift_file_writes_when_something_converted(tmp_path):
    src = tmp_path / "bank.gift"
    src.write_bytes(b"\xef\xbb\xbf" + (FIXTURES / "truefalse.gift").read_bytes())
    dest = tmp_path / "09-kiem-tra.quiz.md"
    result = convert_gift_file(src, dest)
    assert result.converted == 5
    assert dest.read_text(encoding="utf-8") == result.markdown
    quiz, problems = parse_quiz(dest.read_text(encoding="utf-8"))
    assert quiz is not None and len(quiz.questions) == 5


def test_convert_gift_file_writes_nothing_when_nothing_converted(tmp_path):
    src = tmp_path / "bank.gift"
    src.write_text("::e::Viết một đoạn.{}\n\n::m::Ghép.{=a -> b =c -> d}\n", encoding="utf-8")
    dest = tmp_path / "out.quiz.md"
    result = convert_gift_file(src, dest)
    assert result.converted == 0 and len(result.skipped) == 2
    assert not dest.exists()


def test_convert_gift_file_does_not_replace_an_existing_file(tmp_path):
    src = tmp_path / "bank.gift"
    src.write_text("::a::Câu.{T}\n", encoding="utf-8")
    dest = tmp_path / "out.quiz.md"
    dest.write_text("edited by an author\n", encoding="utf-8")
    with pytest.raises(FileExistsError):
        convert_gift_file(src, dest)
    assert dest.read_text(encoding="utf-8") == "edited by an author\n"
    convert_gift_file(src, dest, overwrite=True)
    assert dest.read_text(encoding="utf-8").startswith("---\n")
