"""A small, valid course tree written into a temporary folder, for tests to break on purpose."""

from __future__ import annotations

from pathlib import Path

SVG = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10"/></svg>'


def write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def lesson(title: str, body: str, minutes: int = 5, extra: str = "") -> str:
    return f"---\ntitle: {title}\nminutes: {minutes}\n{extra}---\n\n{body}\n"


def make_tree(root: Path) -> Path:
    """courses/luat/ with two modules, three lessons, a picture and links between them."""
    write(
        root,
        "luat/course.md",
        "---\ntitle: Luật Thanh tra\ncode: LTT\nedition: 2026\n"
        "summary: Khóa học thử.\nhours: 2\nlanguage: vi\n---\n\nGiới thiệu. "
        "Bắt đầu với [bài 1](01-co-ban/01-khai-niem.md).\n",
    )
    write(root, "luat/01-co-ban/module.md", "---\ntitle: Cơ bản\n---\n")
    write(
        root,
        "luat/01-co-ban/01-khai-niem.md",
        lesson(
            "Khái niệm",
            "## Thanh tra là gì\n\nThanh tra viên làm việc.\n\n"
            "![Sơ đồ hệ thống](images/so-do.svg)\n\nĐọc tiếp [bài 2](02-nguyen-tac.md#muc-2).\n",
        ),
    )
    write(
        root,
        "luat/01-co-ban/02-nguyen-tac.md",
        lesson("Nguyên tắc", "## Mục 1\n\nTuân theo pháp luật.\n\n## Mục 2\n\nKhách quan.\n"),
    )
    write(root, "luat/01-co-ban/images/so-do.svg", SVG)
    write(root, "luat/02-nang-cao/module.md", "---\ntitle: Nâng cao\n---\n\nChương hai.\n")
    write(
        root,
        "luat/02-nang-cao/01-quy-trinh.md",
        lesson("Quy trình", "## Các bước\n\nXem lại [khái niệm](../01-co-ban/01-khai-niem.md).\n"),
    )
    return root
