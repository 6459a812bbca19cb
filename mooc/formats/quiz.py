"""The quiz file format: `*.quiz.md` text in, plain data and problems (file:line) out.

Course authors write quizzes in a terminal and check them with one command, so every
problem carries the 1-based line of the file and a stable code, and parsing never stops
at the first one. Markdown is kept as source: the caller renders and sanitises it.
The syntax is described in docs/authoring.md, "Quizzes" (section 6).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from mooc.formats.problem import ERROR, WARNING, Problem, bilingual
from mooc.formats.quiz_review import DEFAULT_POLICY, POLICIES
from mooc.formats.source import (
    FRONT_MATTER_MISSING,
    FRONT_MATTER_UNCLOSED,
    NOT_KEY_VALUE,
    DuplicateKeyError,
    YAMLError,
    explain_yaml_error,
    load_yaml,
)
from mooc.text import clean, fold, nfc

__all__ = [
    "MATCH_MODES",
    "QUESTION_TYPES",
    "REVIEW_MODES",
    "ChoiceSource",
    "NumericAnswer",
    "NumericRange",
    "QuestionSource",
    "QuizSettings",
    "QuizSource",
    "choice_key",
    "normalize_answer",
    "parse_number",
    "parse_numeric_answer",
    "parse_quiz",
    "parse_quiz_markdown",
    "MarkdownPart",
    "BLOCK_START_RE",
    "INLINE_KINDS",
]

QUESTION_TYPES = ("single", "multiple", "true_false", "short", "numeric")
REVIEW_MODES = POLICIES  # see mooc/formats/quiz_review.py
MATCH_MODES = ("fold", "case", "exact")

KEY_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


# --- data ---------------------------------------------------------------------------


@dataclass(frozen=True)
class QuizSettings:
    pass_percent: int = 80
    attempts: int = 0  # 0 = unlimited
    time_limit: int | None = None  # minutes
    draw: int | None = None  # None = every question
    shuffle: bool = False
    review: str = DEFAULT_POLICY
    partial_credit: bool = False


@dataclass(frozen=True)
class ChoiceSource:
    key: str
    text_md: str
    correct: bool
    line: int = 0


@dataclass(frozen=True)
class NumericAnswer:
    """`= 45 ± 2`: right when |response - value| <= tolerance."""

    value: Decimal
    tolerance: Decimal = Decimal(0)

    @property
    def low(self) -> Decimal:
        return self.value - self.tolerance

    @property
    def high(self) -> Decimal:
        return self.value + self.tolerance


@dataclass(frozen=True)
class NumericRange:
    """`= 1..5`: right when low <= response <= high."""

    low: Decimal
    high: Decimal


@dataclass(frozen=True)
class QuestionSource:
    key: str
    type: str  # one of QUESTION_TYPES
    title: str
    body_md: str = ""
    choices: tuple[ChoiceSource, ...] = ()
    answers: tuple[str, ...] = ()  # short
    numeric: tuple[NumericAnswer | NumericRange, ...] = ()
    points: int = 1
    partial: bool = False  # effective: only ever true for "multiple"
    match_mode: str = "fold"  # short answers only
    shuffle: bool = True  # this question's choices may be shuffled (when the quiz shuffles)
    explanation_md: str = ""
    line: int = 0


INLINE_KINDS = ("title", "choice")  # shown as one line, without their paragraph (quiz_content._inline)


@dataclass(frozen=True)
class MarkdownPart:
    """A piece of a quiz file the sync renders as Markdown on its own (quiz_content): what the
    courses check reads, line by line, for what the page would show as written."""

    kind: str  # "intro", "title", "body", "choice" or "explanation"
    text: str  # as rendered
    lines: tuple[int, ...]  # the file's line of each line of text
    question: str = ""  # the question's key (or title); "" for the introduction

    @property
    def inline(self) -> bool:
        """A title or a choice is shown as one line of text, without its paragraph."""
        return self.kind in INLINE_KINDS


@dataclass(frozen=True)
class QuizSource:
    title: str
    settings: QuizSettings
    intro_md: str
    questions: tuple[QuestionSource, ...]

    def content_hash(self) -> str:
        """SHA-256 of the normalised content, line numbers left out.

        Line numbers move when an author adds a blank line; that is not a change a
        sync needs to act on.
        """
        data = _without_lines(dataclasses.asdict(self))
        blob = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
        return hashlib.sha256(("quiz-v1\n" + blob).encode()).hexdigest()


def _without_lines(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_lines(v) for k, v in value.items() if k != "line"}
    if isinstance(value, list | tuple):
        return [_without_lines(v) for v in value]
    return value


# --- numbers ------------------------------------------------------------------------

_NUM_PLAIN = re.compile(r"[+-]?[0-9]+(?:[.,][0-9]+)?")
_NUM_GROUPED = (
    (re.compile(r"[+-]?[0-9]{1,3}(?:\.[0-9]{3})+(?:,[0-9]+)?"), ".", ","),  # 1.234.567,5
    (re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?"), ",", "."),  # 1,234,567.5
    (re.compile(r"[+-]?[0-9]{1,3}(?: [0-9]{3})+(?:[.,][0-9]+)?"), " ", None),  # 1 234 567,5
)
_MAX_NUMBER_CHARS = 40


def parse_number(text: str) -> Decimal | None:
    """A number as a person types it, or None.

    "2,5" and "2.5" are both 2.5 (Vietnamese writes a decimal comma). One separator is
    always a decimal separator, so "1.000" is 1; grouping is understood only where it
    cannot be a decimal: "1.234.567", "1.234,5", "1,234.5", "1 234".
    """
    if not isinstance(text, str) or len(text) > _MAX_NUMBER_CHARS:
        return None
    s = text.strip().replace("\u2212", "-").replace("\u00a0", " ").replace("\u202f", " ")
    if _NUM_PLAIN.fullmatch(s):
        return Decimal(s.replace(",", "."))
    for pattern, group, decimal in _NUM_GROUPED:
        if pattern.fullmatch(s):
            s = s.replace(group, "")
            if decimal:
                s = s.replace(decimal, ".")
            else:
                s = s.replace(",", ".")
            return Decimal(s)
    return None


_TOLERANCE_RE = re.compile(r"^(?P<value>.+?)\s*(?:±|\+/-|\+-)\s*(?P<tol>.+)$")
_NUMERIC_INTENT_RE = re.compile(r"^\s*[-+\u2212]?[0-9][0-9.,\s]*(?:±|\+/?-|\.\.)")


def parse_numeric_answer(text: str) -> NumericAnswer | NumericRange | None:
    """`45`, `45 ± 2`, `45 +- 2`, `1..5` (inclusive), or None."""
    s = text.strip()
    m = _TOLERANCE_RE.match(s)
    if m:
        value, tol = parse_number(m["value"]), parse_number(m["tol"])
        if value is None or tol is None or tol < 0:
            return None
        return NumericAnswer(value, tol)
    if ".." in s:
        low_s, _, high_s = s.partition("..")
        low, high = parse_number(low_s), parse_number(high_s)
        if low is None or high is None or low > high:
            return None
        return NumericRange(low, high)
    value = parse_number(s)
    return NumericAnswer(value) if value is not None else None


def choice_key(text_md: str) -> str:
    """Stable key of a choice: a short hash of its folded text, so reordering keeps it."""
    return "c-" + hashlib.sha256(fold(text_md).encode()).hexdigest()[:8]


# --- short answers -----------------------------------------------------------------

_TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")  # huyền sắc ngã hỏi nặng
_COMBINING_RE = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")
_D_TO_ASCII = str.maketrans({"đ": "d", "Đ": "D", "ð": "d", "Ð": "D"})


def _tone_free_key(word: str) -> str:
    """A word with its tone marks moved to the end: "Hòa" and "Hoà" give the same key."""
    decomposed = unicodedata.normalize("NFD", word)
    tones = "".join(ch for ch in decomposed if ch in _TONE_MARKS)
    if not tones:
        return word
    base = "".join(ch for ch in decomposed if ch not in _TONE_MARKS)
    return unicodedata.normalize("NFC", base) + "\x00" + tones


def normalize_answer(text: str, mode: str = "fold") -> str:
    """The form in which a short answer is compared, per match mode.

    - "fold" (default): case, spacing, diacritics and đ/d ignored (mooc.text.fold);
    - "case": case matters, diacritics and đ/d do not;
    - "exact": case and diacritics matter; only Unicode form (NFC), spacing and the place
      of the tone mark ("Hòa"/"Hoà", "thủy"/"thuỷ": both spellings are taught) do not.
    """
    if mode == "fold":
        return fold(text)
    text = clean(text)
    if mode == "case":
        return _COMBINING_RE.sub("", unicodedata.normalize("NFD", text)).translate(_D_TO_ASCII)
    if mode == "exact":
        return " ".join(_tone_free_key(word) for word in text.split(" "))
    raise ValueError(f"unknown match mode {mode!r}")


# --- the parser ---------------------------------------------------------------------

_HEADING_RE = re.compile(r"^ {0,3}##(?:[ \t]+(?P<text>.*?)|)[ \t]*$")
_ATTRS_RE = re.compile(r"^(?P<title>.*?)[ \t]*\{(?P<attrs>[^{}]*)\}$")
_TASK_RE = re.compile(r"^(?P<indent>[ \t]*)[-*+][ \t]+\[(?P<mark>[ xX])\](?:[ \t]+(?P<text>.*?)|)[ \t]*$")
_ANSWER_RE = re.compile(r"^ {0,3}=(?P<text>.*)$")
_SETEXT_RE = re.compile(r"^ {0,3}={2,}[ \t]*$")
_QUOTE_RE = re.compile(r"^ {0,3}>[ ]?(?P<text>.*)$")
_FENCE_RE = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
# A line Markdown reads as the start of a block (a list, a quote, a heading, a table, code, a
# rule), not of a paragraph: a question's title or a choice written so is not one line of text.
BLOCK_START_RE = re.compile(
    r"^\s*(?:[-*+]\s|[0-9]+[.)]\s|>|#|\||```|~~~|\s{4}|([-*_])(?:[ \t]*\1){2,}[ \t]*$)")
_INLINE_CODE_RE = re.compile(r"(`+).+?\1")
_SCRIPT_RE = re.compile(r"<\s*/?\s*script", re.IGNORECASE)
_SETTING_LINE_RE = re.compile(r"^(?P<key>[^\s#:'\"-][^:]*?)[ \t]*:")
_TRUE_FALSE = ({"dung", "sai"}, {"true", "false"})

_SETTING_NAMES = ("title",) + tuple(f.name for f in dataclasses.fields(QuizSettings))
# Front matter the course layer reads for every file (identity across renames, see
# docs/authoring.md) and checks itself; here it is only allowed.
_FILE_SETTINGS = ("id", "previously")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _indent(s: str) -> int:
    expanded = s.expandtabs(4)
    return len(expanded) - len(expanded.lstrip())


@dataclass
class _Choice:
    index: int  # into lines
    text: str
    correct: bool
    at: list[int] = field(default_factory=list)  # the line of each line of text, once continued


@dataclass
class _Question:
    line: int  # index into lines
    title: str
    key: str | None
    attrs: dict[str, Any]
    body: list[str] = field(default_factory=list)
    choices: list[_Choice] = field(default_factory=list)
    answers: list[tuple[int, str]] = field(default_factory=list)
    explanation: list[str] = field(default_factory=list)
    body_at: list[int] = field(default_factory=list)  # the line of each line of body
    explanation_at: list[int] = field(default_factory=list)  # ... and of explanation


@dataclass
class _Fill:
    """Where ``_Parser.fill`` is in a question's lines."""

    state: str = "body"  # -> "choices" | "answers" -> "explanation" -> "after"
    stray_run: bool = False
    choice_open: bool = False  # the last choice may still continue
    gap: bool = False  # a blank line since the last line that counted
    quote_open: bool = False  # the last line was part of the explanation


def _stray(question: str) -> str:
    return bilingual(f"đoạn này nằm sau câu hỏi '{question}', không thuộc câu hỏi nào và sẽ không hiện "
                     "ra: lời giải thích bắt đầu bằng '> ', câu hỏi mới bằng '## Câu hỏi? {#khoa}'",
                     f"this text after question '{question}' belongs to no question and would be shown "
                     "nowhere: an explanation starts with '> ', a new question with '## Question? {#key}'")


# What authors call each type of question (docs/authoring.md, "Question types").
TYPE_NAMES = {"single": ("một đáp án", "one-answer"), "multiple": ("nhiều đáp án", "multiple-answer"),
              "true_false": ("đúng/sai", "true/false"), "short": ("trả lời ngắn", "short-answer"),
              "numeric": ("trả lời bằng số", "numeric")}


class _Parser:
    def __init__(self, text: str, path: str, line_offset: int) -> None:
        text = nfc(text).removeprefix("\ufeff")
        # Not splitlines(): it also splits on \x0b, \x1c, \u2028..., which editors do not.
        self.lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        if len(self.lines) > 1 and self.lines[-1] == "":
            self.lines.pop()  # the final newline ends the last line; it does not start one
        self.path = path
        self.offset = line_offset
        self.problems: list[Problem] = []
        self.in_code = [False] * len(self.lines)
        self.key_lines: dict[str, int] = {}  # front matter setting -> line index
        self.intro_at: list[int] = []  # the introduction's lines
        self.questions: list[_Question] = []

    def report(self, index: int, severity: str, code: str, message: str) -> None:
        self.problems.append(Problem(self.path, index + 1 + self.offset, severity, code, message))

    def error(self, index: int, code: str, message: str) -> None:
        self.report(index, ERROR, code, message)

    def warn(self, index: int, code: str, message: str) -> None:
        self.report(index, WARNING, code, message)

    def line_no(self, index: int) -> int:
        return index + 1 + self.offset

    # --- front matter ---------------------------------------------------------------

    def front_matter(self) -> tuple[str, QuizSettings, int, int | None]:
        """Return (title, settings, first body line, index of the `draw` line)."""
        lines = self.lines
        if lines[0].strip() != "---":
            self.error(0, "front-matter-missing", FRONT_MATTER_MISSING)
            return "", QuizSettings(), 0, None
        end = next((i for i in range(1, len(lines)) if lines[i].rstrip() in ("---", "...")), None)
        if end is None:
            self.error(0, "front-matter-unclosed", FRONT_MATTER_UNCLOSED)
            return "", QuizSettings(), len(lines), None
        key_lines: dict[str, int] = {}
        for i in range(1, end):
            if m := _SETTING_LINE_RE.match(lines[i]):
                key_lines.setdefault(m["key"], i)
        self.key_lines = key_lines
        try:
            data = load_yaml("\n".join(lines[1:end]))
        except YAMLError as exc:
            line, message = explain_yaml_error(exc, lines[1:end], self.line_no(1))
            code = "duplicate-setting" if isinstance(exc, DuplicateKeyError) else "front-matter-yaml"
            self.error(line - self.line_no(0), code, message)
            return "", QuizSettings(), end + 1, None
        if data is None:
            data = {}
        if not isinstance(data, dict):
            self.error(1, "front-matter-yaml", NOT_KEY_VALUE)
            return "", QuizSettings(), end + 1, None
        title, settings = self.settings(data, key_lines)
        return title, settings, end + 1, key_lines.get("draw", 0)

    def settings(self, data: dict, key_lines: dict[str, int]) -> tuple[str, QuizSettings]:
        values: dict[str, Any] = {}
        title = ""
        for name, value in data.items():
            index = key_lines.get(str(name), 0)
            if name in _FILE_SETTINGS:
                continue
            if name not in _SETTING_NAMES:
                known = ", ".join(_SETTING_NAMES + _FILE_SETTINGS)
                self.error(index, "unknown-setting", bilingual(
                    f"bài kiểm tra không có thiết lập '{name}' (các thiết lập: {known}): kiểm tra lỗi gõ",
                    f"unknown setting '{name}' (known: {known})"))
                continue
            problem = _check_setting(name, value)
            if problem:
                self.error(index, "invalid-setting", problem)
            elif name == "title":
                title = clean(value)
                if _SCRIPT_RE.search(title):
                    self.error(index, "raw-script", bilingual("tiêu đề có thẻ HTML <script>: xóa thẻ đó",
                                                              "the title contains an HTML <script> tag"))
            elif value is not None:
                values[name] = value
        if not title and "title" not in data:
            self.error(0, "missing-title", bilingual(
                "phần đầu tệp thiếu 'title' (tiêu đề bài kiểm tra): thêm một dòng 'title: ...'",
                "the front matter has no 'title'"))
        return title, QuizSettings(**values)

    # --- body -----------------------------------------------------------------------

    def mark_code(self, start: int) -> None:
        """Mark the lines of fenced code blocks: nothing inside them is quiz syntax."""
        fence = ""
        opened = 0
        for i in range(start, len(self.lines)):
            m = _FENCE_RE.match(self.lines[i])
            if fence:
                self.in_code[i] = True
                if (
                    m
                    and m["fence"][0] == fence[0]
                    and len(m["fence"]) >= len(fence)
                    and not m["info"].strip()
                ):
                    fence = ""
            elif m and not (m["fence"][0] == "`" and "`" in m["info"]):
                fence, opened = m["fence"], i
                self.in_code[i] = True
        if fence:
            # Everything after it would silently be code, questions included.
            self.error(opened, "unclosed-code", bilingual(
                f"khối mã mở ở đây không có dòng {fence} đóng: "
                "mọi thứ phía sau, kể cả các câu hỏi, sẽ thành mã",
                f"the code block opened here is never closed with {fence}"))

    def check_script(self, index: int) -> None:
        if not self.in_code[index] and _SCRIPT_RE.search(_INLINE_CODE_RE.sub("", self.lines[index])):
            self.error(index, "raw-script", bilingual("không được dùng thẻ HTML <script>; chỉ viết Markdown",
                                                      "HTML <script> is not allowed; write Markdown only"))

    def body(self, start: int) -> tuple[str, list[_Question]]:
        self.mark_code(start)
        intro: list[str] = []
        questions: list[_Question] = []
        current: _Question | None = None
        section: list[int] = []
        for i in range(start, len(self.lines)):
            self.check_script(i)
            m = None if self.in_code[i] else _HEADING_RE.match(self.lines[i])
            if m is None:
                section.append(i)
                continue
            if current is None:
                intro = self.intro(section)
            else:
                self.fill(current, section)
            current = self.heading(i, m["text"] or "")
            questions.append(current)
            section = []
        if current is None:
            intro = self.intro(section)
        else:
            self.fill(current, section)
        self.questions = questions
        return _join(intro), questions

    def intro(self, indexes: list[int]) -> list[str]:
        for i in indexes:
            line = self.lines[i]
            if self.in_code[i] or _SETEXT_RE.match(line):
                continue
            if _TASK_RE.match(line) or _answer(line) is not None:
                self.error(i, "answers-outside-question", bilingual(
                    "có phương án hoặc đáp án '=' nằm trước câu "
                    "hỏi '##' đầu tiên: đặt chúng dưới một câu hỏi",
                    "choices or '=' answers before the first '##' question"))
        self.intro_at = indexes
        return [self.lines[i] for i in indexes]

    def heading(self, index: int, text: str) -> _Question:
        m = _ATTRS_RE.match(text)
        attrs: dict[str, Any] = {}
        key = None
        if m and any(token.startswith("#") for token in m["attrs"].split()):
            title = m["title"].strip()
            key, attrs = self.attributes(index, m["attrs"])
        else:
            title = text.strip()
            self.error(index, "missing-key", bilingual(
                "câu hỏi chưa có khóa: kết thúc dòng tiêu đề bằng {#mot-khoa}",
                "the question has no key: end the heading with {#a-key}"))
        if not title:
            self.error(index, "empty-title", bilingual("dòng tiêu đề câu hỏi không có chữ",
                                                       "the question heading has no text"))
        return _Question(line=index, title=title, key=key, attrs=attrs)

    def attributes(self, index: int, raw: str) -> tuple[str | None, dict[str, Any]]:
        key = None
        attrs: dict[str, Any] = {}
        for token in raw.split():
            name, eq, value = token.partition("=")
            if token.startswith("#"):
                if key is not None:
                    self.error(index, "invalid-key", bilingual(
                        f"dòng tiêu đề có hai khóa: '#{key}' và '{token}'",
                        f"the heading has two keys: '#{key}' and '{token}'"))
                key = token[1:]
                if not KEY_RE.fullmatch(key):
                    self.error(index, "invalid-key", bilingual(
                        f"khóa câu hỏi '{key}' không hợp lệ: dùng chữ thường a-z, chữ số và dấu gạch nối",
                        f"invalid question key '{key}': use lowercase letters a-z, digits and hyphens"))
            elif name == "points" and eq:
                if value.isascii() and value.isdigit() and 1 <= int(value) <= 1000:
                    attrs["points"] = int(value)
                else:
                    self.error(index, "invalid-attribute", bilingual(
                        f"points phải là số nguyên từ 1 đến 1000: '{token}'",
                        f"points must be a whole number from 1 to 1000: '{token}'"))
            elif name in ("partial", "shuffle", "exact", "case") and (not eq or value in ("true", "false")):
                attrs[name] = value != "false"
            else:
                self.error(index, "unknown-attribute", bilingual(
                    f"câu hỏi không có thuộc tính '{token}' (dùng: "
                    "#khoa, points=N, partial, shuffle, exact, case)",
                    f"unknown question attribute '{token}' (known: "
                    "#key, points=N, partial, shuffle, exact, case)"))
        return key, attrs

    def fill(self, q: _Question, indexes: list[int]) -> None:
        """Sort a question's lines into body, choices, answers and explanation.

        Continuation lines follow Markdown, so what the parser reads is what the page
        shows: text right under a choice continues it, as does indented text after a
        blank line; text right under a '>' line continues the explanation.
        """
        fill = _Fill()
        for i in indexes:
            self.fill_line(q, fill, i)

    def fill_line(self, q: _Question, fill: _Fill, i: int) -> None:
        line = self.lines[i]
        code = self.in_code[i]
        task = None if code else _TASK_RE.match(line)
        answer = None if code or task or _SETEXT_RE.match(line) else _answer(line)
        quote = None if code else _QUOTE_RE.match(line)
        if not line.strip() and not code:
            if fill.state == "body":
                q.body.append("")
                q.body_at.append(i)
            elif fill.state == "explanation":
                q.explanation.append("")
                q.explanation_at.append(i)
            fill.gap, fill.stray_run, fill.quote_open = True, False, False
        elif task:
            self.fill_choice(q, fill, i, task)
        elif answer is not None:
            self.fill_answer(q, fill, i, answer)
        elif quote and fill.state in ("choices", "answers", "explanation"):
            fill.state = "explanation"
            q.explanation.append(quote["text"].rstrip())
            q.explanation_at.append(i)
            fill.choice_open, fill.gap, fill.quote_open = False, False, True
        else:
            self.fill_text(q, fill, i, line)

    def fill_choice(self, q: _Question, fill: _Fill, i: int, task: re.Match[str]) -> None:
        if _indent(task["indent"]) >= 2:
            self.error(i, "nested-choice", bilingual(
                "phương án ('- [ ]' hoặc '- [x]') không được lồng trong một danh sách: viết sát lề trái",
                "a choice ('- [ ]' or '- [x]') must not be nested in a list"))
        elif fill.state == "answers":
            self.mixed(q, i)
        elif fill.state in ("explanation", "after"):
            self.error(i, "misplaced-answer", bilingual("các phương án phải đứng trước lời giải thích ('>')",
                                                        "choices must come before the explanation ('>')"))
        else:
            fill.state = "choices"
            q.choices.append(_Choice(i, (task["text"] or "").strip(), task["mark"] != " ", [i]))
        fill.choice_open, fill.gap = True, False

    def fill_answer(self, q: _Question, fill: _Fill, i: int, answer: str) -> None:
        if fill.state == "choices":
            self.mixed(q, i)
        elif fill.state in ("explanation", "after"):
            self.error(i, "misplaced-answer", bilingual("các đáp án '=' phải đứng trước lời giải thích ('>')",
                                                        "'=' answers must come before the explanation ('>')"))
        else:
            fill.state = "answers"
            q.answers.append((i, answer))
        fill.choice_open, fill.gap = False, False

    def fill_text(self, q: _Question, fill: _Fill, i: int, line: str) -> None:
        """A line that is no choice, answer or explanation start: body, continuation or stray."""
        if fill.state == "body":
            q.body.append(line)
            q.body_at.append(i)
            return
        if (fill.state == "choices" and fill.choice_open and not self.in_code[i]
                and (not fill.gap or _indent(line) >= 2)):
            choice = q.choices[-1]
            choice.text += ("\n\n" if fill.gap else "\n") + line.strip()
            choice.at += [i - 1, i] if fill.gap else [i]
            fill.gap = False
            return
        if fill.state == "explanation" and fill.quote_open and not self.in_code[i]:
            q.explanation.append(line.strip())
            q.explanation_at.append(i)
            return
        if not fill.stray_run:  # an error: no trainee would ever see this text
            self.error(i, "stray-text", _stray(q.key or q.title))
            fill.stray_run = True
        if fill.state == "explanation":
            fill.state = "after"
        fill.choice_open = fill.quote_open = False

    def mixed(self, q: _Question, index: int) -> None:
        name = q.key or q.title
        self.error(index, "mixed-answers", bilingual(
            f"câu hỏi '{name}' trộn phương án '- [ ]' với đáp án '=': mỗi câu hỏi chỉ dùng một kiểu",
            f"question '{name}' mixes '- [ ]' choices and '=' answers"))

    # --- checks ---------------------------------------------------------------------

    def finish(self, q: _Question, settings: QuizSettings) -> QuestionSource | None:
        name = q.key or q.title
        attrs = q.attrs
        choices: list[ChoiceSource] = []
        answers: list[str] = []
        numeric: list[NumericAnswer | NumericRange] = []
        explanation = _join(q.explanation)
        if not explanation and (q.choices or q.answers):
            self.warn(q.line, "missing-explanation", bilingual(
                f"câu hỏi '{name}' chưa có lời giải thích ('> ...')",
                f"question '{name}' has no explanation ('> ...')"))
        qtype = None
        if q.choices and q.answers:
            pass  # reported as mixed-answers where they meet
        elif q.choices:
            qtype, choices = self.choice_question(q)
        elif q.answers:
            qtype, answers, numeric = self.answer_question(q)
        else:
            self.error(q.line, "no-answers", bilingual(
                f"câu hỏi '{name}' chưa có phương án ('- [ ]') và cũng chưa có đáp án '='",
                f"question '{name}' has no choices ('- [ ]') and no '=' answers"))
        if qtype is None:
            return None
        self.warn_ignored_attributes(q, qtype)
        match_mode = _match_mode(attrs)
        return QuestionSource(
            key=q.key or "",
            type=qtype,
            title=q.title,
            body_md=_join(q.body),
            choices=tuple(choices),
            answers=tuple(answers),
            numeric=tuple(numeric),
            points=attrs.get("points", 1),
            partial=qtype == "multiple" and attrs.get("partial", settings.partial_credit),
            match_mode=match_mode if qtype == "short" else "fold",
            shuffle=attrs.get("shuffle", True),
            explanation_md=explanation,
            line=self.line_no(q.line),
        )

    def warn_ignored_attributes(self, q: _Question, qtype: str) -> None:
        for attr, applies in (
            ("partial", qtype == "multiple"),
            ("exact", qtype == "short"),
            ("case", qtype == "short"),
            ("shuffle", qtype in ("single", "multiple")),
        ):
            if attr in q.attrs and not applies:
                vi, en = TYPE_NAMES[qtype]
                self.warn(q.line, "ignored-attribute", bilingual(
                    f"'{attr}' không có tác dụng với câu hỏi {vi} ('{q.key or q.title}')",
                    f"'{attr}' has no effect on a {en} question ('{q.key or q.title}')"))

    def choice_question(self, q: _Question) -> tuple[str | None, list[ChoiceSource]]:
        name = q.key or q.title
        ok = self.check_choice_texts(q)
        if len(q.choices) == 1:
            self.error(q.choices[0].index, "one-choice", bilingual(
                f"câu hỏi '{name}' chỉ có một phương án: thêm ít nhất một phương án nữa",
                f"question '{name}' has only one choice"))
            return None, []
        qtype = self.choice_type(q)
        if not ok or qtype is None:
            return None, []
        return self.keyed_choices(q, qtype)

    def check_choice_texts(self, q: _Question) -> bool:
        """Report empty and repeated choices; False when there is one."""
        name = q.key or q.title
        ok = True
        seen: dict[str, int] = {}
        for c in q.choices:
            if not c.text:
                self.error(c.index, "empty-choice", bilingual(
                    f"một phương án của câu hỏi '{name}' không có chữ",
                    f"a choice of question '{name}' has no text"))
                ok = False
            elif clean(c.text) in seen:
                first, second = self.line_no(seen[clean(c.text)]), self.line_no(c.index)
                self.error(c.index, "duplicate-choice", bilingual(
                    f"câu hỏi '{name}' có hai phương án giống nhau "
                    f"(dòng {first} và {second}): xóa một phương án",
                    f"question '{name}' has the same choice twice (lines {first} and {second})"))
                ok = False
            else:
                seen[clean(c.text)] = c.index
        return ok

    def choice_type(self, q: _Question) -> str | None:
        """true_false, single or multiple from the ticks; None (reported) when they are wrong."""
        name = q.key or q.title
        correct = sum(1 for c in q.choices if c.correct)
        if len(q.choices) == 2 and {fold(c.text) for c in q.choices} in _TRUE_FALSE:
            if correct != 1:
                what, what_vi = ("both", "đánh dấu cả hai phương án") if correct else (
                    "neither", "chưa đánh dấu phương án nào")
                self.error(q.line, "true-false-ticks", bilingual(
                    f"câu hỏi đúng/sai '{name}' {what_vi}: chỉ đánh dấu một phương án đúng ('- [x]')",
                    f"true/false question '{name}' has {what} answer ticked"))
                return None
            return "true_false"
        if correct == 0:
            self.error(q.line, "no-correct-choice", bilingual(
                f"câu hỏi '{name}' chưa có phương án đúng: đánh dấu phương án đúng bằng '- [x]'",
                f"question '{name}' has no correct choice ('- [x]')"))
            return None
        if correct == len(q.choices):
            self.error(q.line, "all-choices-correct", bilingual(
                f"mọi phương án của câu hỏi '{name}' đều được đánh dấu đúng, nên chọn hết là "
                "được trọn điểm mà không cần biết gì: thêm ít nhất một phương án sai ('- [ ]')",
                f"every choice of question '{name}' is ticked right, so ticking them all earns "
                "full marks without knowing anything: add at least one wrong choice ('- [ ]')"))
            return None
        return "single" if correct == 1 else "multiple"

    def keyed_choices(self, q: _Question, qtype: str) -> tuple[str | None, list[ChoiceSource]]:
        folded = [fold(c.text) for c in q.choices]
        choices = []
        for c, f in zip(q.choices, folded, strict=True):
            # Texts that differ only in accents or case ("Mã"/"Má") fold alike; they are
            # keyed by their exact text instead.
            if folded.count(f) > 1:
                key = "c-" + hashlib.sha256(clean(c.text).encode()).hexdigest()[:8]
            else:
                key = choice_key(c.text)
            choices.append(
                ChoiceSource(key=key, text_md=c.text, correct=c.correct, line=self.line_no(c.index))
            )
        if len({c.key for c in choices}) != len(choices):  # a hash collision: vanishingly rare
            self.error(q.line, "duplicate-choice", bilingual(
                f"câu hỏi '{q.key or q.title}': hai phương án có cùng khóa; viết lại lời một phương án",
                f"question '{q.key or q.title}': two choices get the same key; reword one"))
            return None, []
        return qtype, choices

    def answer_question(
        self, q: _Question
    ) -> tuple[str | None, list[str], list[NumericAnswer | NumericRange]]:
        name = q.key or q.title
        texts = [(i, t.strip()) for i, t in q.answers]
        ok = True
        for i, text in texts:
            if not text:
                self.error(i, "empty-answer", bilingual(f"một đáp án '=' của câu hỏi '{name}' đang để trống",
                                                        f"an '=' answer of question '{name}' is empty"))
                ok = False
        if not ok:
            return None, [], []
        parsed = [parse_numeric_answer(t) for _, t in texts]
        if all(p is not None for p in parsed):
            return "numeric", [], [p for p in parsed if p is not None]
        if not self.check_meant_numbers(texts, parsed):
            return None, [], []
        self.warn_duplicate_answers(q, texts)
        return "short", [t for _, t in texts], []

    def check_meant_numbers(
        self, texts: list[tuple[int, str]], parsed: list[NumericAnswer | NumericRange | None]
    ) -> bool:
        """Report answers written as numbers that do not read as one; False when there is one."""
        ok = True
        for (i, text), p in zip(texts, parsed, strict=True):
            if p is None and _NUMERIC_INTENT_RE.match(text):
                self.error(i, "bad-number", bilingual(
                    f"không đọc được '{text}' thành số: viết 45, 2,5, 45 ± 2 hoặc 1..5 (số nhỏ trước số lớn)",
                    f"cannot read '{text}' as a number: write 45, 2,5, 45 ± 2 or 1..5 (low before high)"))
                ok = False
        return ok

    def warn_duplicate_answers(self, q: _Question, texts: list[tuple[int, str]]) -> None:
        name = q.key or q.title
        mode = _match_mode(q.attrs)
        seen: dict[str, int] = {}
        for i, text in texts:
            norm = normalize_answer(text, mode)
            if norm in seen:
                first = self.line_no(seen[norm])
                self.warn(i, "duplicate-answer", bilingual(
                    f"đáp án '{text}' của câu hỏi '{name}' chấp nhận cùng những câu trả lời như đáp án ở "
                    f"dòng {first} (cách so sánh: {mode}): xóa một đáp án",
                    f"answer '{text}' of question '{name}' accepts the "
                    f"same responses as line {first} (comparison: {mode})"))
            else:
                seen[norm] = i

    # --- the Markdown of the file -----------------------------------------------------

    def part(self, kind: str, lines: list[str], at: list[int], question: str = "") -> MarkdownPart | None:
        """The text as ``_join`` makes it, with the file's line of each of its lines."""
        kept = [(line.rstrip(), i) for line, i in zip(lines, at, strict=True)]
        while kept and not kept[0][0]:
            kept.pop(0)
        while kept and not kept[-1][0]:
            kept.pop()
        if not kept:
            return None
        return MarkdownPart(kind, "\n".join(line for line, _ in kept),
                            tuple(self.line_no(i) for _, i in kept), question)

    def markdown_parts(self) -> list[MarkdownPart]:
        """Every piece the sync renders: the introduction, and each question's title, text,
        choices and explanation (quiz_content), read even from a file with errors."""
        parts = [self.part("intro", [self.lines[i] for i in self.intro_at], self.intro_at)]
        for q in self.questions:
            name = q.key or q.title
            parts.append(self.part("title", [q.title], [q.line], name))
            parts.append(self.part("body", q.body, q.body_at, name))
            parts += [self.part("choice", c.text.split("\n"), c.at, name) for c in q.choices]
            parts.append(self.part("explanation", q.explanation, q.explanation_at, name))
        return [part for part in parts if part is not None]

    # --- whole file -----------------------------------------------------------------

    def same_questions(self, questions: list[_Question]) -> None:
        """A question written twice under two keys (pasted, or imported twice): a draw may ask
        it twice in one attempt, and its results are split between the keys."""
        seen: dict[str, _Question] = {}
        for q in questions:
            said = fold(" ".join([q.title, *q.body, *sorted(c.text for c in q.choices),
                                  *sorted(text for _i, text in q.answers)]))
            if said in seen:
                first = seen[said]
                line = self.line_no(first.line)
                self.warn(q.line, "duplicate-question", bilingual(
                    f"câu hỏi '{q.key}' trùng nội dung với '{first.key}' (dòng {line}): một lần làm bài có "
                    "thể gặp câu này hai lần; xóa một câu",
                    f"question '{q.key}' says the same as '{first.key}' "
                    f"(line {line}): a draw may ask it twice; delete one"))
            else:
                seen[said] = q

    def run(self) -> tuple[QuizSource | None, list[Problem]]:
        title, settings, start, draw_index = self.front_matter()
        intro, raw_questions = self.body(start)
        questions: list[QuestionSource] = []
        keys: dict[str, int] = {}
        for q in raw_questions:
            if q.key is not None and KEY_RE.fullmatch(q.key):
                if q.key in keys:
                    first, second = self.line_no(keys[q.key]), self.line_no(q.line)
                    self.error(q.line, "duplicate-key", bilingual(
                        f"khóa câu hỏi '{q.key}' được dùng hai lần (dòng "
                        f"{first} và {second}): mỗi câu hỏi cần một khóa riêng",
                        f"question key '{q.key}' is used twice (lines {first} and {second})"))
                else:
                    keys[q.key] = q.line
            source = self.finish(q, settings)
            if source is not None:
                questions.append(source)
        self.same_questions(raw_questions)
        if not raw_questions:
            index = min(start, len(self.lines) - 1)
            self.error(index, "no-questions", bilingual("bài kiểm tra chưa có câu hỏi "
                                                        "nào ('## Câu hỏi? {#khoa}')",
                                                        "the quiz has no questions ('## Question {#key}')"))
        elif settings.draw is not None and settings.draw > len(raw_questions):
            self.error(draw_index or 0, "draw-too-large", bilingual(
                f"draw là {settings.draw} nhưng bài kiểm tra chỉ có {len(raw_questions)} câu hỏi",
                f"draw is {settings.draw} but the quiz has only {len(raw_questions)} questions"))
        if settings.review == "after_last_attempt" and not settings.attempts:
            self.warn(self.key_lines.get("review", 0), "review-never-shown", bilingual(
                "review: after_last_attempt mà không giới hạn số lần làm bài thì không bao giờ "
                "hiện đáp án: đặt 'attempts', hoặc dùng after_close (hiện khi học viên đã đạt)",
                "review: after_last_attempt with unlimited attempts never shows the answers: "
                "set 'attempts', or use after_close (shown once the trainee has passed)"))
        problems = sorted(self.problems, key=lambda p: (p.line, p.severity != ERROR))
        if any(p.severity == ERROR for p in problems):
            return None, problems
        return QuizSource(
            title=title, settings=settings, intro_md=intro, questions=tuple(questions)
        ), problems


def _match_mode(attrs: dict[str, Any]) -> str:
    if attrs.get("exact"):
        return "exact"
    return "case" if attrs.get("case") else "fold"


def _answer(line: str) -> str | None:
    m = _ANSWER_RE.match(line)
    return m["text"] if m else None


def _join(lines: list[str]) -> str:
    return "\n".join(line.rstrip() for line in lines).strip("\n")


# Front matter setting -> (is the value right?, what to say when it is not: Vietnamese, English).
_SETTING_CHECKS: dict[str, tuple[Callable[[Any], bool], str, str]] = {
    "title": (lambda value: isinstance(value, str) and bool(clean(value)),
              "title phải là một dòng chữ, không để trống", "title must be non-empty text"),
    "pass_percent": (lambda value: _is_int(value) and 0 <= value <= 100,
                     "pass_percent phải là số nguyên từ 0 đến 100, không phải {value!r}",
                     "pass_percent must be a whole number from 0 to 100, not {value!r}"),
    "attempts": (lambda value: _is_int(value) and value >= 0,
                 "attempts phải là số nguyên, 0 là không giới hạn số lần làm bài, không phải {value!r}",
                 "attempts must be a whole number, 0 for unlimited, not {value!r}"),
    "time_limit": (lambda value: value is None or (_is_int(value) and value >= 1),
                   "time_limit phải là số phút nguyên, ít nhất là 1, không phải {value!r}",
                   "time_limit must be a whole number of minutes, at least 1, not {value!r}"),
    "draw": (lambda value: value is None or (_is_int(value) and value >= 1),
             "draw phải là số câu hỏi nguyên, ít nhất là 1, không phải {value!r}",
             "draw must be a whole number of questions, at least 1, not {value!r}"),
    "shuffle": (lambda value: isinstance(value, bool),
                "shuffle phải là true hoặc false, không phải {value!r}",
                "shuffle must be true or false, not {value!r}"),
    "partial_credit": (lambda value: isinstance(value, bool),
                       "partial_credit phải là true hoặc false, không phải {value!r}",
                       "partial_credit must be true or false, not {value!r}"),
    "review": (lambda value: value in REVIEW_MODES,
               f"review phải là một trong {', '.join(REVIEW_MODES)}, không phải {{value!r}}",
               f"review must be one of {', '.join(REVIEW_MODES)}, not {{value!r}}"),
}


def _check_setting(name: str, value: Any) -> str | None:
    """Why a front matter value is wrong, or None."""
    if name not in _SETTING_CHECKS:
        return None  # pragma: no cover - every name is in the table
    is_right, vi, en = _SETTING_CHECKS[name]
    return None if is_right(value) else bilingual(vi.format(value=value), en.format(value=value))


def parse_quiz(
    text: str, path: str = "<quiz>", line_offset: int = 0
) -> tuple[QuizSource | None, list[Problem]]:
    """Parse a quiz file. Returns (quiz, problems); quiz is None when any problem is an error.

    Line numbers are 1-based in the file; *line_offset* is added when *text* is a part
    of a larger file.
    """
    return _Parser(text, path, line_offset).run()


def parse_quiz_markdown(
    text: str, path: str = "<quiz>", line_offset: int = 0
) -> tuple[QuizSource | None, list[Problem], list[MarkdownPart]]:
    """``parse_quiz``, and the Markdown pieces of the file with their lines (for the courses
    check to read as it reads lessons), also when the file has errors."""
    parser = _Parser(text, path, line_offset)
    quiz, problems = parser.run()
    return quiz, problems, parser.markdown_parts()
