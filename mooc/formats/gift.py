"""Moodle GIFT question banks -> the quiz syntax of docs/authoring.md, "Quizzes".

Inspectorates that used Moodle have banks of questions in GIFT. This converts what the
quiz syntax can express and lists, with the GIFT line and a reason, what it cannot
(matching, essay, missing word, descriptions), so nothing is lost silently. Where the
meaning shifts a little (Moodle weights, HTML), a note says so, in the result and as a
YAML comment in the generated file for the author to review.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path

from mooc.formats.problem import bilingual
from mooc.formats.quiz import BLOCK_START_RE, parse_number
from mooc.formats.source import NotTextError, decode
from mooc.text import clean, fold, nfc

__all__ = ["DEFAULT_TITLE", "Converted", "GiftNote", "GiftResult", "Skipped", "convert_gift",
           "convert_gift_file"]

DEFAULT_TITLE = "Câu hỏi nhập từ Moodle"
WRONG_FEEDBACK_DROPPED = bilingual("đã bỏ phản hồi cho các câu trả lời sai",
                                   "feedback on wrong answers was dropped")


@dataclass(frozen=True)
class Skipped:
    line: int  # first line of the question in the GIFT file
    title: str
    reason: str


@dataclass(frozen=True)
class GiftNote:
    """A question that was converted, but with a change the author should check."""

    line: int
    title: str
    message: str
    key: str = ""  # of the question in the generated file


@dataclass(frozen=True)
class Converted:
    """A question that was converted: where it was in the GIFT file, its key in the quiz file."""

    line: int
    title: str
    key: str


@dataclass(frozen=True)
class GiftResult:
    markdown: str
    converted: int
    skipped: tuple[Skipped, ...]
    notes: tuple[GiftNote, ...] = ()
    questions: tuple[Converted, ...] = ()


class _Skip(Exception):
    """This question cannot be converted; the message is the reason."""


# Escaped special characters become private-use placeholders while the structure is
# parsed, and literal characters again in the output (as Moodle's own parser does).
_ESCAPES = {"\\:": ":", "\\#": "#", "\\=": "=", "\\{": "{", "\\}": "}", "\\~": "~", "\\n": "\n"}
_PLACEHOLDERS = {escape: chr(0xE000 + i) for i, escape in enumerate(_ESCAPES)}
_BACKSLASH = chr(0xE000 + len(_ESCAPES))
_RESTORE = str.maketrans({_PLACEHOLDERS[e]: c for e, c in _ESCAPES.items()} | {_BACKSLASH: "\\"})
_PRIVATE_RE = re.compile(f"[{chr(0xE000)}-{_BACKSLASH}]")

_WEIGHT_RE = re.compile(r"^%(-?[0-9]+(?:\.[0-9]*)?)%")
_FORMAT_RE = re.compile(r"^\[(moodle|html|plain|markdown)\]")
_TAG_RE = re.compile(r"<[a-zA-Z/!][^>]*>")
_SCRIPT_RE = re.compile(r"<(\s*/?\s*script)", re.IGNORECASE)
_TAG_OPEN_RE = re.compile(r"<(?=[a-zA-Z/!?])")
_TRUE = ("T", "TRUE")
_TRUE_FALSE = ("T", "TRUE", "F", "FALSE")


def _protect(text: str) -> str:
    text = _PRIVATE_RE.sub("", text).replace("\\\\", _BACKSLASH)
    for escape, placeholder in _PLACEHOLDERS.items():
        text = text.replace(escape, placeholder)
    return text


def _restore(text: str) -> str:
    return text.translate(_RESTORE)


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")
    if len(slug) > 48:
        slug = slug[:48].rsplit("-", 1)[0] if "-" in slug[:48] else slug[:48]
    return slug.strip("-")


def _decimal(text: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise _Skip(_not_a_number(text)) from None
    if not value.is_finite():
        raise _Skip(_not_a_number(text))
    return value


def _not_a_number(text: str) -> str:
    return bilingual(f"'{text.strip()}' không phải là số", f"'{text.strip()}' is not a number")


def _number_text(value: Decimal) -> str:
    out = format(value.normalize(), "f")
    if parse_number(out) is None:
        raise _Skip(bilingual(f"số {out} quá dài", f"the number {out} is too long"))
    return out


def _html_to_markdown(text: str) -> str:
    """Conservative: keep paragraphs, line breaks, list items, bold and italic; drop the rest."""
    text = re.sub(r"(?is)<(script|style)\b.*?</\1\s*>", "", text)
    text = re.sub(r"(?i)<br\s*/?>", "\n", text)
    text = re.sub(r"(?i)</?(?:p|div|h[1-6]|ul|ol|table|tr|blockquote)\b[^>]*>", "\n\n", text)
    text = re.sub(r"(?i)<li\b[^>]*>", "\n- ", text)
    text = re.sub(r"(?i)</?(?:b|strong)\b[^>]*>", "**", text)
    text = re.sub(r"(?i)</?(?:i|em)\b[^>]*>", "*", text)
    text = _TAG_RE.sub("", text)
    text = html.unescape(text).replace("\u00a0", " ")
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n[ \t]+(?=\S)", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _escape_plain(text: str) -> str:
    return re.sub(r"([\\`*_\[\]])", r"\\\1", text)


def _escape_lines(text: str) -> str:
    """Keep question text from being read as quiz syntax: '=' answers, '- [x]', '##'."""
    out = []
    for line in text.split("\n"):
        line = re.sub(r"^(\s*)=", r"\1&#61;", line)
        line = re.sub(r"^(\s*)([#>])", r"\1\\\2", line)
        line = re.sub(r"^(\s*[-*+]\s+)\[", r"\1\\[", line)
        out.append(line)
    return "\n".join(out)


def _neutralise(text: str) -> str:
    """Raw HTML cannot survive: authors write Markdown, and <script> is refused outright."""
    return _SCRIPT_RE.sub(r"&lt;\1", text)


class _Converter:
    def __init__(self) -> None:
        self.category: str | None = None
        self.keys: set[str] = set()
        self.sections: list[str] = []
        self.skipped: list[Skipped] = []
        self.notes: list[GiftNote] = []
        self.converted: list[Converted] = []
        self.pending: list[str] = []  # notes of the question being converted
        self.key = ""  # of the question just written
        self.count = 0

    # --- text -----------------------------------------------------------------------

    def text(self, raw: str, default_format: str) -> tuple[str, str]:
        """(Markdown, format) of a GIFT text field, which may start with its own [format]."""
        raw = raw.strip()
        m = _FORMAT_RE.match(raw)
        fmt = m[1] if m else default_format
        if m:
            raw = raw[m.end() :].strip()
        raw = _restore(raw)
        if fmt == "html" or (fmt == "moodle" and _TAG_RE.search(raw)):
            if _TAG_RE.search(raw):
                self.note(bilingual("đã bỏ định dạng HTML; kiểm tra lại câu chữ",
                                    "HTML formatting was removed; check the text"))
            text = _TAG_OPEN_RE.sub("&lt;", _html_to_markdown(raw))
        elif fmt == "plain":
            text = _TAG_OPEN_RE.sub("&lt;", _escape_plain(raw))
        else:
            text = raw
        if _SCRIPT_RE.search(text):
            self.note(bilingual("một thẻ HTML script đã được đổi thành văn bản thuần",
                                "an HTML script tag was turned into plain text"))
            text = _neutralise(text)
        return text, fmt

    def one_line(self, raw: str, default_format: str) -> str:
        text, _ = self.text(raw, default_format)
        return " ".join(text.split())

    def note(self, message: str) -> None:
        if message not in self.pending:
            self.pending.append(message)

    # --- questions ------------------------------------------------------------------

    def block(self, line: int, lines: list[str]) -> None:
        text = _protect("\n".join(lines)).strip()
        if text.startswith("$CATEGORY:"):
            if self.category is None:
                self.category = _category_title(_restore(text[len("$CATEGORY:") :]))
            return
        title = ""
        if text.startswith("::"):
            end = text.find("::", 2)
            if end >= 0:
                title = clean(_restore(text[2:end]))
                text = text[end + 2 :].strip()
        self.pending = []
        label = (
            title
            or clean(_restore(_FORMAT_RE.sub("", text.split("{", 1)[0])))[:60]
            or clean(_restore(text))[:60]
        )
        try:
            self.question(line, title, text)
        except _Skip as exc:
            self.skipped.append(Skipped(line, label, str(exc)))
            return
        self.notes.extend(GiftNote(line, label, message, self.key) for message in self.pending)
        self.converted.append(Converted(line, label, self.key))

    def question(self, line: int, title: str, text: str) -> None:
        start, end = text.find("{"), text.find("}")
        if start < 0 and end < 0:
            raise _Skip(bilingual("chỉ là đoạn mô tả (không có đáp án), không phải câu hỏi",
                                  "description only (no answers): not a question"))
        if start < 0 or end < start:
            raise _Skip(bilingual("dấu ngoặc nhọn { } không khớp: thiếu dấu mở hoặc dấu đóng",
                                  "unbalanced braces { }"))
        if text[end + 1 :].strip():
            raise _Skip(bilingual("chưa hỗ trợ dạng điền từ còn thiếu (có chữ sau phần đáp án)",
                                  "missing word format (text after the answers) is not supported"))
        answer = text[start + 1 : end].strip()
        general = ""
        separator = answer.rfind("####")
        if separator >= 0:
            general, answer = answer[separator + 4 :], answer[:separator].strip()
        question_md, fmt = self.text(text[:start], "moodle")
        general_md = self.text(general, fmt)[0] if general.strip() else ""
        if not answer:
            raise _Skip(bilingual("câu hỏi tự luận (không có đáp án để chấm)",
                                  "essay question (no answers to grade)"))
        body_lines, explanation, attrs = self.answers(answer, fmt)
        explanation_parts = [part for part in (*explanation, general_md) if part]
        self.emit(line, title, question_md, attrs, body_lines, _dedupe(explanation_parts))

    def answers(self, answer: str, fmt: str) -> tuple[list[str], list[str], str]:
        """The quiz format's answer lines, the explanation parts and the question's attributes."""
        if answer[0] == "#":
            items, explanation = self.numeric(answer[1:], fmt)
            return [f"= {item}" for item in items], explanation, ""
        if "~" in answer:
            return self.multichoice(answer, fmt)
        if "=" in answer and "->" in answer:
            raise _Skip(bilingual("chưa hỗ trợ câu hỏi ghép đôi", "matching question: not supported"))
        if answer.split("#", 1)[0].strip().upper() in _TRUE_FALSE:
            body_lines, explanation = self.true_false(answer, fmt)
            return body_lines, explanation, ""
        items, explanation = self.short(answer, fmt)
        return [f"= {item}" for item in items], explanation, ""

    def multichoice(self, answer: str, fmt: str) -> tuple[list[str], list[str], str]:
        options = self.options(answer, fmt)
        attrs = ""
        if any(o[3] for o in options):  # Moodle: one answer allowed
            right = self.one_answer_right(options)
        else:  # Moodle: several answers allowed, graded by weights
            right, attrs = self.several_answers_right(options)
        if any(o[2] for o in options if o not in right):
            self.note(WRONG_FEEDBACK_DROPPED)
        lines = [f"- [{'x' if o in right else ' '}] {o[0]}" for o in options]
        return lines, [o[2] for o in right], attrs

    def options(self, answer: str, fmt: str) -> list[tuple[str, Fraction, str, bool]]:
        """A multiple-choice question's answers: text, weight, feedback, written with '='."""
        parts = [part.strip() for part in answer.replace("=", "~=").split("~")]
        if parts and not parts[0]:
            parts.pop(0)
        if len(parts) < 2:
            raise _Skip(bilingual("câu hỏi trắc nghiệm cần ít nhất hai phương án",
                                  "a multiple-choice question needs at least two answers"))
        options: list[tuple[str, Fraction, str, bool]] = []  # text, weight, feedback, from '='
        for part in parts:
            equals = part.startswith("=")
            weight = Fraction(0)
            if equals:
                part, weight = part[1:], Fraction(1)
            elif m := _WEIGHT_RE.match(part):
                part, weight = part[m.end() :], Fraction(m[1]) / 100
            text, _, feedback = part.partition("#")
            choice = self.one_line(text, fmt)
            if not choice:
                raise _Skip(bilingual("một phương án không có chữ", "an answer has no text"))
            options.append((choice, weight, self.text(feedback, fmt)[0] if feedback.strip() else "", equals))
        if len({clean(o[0]) for o in options}) != len(options):
            raise _Skip(bilingual("hai phương án giống hệt nhau", "two answers have the same text"))
        return options

    def one_answer_right(
        self, options: list[tuple[str, Fraction, str, bool]]
    ) -> list[tuple[str, Fraction, str, bool]]:
        """The right answer of a one-answer question ('=' answers)."""
        right = [o for o in options if o[1] >= 1]
        if len(right) > 1:
            raise _Skip(bilingual(
                "câu hỏi một đáp án mà có nhiều đáp án đúng trọn điểm (Moodle "
                "nhận bất kỳ đáp án nào): không viết được theo cú pháp bài kiểm tra",
                "several fully correct answers in a one-answer "
                "question (Moodle accepts any one): not expressible"))
        if any(0 < o[1] < 1 for o in options):
            self.note(bilingual("các đáp án đúng một phần (trọng số Moodle) ở đây bị tính là sai",
                                "partly correct answers (Moodle weights) count as wrong here"))
        return right

    def several_answers_right(
        self, options: list[tuple[str, Fraction, str, bool]]
    ) -> tuple[list[tuple[str, Fraction, str, bool]], str]:
        """The right answers of a question graded by weights, and its attributes."""
        right = [o for o in options if o[1] > 0]
        if not right:
            raise _Skip(bilingual("không có đáp án đúng", "no correct answer"))
        if len(right) == len(options):
            raise _Skip(bilingual("mọi phương án đều đúng: chọn hết là được trọn điểm",
                                  "every answer is right: ticking them all would earn full marks"))
        if len(right) > 1:
            weights = ", ".join(f"{float(o[1] * 100):g}%" for o in options if o[1])
            self.note(bilingual(
                f"trọng số Moodle ({weights}) được đổi thành chấm điểm từng "
                "phần: mỗi phương án đúng được chọn được 1/(số phương án đúng), "
                "mỗi phương án sai bị trừ 1/(số phương án sai), không dưới 0",
                f"Moodle weights ({weights}) became partial credit: each right choice ticked "
                "earns 1/(number right), each wrong one costs 1/(number wrong), never below 0"))
            return right, " partial"
        if right[0][1] != 1:
            worth = f"{float(right[0][1] * 100):g}%"
            self.note(bilingual(f"đáp án đúng duy nhất có trọng số {worth}; ở đây được tính 100%",
                                f"the only right answer was worth {worth}; here it is worth 100%"))
        return right, ""

    def true_false(self, answer: str, fmt: str) -> tuple[list[str], list[str]]:
        value, *feedback = answer.split("#", 2)
        wrong = self.text(feedback[0], fmt)[0] if feedback and feedback[0].strip() else ""
        right = self.text(feedback[1], fmt)[0] if len(feedback) > 1 and feedback[1].strip() else ""
        if wrong:
            self.note(bilingual("đã bỏ phản hồi cho câu trả lời sai",
                                "feedback on the wrong answer was dropped"))
        is_true = value.strip().upper() in _TRUE
        lines = [f"- [{'x' if is_true else ' '}] Đúng", f"- [{' ' if is_true else 'x'}] Sai"]
        return lines, [right]

    def full_marks(self, answer: str, shown: Callable[[str], str]) -> Iterator[tuple[str, str]]:
        """The answers of ``=a#feedback =%50%b`` that give full marks, as (``shown(text)``,
        feedback); partly correct ones are dropped with a note."""
        parts = [part.strip() for part in answer.split("=")]
        if parts and not parts[0]:
            parts.pop(0)
        for part in parts:
            weight = Fraction(1)
            if m := _WEIGHT_RE.match(part):
                part, weight = part[m.end() :], Fraction(m[1]) / 100
            text, _, feedback = part.partition("#")
            value = shown(text)
            if weight < 1:
                if weight > 0:
                    self.note(bilingual(f"đã bỏ đáp án đúng một phần '{value}'",
                                        f"the partly correct answer '{value}' was dropped"))
                continue
            yield value, feedback

    def short(self, answer: str, fmt: str) -> tuple[list[str], list[str]]:
        def shown(text: str) -> str:
            return clean(_html_to_markdown(_restore(text))) if _TAG_RE.search(text) else clean(_restore(text))

        accepted: list[str] = []
        explanation: list[str] = []
        for value, feedback in self.full_marks(answer, shown):
            if not value:
                raise _Skip(bilingual("một đáp án để trống", "an answer is empty"))
            if "*" in value:
                self.note(bilingual(f"'*' trong '{value}' là ký tự đại diện "
                                    "của Moodle; ở đây nó chỉ khớp đúng dấu '*'",
                                    f"'*' in '{value}' is a Moodle wildcard; "
                                    "here it matches only a literal '*'"))
            accepted.append(value)
            if feedback.strip():
                explanation.append(self.text(feedback, fmt)[0])
        if not accepted:
            raise _Skip(bilingual("không đáp án nào được trọn điểm", "no answer gives full marks"))
        return accepted, explanation

    def numeric(self, answer: str, fmt: str) -> tuple[list[str], list[str]]:
        if "~" in answer:
            answer, wrong = answer.split("~", 1)
            if wrong.strip().lstrip("#").strip():
                self.note(WRONG_FEEDBACK_DROPPED)
        items: list[str] = []
        explanation: list[str] = []
        for text, feedback in self.full_marks(answer, lambda raw: _restore(raw).strip()):
            if text == "*":
                continue
            if ".." in text:
                low_s, _, high_s = text.partition("..")
                low, high = _decimal(low_s), _decimal(high_s)
                if low > high:
                    raise _Skip(bilingual(f"khoảng {text}: đầu dưới lớn hơn đầu trên",
                                          f"range {text}: the low end is above the high end"))
                items.append(f"{_number_text(low)}..{_number_text(high)}")
            else:
                value_s, _, tolerance_s = text.partition(":")
                value = _decimal(value_s)
                tolerance = _decimal(tolerance_s) if tolerance_s.strip() else Decimal(0)
                if tolerance < 0:
                    raise _Skip(bilingual(f"sai số âm trong {text}", f"negative tolerance in {text}"))
                item = _number_text(value)
                items.append(f"{item} ± {_number_text(tolerance)}" if tolerance else item)
            if feedback.strip():
                explanation.append(self.text(feedback, fmt)[0])
        if not items:
            raise _Skip(bilingual("không đáp án số nào được trọn điểm", "no numeric answer gives full marks"))
        return items, explanation

    # --- output ---------------------------------------------------------------------

    def emit(
        self, line: int, title: str, question_md: str, attrs: str, answer_lines: list[str], explanation: str
    ) -> None:
        question_md = question_md.strip()
        paragraph = question_md.split("\n")
        if (
            question_md
            and all(p.strip() for p in paragraph)
            and not any(BLOCK_START_RE.match(p) for p in paragraph)
        ):
            heading, body = " ".join(p.strip() for p in paragraph), ""
        elif question_md or title:
            heading, body = title or f"Câu hỏi {self.count + 1}", question_md
        else:
            raise _Skip(bilingual("câu hỏi không có chữ", "the question has no text"))
        key = self.unique_key(title or heading)
        out = [f"## {' '.join(heading.split())} {{#{key}{attrs}}}", ""]
        if body:
            out += [_escape_lines(body), ""]
        out += [*answer_lines, ""]
        if explanation:
            out += [("> " + text).rstrip() for text in explanation.split("\n")]
            out.append("")
        self.sections.append("\n".join(out))
        self.count += 1
        self.key = key

    def unique_key(self, text: str) -> str:
        base = _slug(text) or "cau-hoi"
        key, n = base, 1
        while key in self.keys:
            n += 1
            key = f"{base}-{n}"
        self.keys.add(key)
        return key

    def markdown(self) -> str:
        title = self.category or DEFAULT_TITLE
        head = ["---", f"title: {json.dumps(title, ensure_ascii=False)}",
                f"# {bilingual('Chuyển từ Moodle GIFT.', 'Converted from Moodle GIFT.')}"]
        if self.notes:
            head.append(f"# {bilingual('Kiểm tra lại các câu hỏi sau', 'Check these questions')}:")
            head += [f"# - {n.key} ({bilingual(f'dòng GIFT {n.line}', f'GIFT line {n.line}')}): "
                     f"{' '.join(n.message.split())}" for n in self.notes]
        head += ["---", ""]
        return "\n".join(head + self.sections).rstrip("\n") + "\n"


def _category_title(path: str) -> str | None:
    special = {"$course$", "$system$", "$module$", "$coursecategory$", "top"}
    segments = [clean(s) for s in path.strip().split("/")]
    segments = [s for s in segments if s and s.lower() not in special]
    return segments[-1] if segments else None


def _dedupe(parts: list[str]) -> str:
    seen: list[str] = []
    for part in parts:
        if part.strip() and part not in seen:
            seen.append(part.strip())
    return "\n\n".join(seen)


def _blocks(text: str) -> list[tuple[int, list[str]]]:
    """Questions are separated by blank lines; '//' comment lines are dropped."""
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    start = 0
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            if current:
                blocks.append((start, current))
                current = []
            continue
        if line.strip().startswith("//"):
            continue
        if not current:
            start = number
        current.append(line)
    if current:
        blocks.append((start, current))
    return blocks


def convert_gift(text: str) -> GiftResult:
    """Convert a GIFT file's text. Line numbers in the result are the GIFT file's."""
    text = nfc(text).removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    converter = _Converter()
    for line, lines in _blocks(text):
        converter.block(line, lines)
    return GiftResult(
        markdown=converter.markdown(),
        converted=converter.count,
        skipped=tuple(converter.skipped),
        notes=tuple(converter.notes),
        questions=tuple(converter.converted),
    )


def convert_gift_file(src: Path, dest: Path, *, overwrite: bool = False) -> GiftResult:
    """Convert *src* and write *dest* (UTF-8) if at least one question converted.

    An existing *dest* is not replaced unless *overwrite*: it may hold an author's edits.
    """
    decoded = decode(Path(src).read_bytes())
    if decoded.text is None:
        raise NotTextError(f"{src}:{decoded.line}: {decoded.message}")
    result = convert_gift(decoded.text)
    if result.converted:
        dest = Path(dest)
        if dest.exists() and not overwrite:
            raise FileExistsError(f"{dest} exists; pass overwrite=True to replace it")
        dest.write_text(result.markdown, encoding="utf-8", newline="\n")
    return result
