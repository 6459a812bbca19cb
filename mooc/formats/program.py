"""The programme format (``courses/_chuong-trinh/<id>.md``): a path of courses, as text in git.
Plain text in, plain data and ``path:line`` problems out (docs/authoring.md, "Programmes").

    ---
    title: "Bồi dưỡng nghiệp vụ thanh tra viên mới"
    code: "CT-TTV-MOI"
    summary: "..."
    ---
    Anything before the steps heading is the introduction: Markdown, shown on the path page
    rendered like a lesson (links to a course.md lead to the course).

    ## Các bước

    1. nghiep-vu-thanh-tra
    2. [Tiếp công dân và xử lý đơn](../tiep-cong-dan/course.md) (sau bước trước)
    3. 1 trong: van-ban-thanh-tra, giam-sat-so (sau bước trước)
    4. giam-sat-so (tự chọn)
    5. chương trình: another-programme

A step is one course, or "N of these courses" (``N trong:`` / ``N of:``); a course is named by
its id (its folder's name unless course.md sets ``id:``) or by a Markdown link to its
``course.md``. ``(sau bước trước)`` / ``(after previous)``: the step opens only when the step
before it is done (a prerequisite). ``(tự chọn)`` / ``(optional)``: the step is offered but the
programme's certificate does not wait for it. ``chương trình: <id>`` / ``program: <id>`` puts
another programme's steps here (a path that extends another); a cycle of these is an error.

The programme's identity is ``id:`` (default: the file's name without ``.md``);
``previously: [old-id]`` keeps enrolments and certificates when a programme is renamed.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mooc.formats.problem import ERROR, WARNING, Problem, bilingual
from mooc.formats.source import (
    FRONT_MATTER_MISSING,
    FRONT_MATTER_UNCLOSED,
    NOT_KEY_VALUE,
    YAMLError,
    decode,
    explain_yaml_error,
    load_yaml,
    too_large,
)
from mooc.text import fold

PROGRAMS_DIR = "_chuong-trinh"
SLUG = r"[a-z0-9]+(?:-[a-z0-9]+)*"
ID_RE = re.compile(rf"^{SLUG}$")
KEYS = {"title": str, "code": str, "summary": str, "id": str, "previously": list}
REQUIRED = ("title", "code", "summary")
STEPS_HEADINGS = {"cac buoc", "steps", "lo trinh"}  # folded: "Các bước", "Lộ trình"
MAX_BYTES = 256 * 1024

ITEM_RE = re.compile(r"^(\d{1,3})[.)]\s+(.*)$")
HEADING_RE = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")
LINK_RE = re.compile(r"\[[^\]]*\]\(\s*([^)\s]+)\s*\)")
LINK_TARGET_RE = re.compile(rf"^(?:\.\./)+({SLUG})/?(?:course\.md)?$")
MARKER_RE = re.compile(r"\(([^()]*)\)\s*$")
CHOICE_RE = re.compile(r"^(\d+)\s+(?:trong|of)\s*:\s*(.*)$", re.IGNORECASE)
INCLUDE_RE = re.compile(r"^(?:chương trình|program|programme)\s*:\s*(.*)$", re.IGNORECASE)
AFTER_MARKERS = {"sau buoc truoc", "after previous", "after the previous step"}
OPTIONAL_MARKERS = {"tu chon", "optional"}


@dataclass(frozen=True)
class StepSource:
    """One step as written: ``courses`` (ids), how many of them count (``pick``; a one-course
    step has pick 1), whether it waits for the step before it, whether it is optional; or an
    ``include`` of another programme (then ``courses`` is empty)."""

    line: int
    courses: tuple[str, ...] = ()
    pick: int = 1
    after_previous: bool = False
    optional: bool = False
    include: str | None = None
    path: str = ""  # the file the step was written in (an included programme's)

    @property
    def is_choice(self) -> bool:
        return len(self.courses) > 1


@dataclass
class ProgramSource:
    key: str
    path: str  # as shown to authors
    title: str
    code: str
    summary: str
    intro: str  # Markdown before the steps heading (rendered at sync, like a lesson)
    digest: str  # sha256 of the text as read (NFC, LF, no BOM): a re-save in another editor is the same
    previous: list[str] = field(default_factory=list)
    steps: list[StepSource] = field(default_factory=list)  # as written (includes not expanded)
    lines: dict[str, int] = field(default_factory=dict)  # front matter key -> line
    intro_line: int = 0  # the file's line of the introduction's first line
    file: Path | None = None  # the file read (set by the courses check): the intro's links start there

    def content_hash(self, steps: list[StepSource]) -> str:
        """What the stored programme depends on: its words and its (expanded) steps, never
        the line numbers."""
        digest = hashlib.sha256()
        for part in (self.title, self.code, self.summary, self.intro):
            digest.update(part.encode() + b"\0")
        for step in steps:
            digest.update(f"{','.join(step.courses)}|{step.pick}|{step.after_previous}|{step.optional}\0".encode())
        return digest.hexdigest()


class _Problems:
    def __init__(self, path: str) -> None:
        self.path = path
        self.items: list[Problem] = []

    def error(self, line: int, code: str, message: str) -> None:
        self.items.append(Problem(self.path, line, ERROR, code, message))

    def warning(self, line: int, code: str, message: str) -> None:
        self.items.append(Problem(self.path, line, WARNING, code, message))


def parse_program(raw: bytes, path: str, default_key: str) -> tuple[ProgramSource | None, list[Problem]]:
    """One programme file. Every problem is reported (the parse goes on past the first)."""
    problems = _Problems(path)
    if len(raw) > MAX_BYTES:
        problems.error(1, "too-large", too_large(len(raw), MAX_BYTES))
        return None, problems.items
    decoded = decode(raw)
    if decoded.text is None:
        problems.error(decoded.line, "encoding", decoded.message)
        return None, problems.items
    lines = decoded.text.split("\n")
    meta, meta_lines, body_start = _front_matter(lines, problems)
    if meta is None:
        return None, problems.items
    ok = _check_meta(meta, meta_lines, problems)
    key: str = meta["id"] if isinstance(meta.get("id"), str) else default_key
    if not ID_RE.match(key):
        vi, en = ("", "") if "id" in meta else (" (đổi tên tệp, hoặc đặt 'id:')",
                                                " (rename the file, or set 'id:')")
        problems.error(meta_lines.get("id", 1), "bad-id", bilingual(
            f"id chương trình '{key}' chỉ được dùng chữ thường a-z, chữ số và dấu gạch nối{vi}",
            f"programme id '{key}' must use lowercase letters a-z, digits and hyphens{en}"))
        ok = False
    previous = meta.get("previously") or []
    previous = [previous] if isinstance(previous, str) else previous
    for old in previous:
        if not isinstance(old, str) or not ID_RE.match(old):
            problems.error(meta_lines.get("previously", 1), "bad-id", bilingual(
                f"previously: '{old}' không phải id chương trình (chữ thường a-z, chữ số và dấu gạch nối)",
                f"previously: '{old}' is not a programme id"))
            ok = False
    intro, intro_line, steps = _steps(lines, body_start, problems)
    if not ok:
        return None, problems.items
    program = ProgramSource(
        key=key, path=path, title=meta["title"].strip(), code=meta["code"].strip(),
        summary=meta["summary"].strip(), intro=intro,
        digest=hashlib.sha256(decoded.text.encode()).hexdigest(),
        previous=[str(p) for p in previous], steps=steps, lines=meta_lines, intro_line=intro_line)
    return program, problems.items


def _front_matter(lines: list[str], problems: _Problems) -> tuple[dict[str, Any] | None, dict[str, int], int]:
    if not lines or lines[0].strip() != "---":
        problems.error(1, "front-matter-missing", FRONT_MATTER_MISSING)
        return None, {}, 0
    end = next((i for i in range(1, len(lines)) if lines[i].strip() in ("---", "...")), None)
    if end is None:
        problems.error(1, "front-matter-unclosed", FRONT_MATTER_UNCLOSED)
        return None, {}, 0
    try:
        meta = load_yaml("\n".join(lines[1:end]))
    except YAMLError as error:
        at, message = explain_yaml_error(error, lines[1:end], 2)
        problems.error(at, "front-matter-yaml", message)
        return None, {}, 0
    if not isinstance(meta, dict):
        problems.error(2, "front-matter-yaml", NOT_KEY_VALUE)
        return None, {}, 0
    meta_lines: dict[str, int] = {}
    for number, line in enumerate(lines[1:end], start=2):
        if match := re.match(r"""^["']?([A-Za-z_][\w-]*)["']?\s*:""", line):
            meta_lines.setdefault(match.group(1), number)
    return {str(k): v for k, v in meta.items()}, meta_lines, end + 1


def _check_meta(meta: dict[str, Any], meta_lines: dict[str, int], problems: _Problems) -> bool:
    ok = True
    for key in REQUIRED:
        if not isinstance(meta.get(key), str) or not meta[key].strip():
            problems.error(meta_lines.get(key, 1), "missing-key" if key not in meta else "bad-value",
                           bilingual(f"phần đầu tệp cần có '{key}:' (một dòng chữ, không để trống)",
                                     f"'{key}:' is required (text)"))
            ok = False
    for key, value in meta.items():
        expected = KEYS.get(key)
        if expected is None:
            known = ", ".join(sorted(KEYS))
            problems.warning(meta_lines.get(key, 1), "unknown-key", bilingual(
                f"phần đầu tệp không nhận khóa '{key}' (các khóa dùng được: {known}): kiểm tra lỗi gõ",
                f"unknown key '{key}' (known: {known})"))
        elif key not in REQUIRED and value is not None and not isinstance(value, expected) \
                and not (key == "previously" and isinstance(value, str)):
            vi, en = ("một danh sách", "a list") if expected is list else ("một dòng chữ", "text")
            problems.error(meta_lines.get(key, 1), "bad-value",
                           bilingual(f"'{key}:' phải là {vi}", f"'{key}:' must be {en}"))
            ok = False
    return ok


def _steps(lines: list[str], start: int, problems: _Problems) -> tuple[str, int, list[StepSource]]:
    """The introduction (before the steps heading), the file's line of its first line, and the
    steps (numbered items after it)."""
    heading = None
    for index in range(start, len(lines)):
        match = HEADING_RE.match(lines[index].strip())
        if match and fold(match.group(1)).strip(" :") in STEPS_HEADINGS:
            heading = index
            break
    if heading is None:
        problems.error(start + 1 if start < len(lines) else 1, "no-steps", bilingual(
            "chương trình chưa có các bước: thêm tiêu đề '## "
            "Các bước', bên dưới là danh sách khóa học đánh số",
            "no steps: add a heading '## Các bước' followed by a numbered list of courses"))
        return "\n".join(lines[start:]).strip(), _first_written(lines, start, len(lines)), []
    intro = "\n".join(lines[start:heading]).strip()
    steps: list[StepSource] = []
    items = 0
    for index in range(heading + 1, len(lines)):
        number = index + 1
        text = lines[index].strip()
        if not text or text.startswith("<!--"):
            continue
        if HEADING_RE.match(text):
            _after_steps(number, problems)  # the steps end at the next heading
            break
        match = ITEM_RE.match(text)
        if match is None:
            problems.error(number, "step-syntax", bilingual(
                "mỗi bước là một dòng đánh số: '1. id-khoa-hoc', '2. 1 trong: "
                "khoa-a, khoa-b' hoặc '3. chương trình: id-chuong-trinh'",
                "a step is a numbered line: '1. course-id', '2. 1 trong: "
                "course-a, course-b' or '3. chương trình: programme-id'"))
            continue
        items += 1
        if int(match.group(1)) != items:
            problems.warning(number, "step-number", bilingual(
                f"bước này đánh số {match.group(1)} nhưng là bước thứ {items}: đánh số lại",
                f"step numbered {match.group(1)}: it is step {items}"))
        step = _step(match.group(2), number, problems)
        if step is not None:
            steps.append(step)
    if not steps:
        problems.error(heading + 1, "no-steps", bilingual(
            "chương trình chưa có bước nào: liệt kê các khóa học dưới tiêu đề này",
            "the programme has no steps: list its courses under this heading"))
    elif steps[0].after_previous:
        problems.error(steps[0].line, "first-step-prerequisite", bilingual(
            "bước đầu tiên không thể chờ một bước trước nó: xóa '(sau bước trước)'",
            "the first step cannot wait for a step before it: remove '(sau bước trước)'"))
    return intro, _first_written(lines, start, heading), steps


def _after_steps(line: int, problems: _Problems) -> None:
    """What follows the steps (from the next heading on) is shown nowhere: told, not dropped."""
    problems.warning(line, "after-steps", bilingual(
        "phần từ tiêu đề này trở đi nằm sau các bước nên không hiện ở đâu cả: chuyển lên phần giới "
        "thiệu, trước tiêu đề '## Các bước', hoặc xóa đi",
        "what follows the steps, from this heading on, is shown nowhere: move it into the "
        "introduction, before the '## Các bước' heading, or delete it"))


def _first_written(lines: list[str], start: int, end: int) -> int:
    """The file's line (1-based) of the first line that is not blank in lines[start:end]."""
    return next((index + 1 for index in range(start, end) if lines[index].strip()), start + 1)


def _step(text: str, line: int, problems: _Problems) -> StepSource | None:
    after = optional = False
    while (marker := MARKER_RE.search(text)) and not text[: marker.start()].endswith("]"):  # not a link
        word = fold(marker.group(1)).strip()
        if word in AFTER_MARKERS:
            after = True
        elif word in OPTIONAL_MARKERS:
            optional = True
        else:
            problems.error(line, "step-marker", bilingual(
                f"không hiểu dấu '({marker.group(1)})': viết '(sau bước trước)' cho "
                "bước phải chờ bước trước xong, hoặc '(tự chọn)' cho bước không bắt buộc",
                f"unknown mark '({marker.group(1)})': write '(sau bước trước)' "
                "for a prerequisite or '(tự chọn)' for an optional step"))
        text = text[: marker.start()].rstrip()
    if include := INCLUDE_RE.match(text):
        key = include.group(1).strip()
        if not ID_RE.match(key):
            problems.error(line, "bad-id", bilingual(
                f"'{key}' không phải id chương trình (tên tệp trong {PROGRAMS_DIR}, không có '.md')",
                f"'{key}' is not a programme id"))
            return None
        return StepSource(line, include=key, after_previous=after, optional=optional, path=problems.path)
    pick = 1
    if choice := CHOICE_RE.match(text):
        pick, text = int(choice.group(1)), choice.group(2)
        courses = _course_ids(text, line, problems)
        if not courses:
            problems.error(line, "empty-choice", bilingual(
                "bước lựa chọn chưa có khóa học nào: viết 'N trong: khoa-a, khoa-b'",
                "a choice names no course: 'N trong: course-a, course-b'"))
            return None
        if pick < 1:
            problems.error(line, "empty-choice", bilingual("lựa chọn phải yêu cầu ít nhất 1 khóa học",
                                                           "a choice asks for at least 1 course"))
            return None
        if pick > len(courses):
            problems.error(line, "choice-too-many", bilingual(
                f"bước này yêu cầu {pick} trong {len(courses)} khóa học: thêm khóa học hoặc giảm số yêu cầu",
                f"the step asks for {pick} of {len(courses)} course(s): name more courses or ask fewer"))
            return None
        if len(set(courses)) != len(courses):
            problems.error(line, "duplicate-course", bilingual(
                "lựa chọn ghi một khóa học hai lần: xóa một lần", "a choice names the same course twice"))
            return None
    else:
        courses = _course_ids(text, line, problems)
        if len(courses) != 1:
            problems.error(line, "step-syntax", bilingual(
                "mỗi bước chỉ gồm một khóa học; nếu là lựa chọn, viết 'N trong: khoa-a, khoa-b'",
                "a step names one course; for a choice write 'N trong: course-a, course-b'") if courses else
                bilingual("bước này chưa có khóa học nào", "the step names no course"))
            return None
    return StepSource(line, tuple(courses), pick, after, optional, path=problems.path)


def _course_ids(text: str, line: int, problems: _Problems) -> list[str]:
    ids: list[str] = []
    links = [match.group(0) for match in LINK_RE.finditer(text)]
    text = LINK_RE.sub(lambda match: f"\0{links.index(match.group(0))}\0", text)  # commas in link text
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if part.startswith("\0") and part.endswith("\0"):
            part = links[int(part.strip("\0"))]
        link = LINK_RE.fullmatch(part)
        if link:
            target = LINK_TARGET_RE.match(link.group(1))
            if target is None:
                problems.error(line, "bad-link", bilingual(
                    f"'{link.group(1)}' không phải liên kết đến "
                    "một khóa học (viết '../id-khoa-hoc/course.md')",
                    f"'{link.group(1)}' is not a link to a course (write '../course-id/course.md')"))
                continue
            ids.append(target.group(1))
        elif ID_RE.match(part):
            ids.append(part)
        else:
            problems.error(line, "bad-id", bilingual(
                f"'{part}' không phải id khóa học (chữ thường a-z, "
                "chữ số và dấu gạch nối: tên thư mục của khóa học)",
                f"'{part}' is not a course id (lowercase letters "
                "a-z, digits and hyphens: the course's folder name)"))
    return ids


def expand(programs: list[ProgramSource], course_ids: set[str]) -> tuple[dict[str, list[StepSource]],
                                                                          list[Problem]]:
    """Every programme's steps with the programmes it includes put in place, and what is wrong
    across files: an unknown course or programme, a cycle of inclusions, a course in two steps,
    two programmes with one id or code."""
    problems: list[Problem] = []
    by_key: dict[str, ProgramSource] = {}
    for attribute, code, vi in (("key", "duplicate-id", "id"), ("code", "duplicate-code", "mã")):
        seen: dict[str, ProgramSource] = {}
        for program in programs:
            value = getattr(program, attribute)
            if value in seen:
                line = program.lines.get("id" if code == "duplicate-id" else "code", 1)
                problems.append(Problem(program.path, line, ERROR, code, bilingual(
                    f"{vi} chương trình '{value}' đã có ở "
                    f"{seen[value].path}: mỗi chương trình cần {vi} riêng",
                    f"programme {attribute} '{value}' is also in {seen[value].path}")))
            else:
                seen[value] = program
    for program in programs:
        by_key.setdefault(program.key, program)
    for program in programs:
        for step in program.steps:
            for course in step.courses:
                if course not in course_ids:
                    near = _nearest(course, course_ids)
                    vi, en = (f": có phải là '{near}'?", f": did you mean '{near}'?") if near else ("", "")
                    problems.append(Problem(program.path, step.line, ERROR, "unknown-course", bilingual(
                        f"thư mục khóa học không có khóa học '{course}'{vi}",
                        f"no course '{course}' in the courses folder{en}")))
            if step.include is not None and step.include not in by_key:
                problems.append(Problem(program.path, step.line, ERROR, "unknown-program", bilingual(
                    f"không có chương trình '{step.include}' trong thư mục {PROGRAMS_DIR}",
                    f"no programme '{step.include}' in {PROGRAMS_DIR}/")))
    expanded: dict[str, list[StepSource]] = {}
    for program in by_key.values():
        steps, cycle = _expand(program, by_key, ())
        if cycle is not None:
            through = " -> ".join(_cycle_path(program, by_key))
            problems.append(Problem(program.path, cycle, ERROR, "program-cycle", bilingual(
                f"chương trình '{program.key}' tự bao gồm chính "
                f"nó (qua {through}): bỏ một dòng 'chương trình:'",
                f"programme '{program.key}' includes itself (through {through})")))
            continue
        expanded[program.key] = steps
        _check_repeats(program, steps, problems)
        _check_something_required(program, steps, problems)
    return expanded, problems


def _expand(program: ProgramSource, by_key: dict[str, ProgramSource],
            seen: tuple[str, ...]) -> tuple[list[StepSource], int | None]:
    """(steps, None), or ([], line of the include that closes a cycle)."""
    out: list[StepSource] = []
    for step in program.steps:
        if step.include is None:
            out.append(step)
            continue
        inner = by_key.get(step.include)
        if inner is None:
            continue
        if inner.key in seen or inner.key == program.key:
            return [], step.line
        steps, cycle = _expand(inner, by_key, (*seen, program.key))
        if cycle is not None:
            return [], step.line
        if steps and (step.after_previous or step.optional):  # the marks apply to the first / every step
            steps = [StepSource(s.line, s.courses, s.pick,
                                s.after_previous or (i == 0 and step.after_previous),
                                s.optional or step.optional, None, s.path) for i, s in enumerate(steps)]
        out.extend(steps)
    return out, None


def _cycle_path(program: ProgramSource, by_key: dict[str, ProgramSource]) -> list[str]:
    path = [program.key]
    current = program
    while True:
        nxt = next((by_key[s.include] for s in current.steps if s.include in by_key), None)
        if nxt is None:
            return path
        path.append(nxt.key)
        if nxt.key in path[:-1]:
            return path
        current = nxt


def _check_something_required(program: ProgramSource, steps: list[StepSource],
                              problems: list[Problem]) -> None:
    """A programme whose every step is optional could never be completed."""
    if steps and all(step.optional for step in steps):
        problems.append(Problem(program.path, program.steps[0].line, ERROR, "only-optional-steps", bilingual(
            "mọi bước đều là '(tự chọn)': không ai có thể hoàn "
            "thành chương trình; để ít nhất một bước bắt buộc",
            "every step is optional '(tự chọn)': the programme could "
            "never be completed; make at least one step required")))


def _check_repeats(program: ProgramSource, steps: list[StepSource], problems: list[Problem]) -> None:
    first: dict[str, StepSource] = {}
    for step in steps:
        for course in step.courses:
            if course in first:
                where = step if step.path == program.path else next(
                    (s for s in program.steps if s.include is not None), step)
                at = f"{first[course].path}:{first[course].line}"
                problems.append(Problem(program.path, where.line, ERROR, "duplicate-course", bilingual(
                    f"khóa học '{course}' đã là một bước của chương "
                    f"trình này ({at}): mỗi khóa học chỉ là một bước",
                    f"course '{course}' is already a step of this programme ({at}): a course is one step")))
            else:
                first[course] = step


def _nearest(name: str, known: set[str]) -> str | None:
    best = min(known, key=lambda k: _distance(name, k), default=None)
    return best if best is not None and _distance(name, best) <= max(2, len(name) // 4) else None


def _distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]
