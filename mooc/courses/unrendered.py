"""What a lesson's page (or a programme's, its introduction) would show other than the author
meant: Markdown that falls through as literal text, and HTML the sanitiser strips. Each found at
its line, with how to fix it.

Python-Markdown says nothing when it does not understand: a footnote reference with no note,
a reference link with no definition, ``**`` never closed, a list run into the paragraph above
it, a table without its separator line all reach the trainee as the characters written. The
tables extension drops the cells of a row beyond the header's; nh3 drops every tag and
attribute outside its allow-list (render.ALLOWED_TAGS, ALLOWED_ATTRIBUTES, EXTENSION_CLASSES).

A quiz file's Markdown is rendered piece by piece (mooc/formats/quiz_content.py: the
introduction, each question's title, text, choices and explanation): each piece is read here on
its own (``check_quiz_parts``), at the quiz file's lines, for the same; a title or a choice is
shown as one line, so one that Markdown reads as a block is told too (``not-inline``).

Severity (docs/authoring.md, "What the checks report"): an **error** when something written does
not reach the trainee at all (a footnote's note, a link's or picture's target, a table's
cells, an embedded frame or drawing); a **warning** when every word is there but mangled (stray
``**`` or backticks, a list or table shown as a paragraph, a tag or attribute stripped while
its text stays).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator, Sequence
from html.parser import HTMLParser
from pathlib import Path
from typing import NamedTuple

from mooc.courses.format import Document, Reporter
from mooc.courses.render import (
    ALLOWED_ATTRIBUTES,
    ALLOWED_TAGS,
    EXTENSION_CLASSES,
    FENCE_RE,
    ID_ATTRIBUTE_RE,
    REFERENCE_DEF_RE,
    raw_markdown,
)
from mooc.formats.problem import bilingual
from mooc.formats.quiz import BLOCK_START_RE, INLINE_KINDS, MarkdownPart

CODE_SPAN_RE = re.compile(r"(`+)(?:(?!\1).)+?\1")  # `x`, ``a ` b``
FOOTNOTE_DEF_RE = re.compile(r"^\s*\[\^([^\]]+)\]:")
# [^1] in the text, 'Luật[^1]:' too; a line that starts '[^1]:' is the note (FOOTNOTE_DEF_RE)
FOOTNOTE_REF_RE = re.compile(r"(?<!\\)\[\^([^\]]+)\]")
# [text][ref] and [text][] (ref: the text), also with one space, tab or line end between the
# brackets (Python-Markdown reads '[text] [ref]', and '[text]' ending a line with '[ref]' starting
# the next, as '[text][ref]'), a colon after it too ('Theo [a][b]:' is no definition); not
# [text][ref](url), not a footnote. Read over a paragraph's lines joined (_paragraph_text).
REFERENCE_RE = re.compile(
    r"(?<![\\\]])(!?)\[(?!\^|\s*\])((?:[^\[\]]|\[[^\]]*\])+)\]([ \t\n]?)\[([^\[\]^][^\[\]]*|)\](?!\()")
LINE_END_REFERENCE_RE = re.compile(r"\]\n[ \t>]*\[")  # '[text]' ending a line, '[ref]' the next
TABLE_ROW_RE = re.compile(r"^ {0,3}\|")
SEPARATOR_RE = re.compile(r"^\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?\s*$")
LIST_ITEM_RE = re.compile(r"^(\s*)(?:[-*+]|\d+\.)\s+\S")
CALLOUT_RE = re.compile(r"^\s*(?:!!!|\?\?\?)")
TASK_ITEM_RE = re.compile(r"^\s*(?:[-*+]|\d+\.)\s+\[[ xX]\]\s")
# a line that is not the start of a paragraph: a heading, table, quote, HTML, definition,
# callout, footnote or link definition, abbreviation, rule
NOT_PARAGRAPH_RE = re.compile(r"^\s*(?:#|\||>|<|:\s|!!!|\?\?\?|\[[^\]]*\]:|\*\[|[-*_](?:\s*[-*_]){2,}\s*$)")
TAG_RE = re.compile(r"<([A-Za-z][A-Za-z0-9:-]*)((?:\s+[^<>]*?)?)\s*/?>")
ATTRIBUTE_RE = re.compile(r"""([^\s"'=<>/`]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s"'=<>`]+))?""")
HEADING_RE = re.compile(r"^\s{0,3}(#{2,6})\s")
HEADING_ANY_RE = re.compile(r"^\s{0,3}#{1,6}(?:\s|$)")
ATTR_LIST_RE = re.compile(r"\{:?\s*([^{}]*)\}\s*$")
# Elements the sanitiser removes that show something besides text: what they show is lost.
EMBEDDED = {"iframe", "object", "embed", "svg", "math", "canvas", "frame", "frameset", "applet",
            "input", "select", "textarea", "button", "img"}
# Removed with what they hold, which is not text for the reader: a script runs nothing, a
# style styles nothing, on a lesson page.
CODE_ELEMENTS = {"script", "style", "template", "noscript"}
MEDIA_WRITTEN_AS_HTML = {"video", "audio", "source", "track"}  # told by check's raw-html warning


# a page's own text: a course's, module's or lesson's, a programme's introduction (not a quiz's pieces)
PAGE_KINDS = ("lesson", "program")


class Piece(NamedTuple):
    """Markdown the sync renders on its own: a lesson's (or course's, module's) body, or a piece
    of a quiz file (its introduction, a question's title, text, choice or explanation)."""

    path: Path
    body: str
    numbers: Sequence[int]  # the file's line of each line of body
    kind: str = "lesson"  # "program" (a programme's introduction), or a quiz piece's (MarkdownPart.kind)

    @property
    def inline(self) -> bool:
        return self.kind in INLINE_KINDS


class Line(NamedTuple):
    number: int  # in the file
    text: str  # inline code taken out
    raw: str


def code_free_lines(doc: Piece) -> Iterator[Line]:
    """The body's lines outside fenced code, each with its inline code spans taken out."""
    in_fence = False
    for index, line in enumerate(doc.body.split("\n")):
        if FENCE_RE.match(line):
            in_fence = not in_fence
            continue
        if not in_fence:
            yield Line(doc.numbers[index], CODE_SPAN_RE.sub("", line) if "`" in line else line, line)


def check_unrendered(doc: Document, report: Reporter) -> None:
    """A lesson's, module's or course's page."""
    lines = doc.body.count("\n") + 1
    check_text(Piece(doc.path, doc.body, range(doc.body_line, doc.body_line + lines)), report)


def check_quiz_parts(path: Path, parts: list[MarkdownPart], report: Reporter) -> None:
    """A quiz file's pieces (mooc.formats.quiz.parse_quiz_markdown), each at its line."""
    for part in parts:
        check_text(Piece(path, part.text, part.lines, part.kind), report)
    if any("#" in part.text for part in parts):
        _quiz_anchors(path, parts, report)


OWN_ANCHOR_LINK_RE = re.compile(r"""\shref=["']#([^"']+)["']""")
PIECE_NAMES = {"intro": ("lời dẫn", "introduction"), "title": ("tiêu đề câu hỏi", "question's title"),
               "body": ("nội dung câu hỏi", "question's text"), "choice": ("phương án", "choice"),
               "explanation": ("lời giải thích", "explanation")}


def _quiz_anchors(path: Path, parts: list[MarkdownPart], report: Reporter) -> None:
    """A link to an anchor (``#bang``) leads only within its own piece: each piece is rendered
    apart and its ids made its own on the page (render.scope_ids), so a link from an explanation
    to a table's heading in the question's text would jump nowhere."""
    html = [raw_markdown(part.text) if "#" in part.text else "" for part in parts]
    ids = [set(ID_ATTRIBUTE_RE.findall(h)) for h in html]
    for part, rendered, own in zip(parts, html, ids, strict=True):
        for target in dict.fromkeys(OWN_ANCHOR_LINK_RE.findall(rendered)):
            if target in own:
                continue
            at = next((n for n, text in zip(part.lines, part.text.splitlines(), strict=False)
                       if f"#{target}" in text), part.lines[0])
            where = next((p for p, i in zip(parts, ids, strict=True) if target in i), None)
            name_vi, name_en = PIECE_NAMES.get(where.kind, (where.kind, where.kind)) if where else ("", "")
            vi, en = (f"neo '#{target}' nằm ở {name_vi}, dòng {where.lines[0]}",
                      f"'#{target}' is in the {name_en} at line {where.lines[0]}") if where else (
                "bài kiểm tra không có neo nào như thế", "the quiz has no such anchor")
            report.warning(path, at, "broken-anchor", bilingual(
                f"liên kết '#{target}' không dẫn đến đâu: mỗi phần của câu hỏi (tiêu đề, nội dung, từng "
                f"phương án, lời giải thích) hiển thị riêng, nên chỉ liên kết được đến neo trong chính "
                f"phần đó ({vi})",
                f"link '#{target}' leads nowhere: each piece of a question (title, text, each choice, "
                f"explanation) is shown apart, so it can only link to an anchor in the same piece ({en})"))


def check_text(doc: Piece, report: Reporter) -> None:
    """Each check runs only when the body holds the characters it looks for: a check of
    1,500 lessons reads them all."""
    lines = list(code_free_lines(doc))
    blocks = list(_blocks(lines))
    body = doc.body
    if "[^" in body:
        _footnotes(doc, lines, report)
    if "][" in body or "] [" in body or "]\t[" in body or LINE_END_REFERENCE_RE.search(body):
        _references(doc, lines, blocks, report)
    for block in blocks:
        _table(doc, block, report)
        _list_after_paragraph(doc, block, report)
    for line in lines:
        if "<" in line.text:
            _html(doc, line, report)
        if "{" in line.text:
            _attribute_list(doc, line, report)
    if doc.inline and BLOCK_START_RE.match(body):
        _not_inline(doc, report)
    if any(_suspect(block) for block in blocks):
        _left_as_written(doc, lines, report)


def _blocks(lines: list[Line]) -> Iterator[list[Line]]:
    """Runs of consecutive non-blank lines (a fence ends a run)."""
    block: list[Line] = []
    for line in lines:
        if block and (not line.raw.strip() or line.number != block[-1].number + 1):
            yield block
            block = []
        if line.raw.strip():
            block.append(line)
    if block:
        yield block


# --- footnotes and reference links ------------------------------------------------------------


# Where a note or a link's definition goes, for each kind of text: (Vietnamese, English, what
# starts its line). A quiz's pieces are rendered one by one (quiz_content): a definition in one
# piece does not serve another.
PLACES = {
    "lesson": ("ở cuối bài", "at the end of the lesson", ""),
    "program": ("ở cuối phần giới thiệu của chương trình, trước tiêu đề '## Các bước'",
                "at the end of the programme's introduction, before the '## Các bước' heading", ""),
    "intro": ("ở cuối lời dẫn của bài kiểm tra, trước câu hỏi đầu tiên",
              "at the end of the quiz's introduction, before the first question", ""),
    "body": ("ở cuối nội dung câu hỏi, trước các phương án (mỗi phần của câu hỏi hiện riêng)",
             "at the end of the question's text, before its choices (each part of a question "
             "is shown on its own)", ""),
    "explanation": ("ở cuối lời giải thích (mỗi phần của câu hỏi hiện riêng)",
                    "at the end of the explanation (each part of a question is shown on its own)", "> "),
}
INLINE_VI = {"title": "tiêu đề câu hỏi", "choice": "phương án"}
INLINE_EN = {"title": "a question's title", "choice": "a choice"}


def _footnotes(doc: Piece, lines: list[Line], report: Reporter) -> None:
    lines = [line for line in lines if "[^" in line.text]
    defined = {m.group(1).strip() for line in lines if (m := FOOTNOTE_DEF_RE.match(line.text))}
    told: set[str] = set()
    for line in lines:
        if FOOTNOTE_DEF_RE.match(line.text):
            continue
        for match in FOOTNOTE_REF_RE.finditer(line.text):
            name = match.group(1).strip()
            if name in defined or name in told:
                continue
            told.add(name)
            others = ", ".join(f"[^{d}]" for d in sorted(defined))
            vi, en = (f" (các chú thích đã viết: {others})",
                      f" (the notes written: {others})") if others else ("", "")
            fix_vi, fix_en = _add_note(doc, name)
            report.error(doc.path, line.number, "footnote-undefined", bilingual(
                f"chú thích [^{name}] không có nội dung nên trang hiện nguyên '[^{name}]': {fix_vi}{vi}",
                f"footnote [^{name}] has no note, so the page shows '[^{name}]' as written: {fix_en}{en}"))


def _add_note(doc: Piece, name: str) -> tuple[str, str]:
    if doc.inline:
        where_vi, where_en = INLINE_VI[doc.kind], INLINE_EN[doc.kind]
        return (f"{where_vi} chỉ là một dòng, không chứa được chú thích; đưa chú thích vào nội dung "
                "câu hỏi hoặc lời giải thích",
                f"{where_en} is one line and cannot hold a note; put the note in the question's "
                "text or explanation")
    vi, en, prefix = PLACES[doc.kind]
    return (f"thêm một dòng '{prefix}[^{name}]: nội dung chú thích' {vi}",
            f"add a line '{prefix}[^{name}]: the note' {en}")


def _reference_key(name: str) -> str:
    return " ".join(name.lower().split())


def _paragraph_text(block: list[Line]) -> Iterator[tuple[str, list[int], list[Line]]]:
    """The text Markdown reads a reference in, over line ends: each run of a block's lines
    (a heading is a run of its own) joined with their quote marks and indentation taken out,
    as (text, where each line starts in it, the lines). A line indented unlike the line above
    keeps a space before it: Python-Markdown keeps a lazy line's indentation ('[a]' then
    '  [b]' is no reference), and takes a container's off every line alike (a callout's,
    a list item's paragraph)."""
    run: list[Line] = []
    for line in block:
        if run and any(HEADING_ANY_RE.match(_unquoted(one.text)) for one in (line, run[-1])):
            yield _joined(run)
            run = []
        run.append(line)
    if run:
        yield _joined(run)


def _joined(run: list[Line]) -> tuple[str, list[int], list[Line]]:
    text, indent = "", None
    starts: list[int] = []
    for line in run:
        unquoted = _unquoted(line.text)
        stripped = unquoted.lstrip()
        here = len(unquoted) - len(stripped)
        if starts:
            text += "\n" if here == indent else "\n "
        starts.append(len(text))
        text += stripped
        indent = here
    return text, starts, run


def _references(doc: Piece, lines: list[Line], blocks: list[list[Line]], report: Reporter) -> None:
    defined = {_reference_key(m.group(1)) for line in lines if (m := REFERENCE_DEF_RE.match(line.text))}
    for block in blocks:
        for text, starts, run in _paragraph_text(block):
            for match in REFERENCE_RE.finditer(text):
                if _reference_key(match.group(4) or match.group(2)) not in defined:
                    line = run[bisect.bisect_right(starts, match.start()) - 1]
                    _reference_undefined(doc, line.number, match, report)


def _reference_undefined(doc: Piece, number: int, match: re.Match[str], report: Reporter) -> None:
    image, space, ref = match.group(1), match.group(3), match.group(4)
    text = " ".join(match.group(2).split("\n"))
    name = ref or text
    written = match.group(0).replace("\n", " ")
    kind_vi, kind_en = ("hình", "picture") if image else ("liên kết", "link")
    bang = "!" if image else ""
    if doc.inline:
        add_vi, add_en = "viết thẳng", "write"
    else:
        vi, en, prefix = PLACES[doc.kind]
        add_vi = f"thêm một dòng '{prefix}[{name}]: địa chỉ hoặc tệp' {vi}, hoặc viết thẳng"
        add_en = f"add a line '{prefix}[{name}]: address or file' {en}, or write"
    spaced_vi, spaced_en = "", ""
    if space == "\n":
        spaced_vi, spaced_en = (
            f"; Markdown đọc '[{text}]' ở cuối dòng này và '[{ref}]' ở đầu dòng sau như "
            f"'[{text}][{ref}]': nếu muốn hiện các dấu ngoặc, viết '\\[{ref}\\]'",
            f"; Markdown reads '[{text}]' ending this line and '[{ref}]' starting the next as "
            f"'[{text}][{ref}]': to show the brackets, write '\\[{ref}\\]'")
    elif space:
        spaced_vi, spaced_en = (
            f"; Markdown đọc '[{text}]{space}[{ref}]' như '[{text}][{ref}]': nếu muốn hiện các dấu "
            f"ngoặc, viết '\\[{text}\\] \\[{ref}\\]'",
            f"; Markdown reads '[{text}]{space}[{ref}]' as '[{text}][{ref}]': to show the brackets, "
            f"write '\\[{text}\\] \\[{ref}\\]'")
    report.error(doc.path, number, "reference-undefined", bilingual(
        f"{kind_vi} '{written}' gọi đến '[{name}]' nhưng không có dòng định nghĩa nó, nên "
        f"trang hiện nguyên các dấu ngoặc: {add_vi} {bang}[{text}](địa chỉ){spaced_vi}",
        f"the {kind_en} '{written}' refers to '[{name}]', which nothing defines, so the page "
        f"shows the brackets as written: {add_en} {bang}[{text}](address){spaced_en}"))


# --- tables and lists ----------------------------------------------------------------------------


def _cells(row: str) -> int:
    row = row.strip()
    row = row[1:] if row.startswith("|") else row
    row = row[:-1] if row.endswith("|") and not row.endswith("\\|") else row
    return len(re.split(r"(?<!\\)\|", row))


def _table(doc: Piece, block: list[Line], report: Reporter) -> None:
    """A run of lines starting with '|': a table only when a separator line with as many
    columns follows its header, and it starts its block."""
    rows = [i for i, line in enumerate(block) if TABLE_ROW_RE.match(line.text)]
    if len(rows) < 2:
        return
    first = rows[0]
    header, separator = block[first], block[first + 1] if first + 1 < len(block) else None
    columns = _cells(header.text)
    if separator is None or not SEPARATOR_RE.match(separator.text) or "-" not in separator.text:
        report.warning(doc.path, header.number, "broken-table", bilingual(
            "bảng thiếu dòng phân cách ngay dưới dòng tiêu đề nên trang hiện các dấu '|' như chữ: "
            "thêm dòng " + "|---" * columns + "| ngay dưới dòng đầu của bảng",
            "the table lacks the separator line under its header, so the page shows the '|' as "
            "text: add the line " + "|---" * columns + "| right under the table's first line"))
        return
    if _cells(separator.text) != columns:
        report.warning(doc.path, separator.number, "broken-table", bilingual(
            f"dòng phân cách có {_cells(separator.text)} cột, dòng tiêu đề có {columns}: trang hiện "
            "cả bảng như chữ; viết dòng phân cách với đúng " + f"{columns} cột: " + "|---" * columns + "|",
            f"the separator line has {_cells(separator.text)} columns and the header {columns}: the "
            f"page shows the whole table as text; give the separator {columns}: " + "|---" * columns + "|"))
        return
    if first > 0:
        report.warning(doc.path, header.number, "broken-table", bilingual(
            "bảng viết liền ngay dưới một đoạn văn nên trang hiện cả "
            "bảng như chữ: để một dòng trống trước bảng",
            "the table follows a paragraph without a blank line, so the page shows it as text: "
            "leave a blank line before the table"))
        return
    for line in block[first + 2:]:
        _table_row(doc, line, columns, report)


def _table_row(doc: Piece, line: Line, columns: int, report: Reporter) -> None:
    cells = _cells(line.text)
    if cells > columns:
        report.error(doc.path, line.number, "table-row", bilingual(
            f"dòng này có {cells} ô nhưng bảng có {columns} cột: trang bỏ mất {cells - columns} ô "
            "cuối; thêm cột vào dòng tiêu đề và dòng phân cách, hoặc gộp các ô (một dấu '|' "
            "trong ô viết là '\\|')",
            f"this row has {cells} cells but the table {columns} columns: the page drops the "
            f"last {cells - columns}; add columns to the header and separator, or merge the cells "
            "(a '|' inside a cell is written '\\|')"))
    elif cells < columns:
        report.warning(doc.path, line.number, "table-row", bilingual(
            f"dòng này có {cells} ô nhưng bảng có {columns} cột: các ô được xếp từ trái sang và "
            "ô cuối để trống; nếu thiếu một ô ở giữa, thêm '| |' vào đúng chỗ",
            f"this row has {cells} cells but the table {columns} columns: the cells fill from the "
            "left and the last are left empty; if a cell in the middle is missing, add '| |' there"))


QUOTED_RE = re.compile(r"^(\s*>\s?)+")


def _unquoted(text: str) -> str:
    return QUOTED_RE.sub("", text) if text.lstrip().startswith(">") else text


def _list_after_paragraph(doc: Piece, block: list[Line], report: Reporter) -> None:
    """A list written right under a paragraph line: Python-Markdown (unlike GitHub) needs a
    blank line before it, else the items run into the paragraph. Also a task item '[ ]'."""
    if CALLOUT_RE.match(block[0].text) and len(block) > 1:
        _list_after_paragraph(doc, block[1:], report)  # the callout's text, under its first line
        return
    first = _unquoted(block[0].text)
    # a quiz's introduction or question text: an unquoted '- [ ]' is the quiz's own error
    # (answers-outside-question, nested-choice), not told twice
    own = doc.kind in ("intro", "body")
    for line in block:
        if "[" in line.text and TASK_ITEM_RE.match(_unquoted(line.text)) and not (
                own and not line.text.lstrip().startswith(">")):
            report.warning(doc.path, line.number, "task-list", bilingual(
                "bài học không có danh sách việc cần làm: trang hiện nguyên '[ ]' hoặc '[x]'; "
                "bỏ dấu ngoặc vuông, hoặc dùng ký hiệu ☐ và ☑",
                "lessons have no task lists: the page shows '[ ]' or '[x]' as written; drop the "
                "brackets, or write ☐ and ☑"))
    if LIST_ITEM_RE.match(first) or NOT_PARAGRAPH_RE.match(first):
        return
    indent = len(first) - len(first.lstrip())
    for line in block[1:]:
        item = LIST_ITEM_RE.match(_unquoted(line.text))
        if item and len(item.group(1)) <= indent + 3:
            report.warning(doc.path, line.number, "list-not-separated", bilingual(
                "danh sách viết liền dưới đoạn văn nên các mục bị nối vào đoạn văn thành một dòng "
                "chữ: để một dòng trống trước mục đầu tiên",
                "the list follows a paragraph line with no blank line between, so its items run "
                "into the paragraph as one line of text: leave a blank line before the first item"))
            return


# --- HTML the sanitiser strips, attributes the page drops ----------------------------------------


def _html(doc: Piece, line: Line, report: Reporter) -> None:
    for match in TAG_RE.finditer(line.text):
        tag = match.group(1).lower()
        if tag in MEDIA_WRITTEN_AS_HTML:
            continue  # check's raw-html warning says what to write instead
        if tag == "script" and doc.kind not in PAGE_KINDS:
            continue  # a quiz's own error (raw-script)
        if tag not in ALLOWED_TAGS:
            _stripped_tag(doc, line.number, tag, report)
            continue
        attributes = [(a.group(1).lower(), (a.group(2) or "").strip("\"'"))
                      for a in ATTRIBUTE_RE.finditer(match.group(2))]
        _dropped(doc, line.number, tag, attributes, f"<{tag}>", report)


def _stripped_tag(doc: Piece, number: int, tag: str, report: Reporter) -> None:
    if tag in EMBEDDED:
        report.error(doc.path, number, "raw-html", bilingual(
            f"thẻ <{tag}> bị loại khỏi trang cùng với những gì nó hiển thị (khung nhúng, hình "
            "vẽ, ô nhập...): học viên không thấy gì; dùng liên kết [chữ](địa chỉ) hoặc hình "
            "![mô tả](images/x.png), video ![tiêu đề](video/x.mp4)",
            f"the <{tag}> tag is removed from the page with what it shows (an embedded frame, a "
            "drawing, a form field...): the trainee sees nothing; use a link [text](address), a "
            "picture ![description](images/x.png) or a video ![title](video/x.mp4)"))
    elif tag in CODE_ELEMENTS:
        report.warning(doc.path, number, "raw-html", bilingual(
            f"thẻ <{tag}> bị loại khỏi trang cùng nội dung của nó: bài học không chạy mã hay "
            "kiểu trình bày riêng; viết bằng Markdown",
            f"the <{tag}> tag is removed from the page with what it holds: lessons run no "
            "scripts or styles of their own; write Markdown"))
    else:
        report.warning(doc.path, number, "raw-html", bilingual(
            f"thẻ <{tag}> không được giữ trên trang: chữ bên trong vẫn hiện nhưng mất định "
            "dạng của thẻ; viết bằng Markdown (tiêu đề '## ', **đậm**, *nghiêng*, bảng '|')",
            f"the <{tag}> tag is not kept on the page: its text shows without the tag's "
            "formatting; write Markdown ('## ' headings, **bold**, *italic*, '|' tables)"))


def _dropped(doc: Piece, number: int, tag: str, attributes: list[tuple[str, str]], where: str,
             report: Reporter) -> None:
    """Attributes and classes the sanitiser removes from a kept tag (``where``: '<tag>' in HTML,
    or '{: ...}' in Markdown): one warning."""
    code = "raw-html" if where.startswith("<") else "dropped-attribute"
    allowed = ALLOWED_ATTRIBUTES["*"] | ALLOWED_ATTRIBUTES.get(tag, set())
    classes = EXTENSION_CLASSES.get(tag, frozenset())
    dropped = [f"{name}=" for name, _value in attributes if name not in allowed]
    dropped += [f"class {name}" for key, value in attributes if key == "class"
                for name in value.split() if name not in classes]
    if dropped:
        names = ", ".join(dropped)
        report.warning(doc.path, number, code, bilingual(
            f"trang bỏ {names} của {where}: chỉ giữ các thuộc tính và lớp mà định dạng của bài "
            "dùng (xem hướng dẫn soạn bài, mục HTML); xóa chúng đi",
            f"the page drops {names} of {where}: it keeps only the attributes and classes the "
            "lessons' formatting uses (the authoring guide, Raw HTML); delete them"))


def _attribute_list(doc: Piece, line: Line, report: Reporter) -> None:
    """'{: .class style=...}' after a heading, or alone under a paragraph (attr_list)."""
    found = ATTR_LIST_RE.search(line.text)
    if not found:
        return
    heading = HEADING_RE.match(line.text)
    if heading:
        tag = f"h{len(heading.group(1))}"
    elif line.text.strip().startswith("{"):
        tag = "p"
    else:
        return
    attributes: list[tuple[str, str]] = []
    for token in re.findall(r"""[^\s"']+(?:=(?:"[^"]*"|'[^']*'|\S+))?""", found.group(1)):
        if token.startswith("."):
            attributes.append(("class", token[1:]))
        elif "=" in token:
            name, value = token.split("=", 1)
            attributes.append((name.lower(), value.strip("\"'")))
    _dropped(doc, line.number, tag, attributes, "{: ...}", report)


# --- a title or choice that Markdown reads as a block ---------------------------------------------

BLOCK_TAG_RE = re.compile(r"<(\w+)")
# what a title or choice became, by its first tag: (Vietnamese, English)
BLOCKS = {"ol": ("một danh sách đánh số", "a numbered list"), "ul": ("một danh sách", "a list"),
          "blockquote": ("một đoạn trích dẫn", "a quote"), "hr": ("một đường kẻ", "a rule"),
          "table": ("một bảng", "a table"), "pre": ("một khối mã", "a code block"),
          "div": ("một khối mã", "a code block")}


def _not_inline(doc: Piece, report: Reporter) -> None:
    """A question's title or a choice is shown as one line of text (quiz_content keeps it
    without its paragraph): written like the start of a list, a quote or a heading ('2. ...',
    '> 5 ngày', '- ...', '#1'), it becomes that block inside the line. The page drops its first
    characters (a choice's list shows no marker, a quote no '>', a heading no '#': '> 5 người'
    reads '5 người'), or shows a rule instead of '---': an error. A title's numbered list keeps
    its number, and code its text: a warning."""
    html = raw_markdown(doc.body).lstrip()
    found = BLOCK_TAG_RE.match(html)
    tag = found.group(1) if found else "p"
    if tag == "p":
        return
    vi, en = BLOCKS.get(tag, ("một tiêu đề", "a heading"))
    first = doc.body.lstrip().split("\n", 1)[0]
    number = re.match(r"\d+\.", first)
    mark = number.group() if number else first[0]
    rest = first[len(mark):].lstrip("#>-+*_ ")[:40]
    shown = tag in ("pre", "div") or (tag == "ol" and doc.kind == "title")  # every character
    if shown:
        lost_vi, lost_en = ("chữ vẫn hiện nhưng thành một khối riêng",
                            "the words show, but as a block of their own")
    elif tag == "hr":
        lost_vi, lost_en = "trang hiện một đường kẻ thay cho chữ", "the page shows a line instead of the text"
    else:
        lost_vi, lost_en = (f"trang bỏ mất '{mark}', học viên chỉ thấy '{rest}'",
                            f"the page drops the '{mark}': the trainee sees only '{rest}'")
    where_vi, where_en = INLINE_VI[doc.kind], INLINE_EN[doc.kind]
    escaped = f"{mark[:-1]}\\{mark[-1]}"
    (report.warning if shown else report.error)(doc.path, doc.numbers[0], "not-inline", bilingual(
        f"{where_vi} bắt đầu bằng '{mark}' nên Markdown đọc thành {vi}, không phải một dòng chữ: "
        f"{lost_vi}; viết '{escaped}' để giữ nguyên ký tự",
        f"{where_en} starts with '{mark}', so Markdown reads it as {en}, not one line of text: "
        f"{lost_en}; write '{escaped}' to keep the character"))


# --- what the renderer left as written -------------------------------------------------------------


# '**' or '__' (not a run of three: a line to fill in), a backtick, a '*' opening a word, '{:'
LEFTOVER_RE = re.compile(r"(?<![*_])(?:\*\*|__)(?![*_])|`|(?<![\w*\\])\*(?=[^\s*)\]])|\{:")


class _Text(HTMLParser):
    """The text of rendered HTML outside code, one string per text node."""

    SKIP = {"code", "pre", "kbd", "script", "style"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and self.depth:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if not self.depth:
            self.parts.append(data)


def _left_as_written(doc: Piece, lines: list[Line], report: Reporter) -> None:
    """Render the body and look at its text: emphasis or code never closed, an attribute list
    Markdown did not take, shown as written. Each is placed on the first source line (from
    the last one placed) that holds it, and not told when the source escaped it ('\\*')."""
    # (called only when some paragraph may hold a leftover: rendering is the costly part)
    parser = _Text()
    parser.feed(raw_markdown(doc.body))
    told: set[int] = set()
    start = 0
    for part in parser.parts:
        for match in LEFTOVER_RE.finditer(part):
            snippet = part[match.start():].split("\n", 1)[0][:16].rstrip()
            found = _place(lines, snippet, start)
            if found is None:
                continue
            start = found
            if lines[found].number not in told:
                told.add(lines[found].number)
                _unclosed(doc, lines[found].number, match.group(), report)


SINGLE_STAR_RE = re.compile(r"(?<!\*)\*(?!\*)")
LIST_MARKER_RE = re.compile(r"^\s*(?:>\s*)*(?:[-*+]\s+|\*\[)")


def _suspect(block: list[Line]) -> bool:
    """A paragraph whose '**', '__' or '*' are odd in number, or with a backtick or '{:' left
    once its code spans are taken out."""
    text = "\n".join(line.text for line in block)
    if "*" not in text and "_" not in text and "`" not in text and "{:" not in text:
        return False
    text = "\n".join(LIST_MARKER_RE.sub("", line.text.replace("\\*", "").replace("\\`", ""))
                     for line in block)
    return ("`" in text or "{:" in text or text.count("**") % 2 == 1 or text.count("__") % 2 == 1
            or len(SINGLE_STAR_RE.findall(text.replace("**", ""))) % 2 == 1)


def _place(lines: list[Line], snippet: str, start: int) -> int | None:
    for index in [*range(start, len(lines)), *range(0, start)]:
        at = lines[index].raw.find(snippet)
        if at >= 0:
            return None if at and lines[index].raw[at - 1] == "\\" else index
    return None


def _unclosed(doc: Piece, number: int, token: str, report: Reporter) -> None:
    if token == "{:":  # noqa: S105 (a Markdown token, not a password)
        vi = ("danh sách thuộc tính '{: ...}' phải đứng ở cuối dòng tiêu đề hoặc trên một dòng "
              "riêng ngay dưới đoạn văn")
        en = ("an attribute list '{: ...}' goes at the end of a heading line "
              "or on its own line under the paragraph")
    elif token == "`":  # noqa: S105
        vi, en = ("dấu ` mở đoạn mã nhưng không có dấu ` đóng trên cùng đoạn",
                  "a ` opens inline code that no ` closes in the same paragraph")
    else:
        vi = f"dấu '{token}' mở chữ đậm hoặc nghiêng nhưng không có dấu '{token}' đóng trên cùng đoạn"
        en = f"'{token}' opens bold or italic text that no '{token}' closes in the same paragraph"
    report.warning(doc.path, number, "unclosed-markup", bilingual(
        f"{vi}, nên trang hiện nguyên các ký tự đó: đóng lại, "
        f"hoặc viết '\\{token[0]}' nếu muốn hiện chính ký tự",
        f"{en}, so the page shows the characters as written: close it, or write '\\{token[0]}' "
        "to show the character itself"))
