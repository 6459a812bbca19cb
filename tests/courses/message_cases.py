"""A case for every problem code `mooc courses check` can emit: each builds the smallest
mistake that triggers the code (on the sample tree of tree.py, or through the parser that reports
it) and returns the problems found. tests/courses/test_messages.py runs them all, and fails on a
code found in the source without a case here."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Any
from unittest import mock

from mooc.courses.check import check_tree
from mooc.courses.media import validate_vtt
from mooc.formats.legal import parse_registry
from mooc.formats.program import expand, parse_program
from mooc.formats.quiz import parse_quiz
from tests.courses.test_media import AVI, CAPTIONS, MP4
from tests.courses.tree import LAW_2022, LAW_2025, SVG, legal_entry, lesson, write

Q = "## Ai ký quyết định thanh tra? {#ky}\n\n- [x] Thủ trưởng\n- [ ] Trưởng đoàn\n\n> Thủ trưởng ký.\n"
COURSE = "---\ntitle: Khác\ncode: {code}\nedition: 2026\nsummary: S.\nhours: 1\n{extra}---\n\nGiới thiệu.\n"
LESSON = "luat/01-co-ban/02-nguyen-tac.md"
CASES: list[tuple[str, str, Callable[[Path], list[Any]]]] = []


def case(code: str, label: str = ""):
    def register(fn: Callable[[Path], list[Any]]) -> Callable[[Path], list[Any]]:
        CASES.append((code, label, fn))
        return fn

    return register


def checked(root: Path, **kwargs: Any) -> list[Any]:
    return check_tree(root, **kwargs).problems


def after(root: Path, *_done: Any, **kwargs: Any) -> list[Any]:
    """The tree checked once the changes written as arguments are made."""
    return checked(root, **kwargs)


def with_lesson(root: Path, text: str, relative: str = LESSON) -> list[Any]:
    write(root, relative, text)
    return checked(root)


def with_body(root: Path, body: str, extra: str = "") -> list[Any]:
    return with_lesson(root, lesson("Nguyên tắc", f"## Mục 2\n\n{body}\n", extra=extra))


def in_quiz(root: Path, questions: str) -> list[Any]:
    """The tree checked with a quiz file of these questions (what only the course check reads)."""
    text = f"---\ntitle: Kiểm tra\n---\n\nĐọc kỹ.\n\n{questions}"
    return with_lesson(root, text, "luat/01-co-ban/09-kt.quiz.md")


def quiz(text: str) -> list[Any]:
    return parse_quiz(text, "09-kiem-tra.quiz.md")[1]


def quiz_body(body: str, front: str = "") -> list[Any]:
    return quiz(f"---\ntitle: Kiểm tra\n{front}---\n\n{body}")


def captions(text: str | bytes) -> list[Any]:
    return validate_vtt(text if isinstance(text, bytes) else text.encode())[1]


def registry(text: str) -> list[Any]:
    return parse_registry(text)[1]


def program(text: str | bytes, courses: Iterable[str] = ("luat",)) -> list[Any]:
    parsed, problems = parse_program(
        text.encode() if isinstance(text, str) else text, "_chuong-trinh/lt.md", "lt"
    )
    return problems + (expand([parsed], set(courses))[1] if parsed else [])


def programs(root: Path, **files: str) -> list[Any]:
    for name, text in files.items():
        write(root, f"_chuong-trinh/{name}.md", text)
    return checked(root)


def steps(lines: str, front: str = "") -> str:
    return f"---\ntitle: Lộ trình\ncode: LT\nsummary: S\n{front}---\n\n## Các bước\n\n{lines}"


def unreadable(root: Path, name: str) -> list[Any]:
    real = Path.read_bytes

    def refuse(path: Path) -> bytes:
        if path.name == name:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    with mock.patch.object(Path, "read_bytes", refuse):
        return checked(root)


# The course tree: files, names, front matter.
case("no-courses")(lambda root: checked(root / "khong-co"))
case("bad-name", "lesson")(
    lambda root: with_lesson(root, lesson("Phụ lục", "## A\n\nB."), "luat/01-co-ban/03-Phụ Lục.md")
)
case("bad-name", "quiz")(
    lambda root: with_lesson(root, f"---\ntitle: K\n---\n\n{Q}", "luat/01-co-ban/on-tap.quiz.md")
)
case("bad-name", "module folder")(
    lambda root: with_lesson(root, "---\ntitle: Ba\n---\n", "luat/Chuong 3/module.md")
)
case("bad-name", "course folder")(
    lambda root: with_lesson(root, COURSE.format(code="K", extra=""), "Luat Moi/course.md")
)
case("bad-name", "hyphens")(
    lambda root: with_lesson(root, lesson("A", "## A\n\nB."), "luat/01-co-ban/03--phu-luc.md")
)
case("no-course-md")(lambda root: after(root, (root / "khac").mkdir()))
case("no-module-md")(lambda root: with_lesson(root, lesson("A", "## A\n\nB."), "luat/03-them/01-bai.md"))
case("empty-course")(lambda root: with_lesson(root, COURSE.format(code="K", extra=""), "khac/course.md"))
case("empty-module")(lambda root: with_lesson(root, "---\ntitle: Ba\n---\n", "luat/03-them/module.md"))
case("stray-file", "courses folder")(lambda root: with_lesson(root, "ghi chú", "ghi-chu.txt"))
case("stray-file", "course folder")(lambda root: with_lesson(root, "ghi chú", "luat/ghi-chu.txt"))
case("stray-file", "module folder")(lambda root: with_lesson(root, "ghi chú", "luat/01-co-ban/ghi-chu.txt"))
case("stray-file", "programmes folder")(
    lambda root: with_lesson(root, "ghi chú", "_chuong-trinh/ghi-chu.txt")
)
case("same-number")(lambda root: with_lesson(root, lesson("Khác", "## A\n\nB."), "luat/01-co-ban/02-khac.md"))
case("symlink")(lambda root: after(root, os.symlink(root / LESSON, root / "luat/01-co-ban/03-lien-ket.md")))
case("unreadable", "lesson")(lambda root: unreadable(root, "02-nguyen-tac.md"))
case("unreadable", "registry")(
    lambda root: write(root, "_phap-ly.yaml", "documents: []\n") and unreadable(root, "_phap-ly.yaml")
)
case("unreadable", "programme")(
    lambda root: write(root, "_chuong-trinh/lt.md", steps("1. luat\n")) and unreadable(root, "lt.md")
)
case("encoding")(
    lambda root: after(root, (root / LESSON).write_bytes(lesson("Nguyên tắc", "## A\n\nB.").encode("utf-16")))
)
case("too-large", "text")(lambda root: with_body(root, "x" * (600 * 1024)))
case("too-large", "picture")(
    lambda root: after(
        root, (root / "luat/01-co-ban/images/so-do.svg").write_bytes(SVG.encode() + b" " * (6 * 1024 * 1024))
    )
)
case("front-matter-missing")(lambda root: with_lesson(root, "Không có phần đầu.\n"))
case("front-matter-missing", "empty")(lambda root: with_lesson(root, ""))
case("front-matter-unclosed")(lambda root: with_lesson(root, "---\ntitle: A\nminutes: 5\n\nNội dung.\n"))
case("front-matter-yaml", "colon")(lambda root: with_lesson(root, lesson("Bài 1: Khái niệm", "## A\n\nB.")))
case("front-matter-yaml", "twice")(
    lambda root: with_lesson(root, lesson("A", "## A\n\nB.", extra="title: B\n"))
)
case("front-matter-yaml", "list")(lambda root: with_lesson(root, "---\n- a\n---\n\nB.\n"))
case("front-matter-yaml", "tab")(lambda root: with_lesson(root, "---\ntitle: A\n\tminutes: 5\n---\n\nB.\n"))
case("front-matter-yaml", "nbsp")(
    lambda root: with_lesson(root, "---\ntitle: A\nminutes:\u00a05\n---\n\nB.\n")
)
case("front-matter-yaml", "no space")(lambda root: with_lesson(root, "---\ntitle: A\nminutes:5\n---\n\nB.\n"))
case("front-matter-yaml", "closing")(
    lambda root: with_lesson(root, "---\ntitle: A\nminutes: 5\nNội dung.\n---\n")
)
case("front-matter-yaml", "quote")(
    lambda root: with_lesson(root, lesson('"Nguyên tắc "khách quan""', "## A\n\nB."))
)
case("front-matter-yaml", "syntax")(lambda root: with_lesson(root, lesson("[Nháp", "## A\n\nB.")))
case("unknown-key")(lambda root: with_body(root, "B.", extra="minuts: 5\n"))
case("missing-key")(lambda root: with_lesson(root, "---\ntitle: A\n---\n\nB.\n"))
case("wrong-type", "whole number")(
    lambda root: with_lesson(root, "---\ntitle: A\nminutes: nhiều\n---\n\nB.\n")
)
case("wrong-type", "decimal")(
    lambda root: with_lesson(
        root,
        COURSE.format(code="LTT", extra="")
        .replace("title: Khác", "title: Luật Thanh tra")
        .replace("hours: 1", "hours: hai"),
        "luat/course.md",
    )
)
case("wrong-type", "list")(lambda root: with_body(root, "B.", extra="legal: {a: 1}\n"))
case("empty-value")(lambda root: with_lesson(root, '---\ntitle: " "\nminutes: 5\n---\n\nB.\n'))
case("bad-id", "id")(lambda root: with_body(root, "B.", extra="id: Sai Id\n"))
case("bad-id", "previously")(lambda root: with_body(root, "B.", extra="previously: [Sai Id]\n"))
case("duplicate-id", "items")(lambda root: with_body(root, "B.", extra="id: co-ban/khai-niem\n"))
case("duplicate-id", "previously")(lambda root: with_body(root, "B.", extra="previously: co-ban/khai-niem\n"))
case("duplicate-id", "claimed")(
    lambda root: after(
        root,
        write(root, LESSON, lesson("Nguyên tắc", "## A\n\nB.", extra="previously: co-ban/cu\n")),
        write(
            root,
            "luat/02-nang-cao/01-quy-trinh.md",
            lesson("Quy trình", "## A\n\nB.", extra="previously: co-ban/cu\n"),
        ),
    )
)
case("duplicate-id", "module")(
    lambda root: with_lesson(root, "---\ntitle: Hai\nid: co-ban\n---\n", "luat/02-nang-cao/module.md")
)


def other_course(root: Path, code: str, extra: str = "") -> list[Any]:
    return after(
        root,
        write(root, "khac/01-a/01-a.md", lesson("A", "## A\n\nB.")),
        write(root, "khac/01-a/module.md", "---\ntitle: A\n---\n"),
        write(root, "khac/course.md", COURSE.format(code=code, extra=extra)),
    )


case("duplicate-id", "course")(lambda root: other_course(root, "K", "id: luat\n"))
case("duplicate-code")(lambda root: other_course(root, "LTT"))
case("bad-language")(
    lambda root: with_lesson(
        root, (root / "luat/course.md").read_text().replace("language: vi", "language: fr"), "luat/course.md"
    )
)
case("bad-minutes")(lambda root: with_lesson(root, lesson("Nguyên tắc", "## A\n\nB.", minutes=0)))
case("bad-completion", "setting")(
    lambda root: with_lesson(
        root,
        (root / "luat/course.md")
        .read_text()
        .replace("language: vi", "language: vi\ncompletion: {lessons: vai}"),
        "luat/course.md",
    )
)
case("bad-completion", "quiz")(
    lambda root: with_lesson(
        root,
        (root / "luat/course.md")
        .read_text()
        .replace("language: vi", "language: vi\ncompletion: {quizzes: [co-ban/khong-co]}"),
        "luat/course.md",
    )
)
case("empty-lesson")(lambda root: with_lesson(root, "---\ntitle: A\nminutes: 5\n---\n"))
case("title-heading")(lambda root: with_body(root, "# Tiêu đề\n\nB."))
case("bad-callout", "kind")(lambda root: with_body(root, '!!! luu-y "Lưu ý"\n    Nội dung.'))
case("bad-callout", "indent")(lambda root: with_body(root, '!!! note "Lưu ý"\nNội dung.'))
case("unclosed-code")(lambda root: with_body(root, "```\nmã"))
case("raw-html", "removed")(lambda root: with_body(root, "<script>alert(1)</script>"))
case("raw-html", "link")(lambda root: with_body(root, '<a href="01-khai-niem.md">bài 1</a>'))
case("raw-html", "player")(
    lambda root: with_body(root, '<video controls>\n<source src="video/x.mp4">\n</video>'))
case("raw-html", "embedded")(lambda root: with_body(root, '<iframe src="https://www.youtube.com/embed/x"></iframe>'))
case("raw-html", "tag stripped")(lambda root: with_body(root, '<font color="red">Lưu ý</font>'))
case("raw-html", "attribute")(lambda root: with_body(root, '<span style="color:red">Lưu ý</span>'))
case("dropped-attribute")(lambda root: with_body(root, "## Mục 3 {: .do style=\"color:red\" }"))
case("footnote-undefined")(lambda root: with_body(root, "Phạm vi thanh tra[^1]."))
case("footnote-undefined", "others")(lambda root: with_body(root, "Phạm vi[^1].\n\n[^2]: Khoản 5."))
case("reference-undefined", "link")(lambda root: with_body(root, "Xem [Luật Thanh tra][luat]."))
case("reference-undefined", "picture")(lambda root: with_body(root, "![Sơ đồ][hinh]"))
case("reference-undefined", "spaced")(lambda root: with_body(root, "Xem [Luật Thanh tra] [luat]."))
case("footnote-undefined", "quiz title")(lambda root: in_quiz(root, Q.replace("tra?", "tra?[^1]")))
case("footnote-undefined", "quiz explanation")(lambda root: in_quiz(root, Q.replace("ký.", "ký[^1].")))
case("reference-undefined", "quiz choice")(
    lambda root: in_quiz(root, Q.replace("Trưởng đoàn", "[Trưởng đoàn][td]")))
case("reference-undefined", "quiz text")(
    lambda root: in_quiz(root, Q.replace("\n\n- [x]", "\n\nTheo [Luật][luat]:\n\n- [x]")))
case("not-inline", "title")(lambda root: in_quiz(root, Q.replace("## Ai", "## 2. Ai")))
case("not-inline", "choice")(lambda root: in_quiz(root, Q.replace("Trưởng đoàn", "> 5 người")))
case("not-inline", "rule")(lambda root: in_quiz(root, Q.replace("Trưởng đoàn", "***")))
case("table-row", "more")(lambda root: with_body(root, "| A | B |\n|---|---|\n| 1 | 2 | 3 |"))
case("table-row", "fewer")(lambda root: with_body(root, "| A | B |\n|---|---|\n| 1 |"))
case("broken-table", "separator")(lambda root: with_body(root, "| A | B |\n| 1 | 2 |"))
case("broken-table", "width")(lambda root: with_body(root, "| A | B | C |\n|---|---|\n| 1 | 2 | 3 |"))
case("broken-table", "paragraph")(lambda root: with_body(root, "Bảng:\n| A | B |\n|---|---|\n| 1 | 2 |"))
case("list-not-separated")(lambda root: with_body(root, "Các bước:\n- một\n- hai"))
case("task-list")(lambda root: with_body(root, "- [ ] Đọc luật"))
case("unclosed-markup", "bold")(lambda root: with_body(root, "Đây là **chữ đậm chưa đóng."))
case("unclosed-markup", "code")(lambda root: with_body(root, "Gõ lệnh `mooc check."))
case("unclosed-markup", "attributes")(lambda root: with_body(root, "Đoạn văn {: .x }"))
case("image-alt", "picture")(lambda root: with_body(root, "![](../01-co-ban/images/so-do.svg)"))
case("image-alt", "video")(lambda root: with_body(root, "![](video/bai-giang.mp4)"))
case("empty-link")(lambda root: with_body(root, "[bài 1]()"))
case("bad-scheme", "forbidden")(lambda root: with_body(root, "[x](javascript:alert(1))"))
case("bad-scheme", "dropped")(lambda root: with_body(root, "[gọi](tel:02412345678)"))
case("absolute-link")(lambda root: with_body(root, "[khóa](/courses/luat)"))
case("outside-tree", "relative")(lambda root: with_body(root, "[x](../../../ngoai.md)"))
case("outside-tree", "computer")(lambda root: with_body(root, "![Sơ đồ](C:\\Users\\tra\\so-do.png)"))
case("broken-link", "missing")(lambda root: with_body(root, "[x](khong-co.md)"))
case("broken-link", "spelling")(lambda root: with_body(root, "[x](01-Khai-Niem.MD)"))
case("broken-link", "not a page")(
    lambda root: after(
        root,
        write(root, "luat/01-co-ban/ghi-chu.txt", "x"),
        write(root, LESSON, lesson("N", "## A\n\n[x](ghi-chu.txt)")),
    )
)
case("broken-image", "missing")(lambda root: with_body(root, "![Sơ đồ](images/khong-co.svg)"))
case("broken-image", "near")(lambda root: with_body(root, "![Sơ đồ](hinh/so-do.svg)"))
case("not-an-image")(lambda root: with_body(root, "![Sơ đồ](01-khai-niem.md)"))
case("refused-file")(
    lambda root: after(
        root,
        write(root, "luat/01-co-ban/images/mau.docx", "x"),
        write(root, LESSON, lesson("N", "## A\n\n[Mẫu](images/mau.docx)")),
    )
)
case("asset-type")(lambda root: after(root, write(root, "luat/01-co-ban/images/mau.docx", "x")))
case("broken-anchor", "own")(lambda root: with_body(root, "[x](#khong-co)"))
case("broken-anchor", "other")(lambda root: with_body(root, "[x](01-khai-niem.md#khong-co)"))
case("unused-file")(lambda root: after(root, write(root, "luat/01-co-ban/images/thua.svg", SVG)))
case("review-farming")(
    lambda root: with_lesson(
        root,
        f"---\ntitle: K\nreview: after_submit_with_key\nattempts: 3\n---\n\n{Q}",
        "luat/01-co-ban/09-kt.quiz.md",
    )
)

# The legal basis and its registry.


def legal(
    root: Path, front: str, body: str = "## Căn cứ\n\nB.", entries: str = "", **kwargs: Any
) -> list[Any]:
    write(root, "_phap-ly.yaml", f"documents:\n{LAW_2025}{LAW_2022}{entries}")
    write(root, "luat/01-co-ban/03-phap-ly.md", lesson("Pháp lý", body, extra=front))
    return checked(root, **kwargs)


LATER = legal_entry("9/2098/QH15", "Luật", "Luật sau này", "Quốc hội", "01/01/2098", "01/01/2099")
PARTLY = legal_entry(
    "7/2020/NĐ-CP",
    "Nghị định",
    "Quy định chi tiết",
    "Chính phủ",
    "01/01/2020",
    "01/02/2020",
    superseded="by: 84/2025/QH15, from: 01/07/2025, extent: partly",
)
SOON = legal_entry(
    "8/2020/NĐ-CP",
    "Nghị định",
    "Quy định khác",
    "Chính phủ",
    "01/01/2020",
    "01/02/2020",
    superseded="by: 9/2098/QH15, from: 01/01/2099",
)
case("legal-unregistered")(lambda root: legal(root, "", "## Căn cứ\n\nTheo Nghị định 77/2024/NĐ-CP."))
case("legal-undeclared")(
    lambda root: legal(root, "", "## Căn cứ\n\nTheo khoản 1 Điều 5 Luật Thanh tra 2025.")
)
case("legal-unknown")(lambda root: legal(root, "legal: [99/2026/QH15]\n"))
case("legal-superseded", "today")(lambda root: legal(root, "legal: [11/2022/QH15]\n"))
case("legal-superseded", "ahead")(
    lambda root: legal(root, "legal: [8/2020/NĐ-CP]\n", entries=SOON + LATER, as_of=date(2099, 6, 1))
)
case("legal-superseded-soon")(lambda root: legal(root, "legal: [8/2020/NĐ-CP]\n", entries=SOON + LATER))
case("legal-partly-superseded")(lambda root: legal(root, "legal: [7/2020/NĐ-CP]\n", entries=PARTLY))
case("legal-not-in-force")(lambda root: legal(root, "legal: [9/2098/QH15]\n", entries=LATER))
REGISTRY_ENTRY = legal_entry("84/2025/QH15", "Luật", "Luật Thanh tra", "Quốc hội", "25/06/2025", "01/07/2025")
case("legal-registry-yaml")(
    lambda root: registry("documents:\n  - number: 84/2025/QH15\n    title: Luật: Thanh tra\n")
)
case("legal-registry-format", "top")(lambda root: registry("- 84/2025/QH15\n"))
case("legal-registry-format", "entry")(lambda root: registry("documents:\n  - 84/2025/QH15\n"))
case("legal-registry-format", "names")(
    lambda root: registry("documents:\n" + REGISTRY_ENTRY + "    names: {a: 1}\n")
)
case("legal-unknown-field")(lambda root: registry("documents:\n" + REGISTRY_ENTRY + "    ngay: 1\n"))
case("legal-missing-field")(lambda root: registry("documents:\n  - number: 84/2025/QH15\n    kind: Luật\n"))
case("legal-bad-number", "entry")(
    lambda root: registry("documents:\n" + REGISTRY_ENTRY.replace("number: 84/2025/QH15", "number: Luật 84"))
)
case("legal-bad-number", "unverified")(lambda root: registry("unverified:\n  - số 84\n"))
case("legal-bad-number", "unverified entry")(lambda root: registry("unverified:\n  - number: 84/2025/QH15\n"))
case("legal-bad-kind")(
    lambda root: registry("documents:\n" + REGISTRY_ENTRY.replace("kind: Luật", "kind: Công văn"))
)
case("legal-bad-date")(
    lambda root: registry(
        "documents:\n" + REGISTRY_ENTRY.replace("signed: 25/06/2025", "signed: {25/06/2025}")
    )
)
case("legal-bad-source")(lambda root: registry("documents:\n" + REGISTRY_ENTRY.replace("https://", "www.")))
case("legal-bad-superseded", "shape")(
    lambda root: registry("documents:\n" + LAW_2022.replace("by: 84/2025/QH15, ", ""))
)
case("legal-bad-superseded", "date")(
    lambda root: registry("documents:\n" + LAW_2025 + LAW_2022.replace("from: 01/07/2025", "from: sau này"))
)
case("legal-bad-superseded", "before signed")(
    lambda root: registry(
        "documents:\n" + LAW_2025 + LAW_2022.replace("from: 01/07/2025", "from: 01/07/2020")
    )
)
case("legal-duplicate", "documents")(lambda root: registry("documents:\n" + LAW_2025 + LAW_2025))
case("legal-duplicate", "unverified")(
    lambda root: registry("documents:\n" + LAW_2025 + "unverified:\n  - 84/2025/QH15\n")
)
case("legal-unknown-successor")(lambda root: registry("documents:\n" + LAW_2022))

# Video, audio and captions.


def media(root: Path, data: bytes = MP4, caption: str | None = CAPTIONS, **kwargs: Any) -> list[Any]:
    write(root, LESSON, lesson("Nguyên tắc", "## Mục 2\n\n![Bài giảng](video/bai-giang.mp4)\n"))
    (root / "luat/01-co-ban/video").mkdir(parents=True, exist_ok=True)
    (root / "luat/01-co-ban/video/bai-giang.mp4").write_bytes(data)
    if caption is not None:
        write(root, "luat/01-co-ban/video/bai-giang.vi.vtt", caption)
    return checked(root, **kwargs)


case("media-type")(lambda root: media(root, AVI))
case("too-large", "media")(lambda root: media(root, MP4, media_max_bytes=1024))
case("no-captions")(lambda root: media(root, MP4, None))
case("captions-orphan")(
    lambda root: write(root, "luat/01-co-ban/video/khac.vi.vtt", CAPTIONS) and media(root)
)
case("captions-language")(
    lambda root: write(root, "luat/01-co-ban/video/bai-giang.tieng-viet.vtt", CAPTIONS) and media(root)
)
case("captions-encoding")(
    lambda root: captions("WEBVTT\n\n00:00.000 --> 00:01.000\nPh\xe1p\n".encode("latin-1"))
)
case("captions-empty", "file")(lambda root: captions("WEBVTT\n"))
case("captions-empty", "cue")(lambda root: captions("WEBVTT\n\n00:00.000 --> 00:01.000\n"))
case("captions-header", "srt")(lambda root: captions("1\n00:00:00,000 --> 00:00:01,000\nA\n"))
case("captions-header", "missing")(lambda root: captions("Phụ đề\n\n00:00.000 --> 00:01.000\nA\n"))
case("captions-blank-line", "header")(lambda root: captions("WEBVTT\n00:00.000 --> 00:01.000\nA\n"))
case("captions-blank-line", "cue")(
    lambda root: captions("WEBVTT\n\n00:00.000 --> 00:01.000\nA\n00:01.000 --> 00:02.000\nB\n")
)
case("captions-note")(lambda root: captions("WEBVTT\n\nNOTE 00:00 --> 00:01\n\n00:00.000 --> 00:01.000\nA\n"))
case("captions-ignored")(lambda root: captions("WEBVTT\n\n00:00.000 --> 00:01.000\nA\n\nSTYLE\n::cue {}\n"))
case("captions-timing", "not a caption")(lambda root: captions("WEBVTT\n\nMột dòng lạc\nHai\n"))
case("captions-timing", "comma")(lambda root: captions("WEBVTT\n\n00:00,000 --> 00:01,000\nA\n"))
case("captions-timing", "form")(lambda root: captions("WEBVTT\n\n0:0.0 --> 0:1.0\nA\n"))
case("captions-timing", "sixty")(lambda root: captions("WEBVTT\n\n00:61.000 --> 00:62.000\nA\n"))
case("captions-order", "backwards")(lambda root: captions("WEBVTT\n\n00:02.000 --> 00:01.000\nA\n"))
case("captions-order", "earlier")(
    lambda root: captions("WEBVTT\n\n00:02.000 --> 00:03.000\nA\n\n00:01.000 --> 00:04.000\nB\n")
)
case("captions-setting")(lambda root: captions("WEBVTT\n\n00:00.000 --> 00:01.000 giua\nA\n"))
case("captions-tag")(lambda root: captions("WEBVTT\n\n00:00.000 --> 00:01.000\n<font>A</font>\n"))

# Programmes.
case("too-large", "programme")(lambda root: program(steps("1. luat\n") + "x" * (300 * 1024)))
case("encoding", "programme")(lambda root: program(steps("1. luat\n").encode("utf-16")))
case("front-matter-missing", "programme")(lambda root: program("## Các bước\n\n1. luat\n"))
case("front-matter-unclosed", "programme")(lambda root: program("---\ntitle: A\n"))
case("front-matter-yaml", "programme")(lambda root: program(steps("1. luat\n", "ghi chú: a: b\n")))
case("front-matter-yaml", "programme list")(lambda root: program("---\n- a\n---\n\n## Các bước\n\n1. luat\n"))
case("missing-key", "programme")(
    lambda root: program("---\ntitle: A\ncode: C\n---\n\n## Các bước\n\n1. luat\n")
)
case("bad-value", "required")(lambda root: program(steps("1. luat\n").replace("summary: S", "summary: ''")))
case("bad-value", "type")(lambda root: program(steps("1. luat\n", "id: [a]\n")))
case("unknown-key", "programme")(lambda root: program(steps("1. luat\n", "ghi-chu: x\n")))
case("bad-id", "programme")(lambda root: program(steps("1. luat\n", "id: Sai Id\n")))
case("bad-id", "programme file")(
    lambda root: parse_program(steps("1. luat\n").encode(), "_chuong-trinh/Sai.md", "Sai")[1]
)
case("bad-id", "programme previously")(lambda root: program(steps("1. luat\n", "previously: [Sai Id]\n")))
case("bad-id", "include")(lambda root: program(steps("1. chương trình: Sai Id\n")))
case("bad-id", "course")(lambda root: program(steps("1. Luật Thanh tra\n")))
case("no-steps", "heading")(lambda root: program(steps("").replace("## Các bước", "Giới thiệu.")))
case("no-steps", "list")(lambda root: program(steps("")))
case("step-syntax", "line")(lambda root: program(steps("1. luat\n- khac\n")))
case("step-syntax", "two courses")(lambda root: program(steps("1. luat, khac\n"), {"luat", "khac"}))
case("step-syntax", "none")(
    lambda root: program(steps("1. [Luật](../luat/course.md) (tự chọn)\n2. (tự chọn)\n"))
)
case("step-number")(lambda root: program(steps("1. luat\n3. khac\n"), {"luat", "khac"}))
case("first-step-prerequisite")(lambda root: program(steps("1. luat (sau bước trước)\n")))
case("step-marker")(lambda root: program(steps("1. luat (bắt buộc)\n")))
case("after-steps")(lambda root: program(steps("1. luat\n\n## Ghi chú\n\nLiên hệ phòng tổ chức.\n")))
case("empty-choice", "no course")(lambda root: program(steps("1. luat\n2. 1 trong: \n")))
case("empty-choice", "zero")(lambda root: program(steps("1. luat\n2. 0 trong: khac\n"), {"luat", "khac"}))
case("choice-too-many")(
    lambda root: program(steps("1. luat\n2. 3 trong: khac, ba\n"), {"luat", "khac", "ba"})
)
case("duplicate-course", "choice")(
    lambda root: program(steps("1. luat\n2. 1 trong: khac, khac\n"), {"luat", "khac"})
)
case("duplicate-course", "steps")(lambda root: program(steps("1. luat\n2. luat\n")))
case("bad-link")(lambda root: program(steps("1. [Luật](../luat/01-co-ban/01-khai-niem.md)\n")))
case("unknown-course")(lambda root: program(steps("1. luatt\n")))
case("unknown-program")(lambda root: program(steps("1. luat\n2. chương trình: khac\n")))
case("only-optional-steps")(lambda root: program(steps("1. luat (tự chọn)\n")))
case("duplicate-id", "programme")(
    lambda root: programs(
        root, a=steps("1. luat\n", "id: lt\n"), b=steps("1. luat\n", "id: lt\n").replace("LT", "LT2")
    )
)
case("duplicate-code", "programme")(lambda root: programs(root, a=steps("1. luat\n"), b=steps("1. luat\n")))
case("program-cycle")(
    lambda root: programs(
        root, a=steps("1. luat\n2. chương trình: b\n"), b=steps("1. chương trình: a\n").replace("LT", "LT2")
    )
)

# Quizzes.
case("front-matter-missing", "quiz")(lambda root: quiz(Q))
case("front-matter-unclosed", "quiz")(lambda root: quiz(f"---\ntitle: K\n\n{Q}"))
case("front-matter-yaml", "quiz")(lambda root: quiz_body(Q, "review: after_pass: x\n"))
case("front-matter-yaml", "quiz list")(lambda root: quiz(f"---\n- a\n---\n\n{Q}"))
case("duplicate-setting")(lambda root: quiz_body(Q, "title: L\n"))
case("unknown-setting")(lambda root: quiz_body(Q, "pass_precent: 80\n"))
for setting, wrong in (
    ("title", "''"),
    ("pass_percent", "101"),
    ("attempts", "-1"),
    ("time_limit", "0"),
    ("draw", "0"),
    ("shuffle", "có"),
    ("partial_credit", "1"),
    ("review", "luon"),
):
    case("invalid-setting", setting)(
        lambda root, s=setting, w=wrong: quiz(
            f"---\n{'title: K' if s != 'title' else ''}\n{s}: {w}\n---\n\n{Q}"
        )
    )
case("raw-script", "title")(lambda root: quiz(f"---\ntitle: K<script>x</script>\n---\n\n{Q}"))
case("raw-script", "body")(lambda root: quiz_body(Q + "\n<script>x</script>\n"))
case("missing-title")(lambda root: quiz(f"---\nattempts: 1\n---\n\n{Q}"))
case("unclosed-code", "quiz")(lambda root: quiz_body(Q + "\n```\nmã\n"))
case("answers-outside-question")(lambda root: quiz_body("- [x] A\n\n" + Q))
case("missing-key", "question")(lambda root: quiz_body(Q.replace(" {#ky}", "")))
case("empty-title")(lambda root: quiz_body(Q.replace("Ai ký quyết định thanh tra? ", "")))
case("invalid-key", "two")(lambda root: quiz_body(Q.replace("{#ky}", "{#ky #ky2}")))
case("invalid-key", "form")(lambda root: quiz_body(Q.replace("{#ky}", "{#Ký}")))
case("invalid-attribute")(lambda root: quiz_body(Q.replace("{#ky}", "{#ky points=0}")))
case("unknown-attribute")(lambda root: quiz_body(Q.replace("{#ky}", "{#ky diem=2}")))
case("nested-choice")(
    lambda root: quiz_body(Q.replace("- [ ] Trưởng đoàn", "- [ ] Trưởng đoàn\n  - [ ] Phó"))
)
case("misplaced-answer", "choice")(lambda root: quiz_body(Q + "- [ ] Muộn\n"))
case("misplaced-answer", "answer")(lambda root: quiz_body("## Số? {#so}\n\n= 5\n\n> X\n= 6\n"))
case("stray-text")(lambda root: quiz_body(Q + "\nCâu 2. Ai ký?\n"))
case("mixed-answers")(
    lambda root: quiz_body(Q.replace("- [ ] Trưởng đoàn", "- [ ] Trưởng đoàn\n= Thủ trưởng"))
)
case("missing-explanation")(lambda root: quiz_body(Q.replace("> Thủ trưởng ký.\n", "")))
case("no-answers")(lambda root: quiz_body("## Ai ký? {#ky}\n\nChưa có phương án.\n"))
case("ignored-attribute")(lambda root: quiz_body(Q.replace("{#ky}", "{#ky partial}")))
case("one-choice")(lambda root: quiz_body(Q.replace("- [ ] Trưởng đoàn\n", "")))
case("empty-choice")(lambda root: quiz_body(Q.replace("- [ ] Trưởng đoàn", "- [ ]")))
case("duplicate-choice")(lambda root: quiz_body(Q.replace("- [ ] Trưởng đoàn", "- [ ] Thủ trưởng")))
case("true-false-ticks", "both")(
    lambda root: quiz_body("## Đúng không? {#d}\n\n- [x] Đúng\n- [x] Sai\n\n> X\n")
)
case("true-false-ticks", "neither")(
    lambda root: quiz_body("## Đúng không? {#d}\n\n- [ ] Đúng\n- [ ] Sai\n\n> X\n")
)
case("no-correct-choice")(lambda root: quiz_body(Q.replace("- [x]", "- [ ]")))
case("all-choices-correct")(lambda root: quiz_body(Q.replace("- [ ]", "- [x]")))
case("empty-answer")(lambda root: quiz_body("## Số? {#so}\n\n=\n\n> X\n"))
case("bad-number")(lambda root: quiz_body("## Số? {#so}\n\n= 45 ± x\n\n> X\n"))
case("duplicate-answer")(lambda root: quiz_body("## Cơ quan? {#cq}\n\n= Thanh tra\n= thanh tra\n\n> X\n"))
case("duplicate-question")(lambda root: quiz_body(Q + "\n" + Q.replace("{#ky}", "{#ky-2}")))
case("duplicate-key")(lambda root: quiz_body(Q + "\n" + Q.replace("thanh tra?", "kiểm tra?")))
case("no-questions")(lambda root: quiz_body("Chỉ có lời giới thiệu.\n"))
case("draw-too-large")(lambda root: quiz_body(Q, "draw: 2\n"))
case("review-never-shown")(lambda root: quiz_body(Q, "review: after_last_attempt\n"))
