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


def legal_entry(number: str, kind: str, title: str, issuer: str, signed: str, in_force: str,
                names: str = "", superseded: str = "") -> str:
    """One document of a test legal registry (courses/_phap-ly.yaml), 7 to 9 lines:
    ``superseded`` is the flow mapping's inside ("by: X, from: dd/mm/yyyy")."""
    lines = [f"  - number: {number}", f"    kind: {kind}", f"    title: {title}", f"    issuer: {issuer}",
             f"    signed: {signed}", f"    in_force: {in_force}",
             f"    source: https://example.vn/{number.split('/')[0]}"]
    if names:
        lines.append(f"    names: [{names}]")
    if superseded:
        lines.append(f"    superseded: {{{superseded}}}")
    return "\n".join(lines) + "\n"


LAW_2025 = legal_entry("84/2025/QH15", "Luật", "Luật Thanh tra", "Quốc hội", "25/06/2025", "01/07/2025",
                       names="Luật Thanh tra 2025")
LAW_2022 = legal_entry("11/2022/QH15", "Luật", "Luật Thanh tra", "Quốc hội", "14/11/2022", "01/07/2023",
                       superseded="by: 84/2025/QH15, from: 01/07/2025")  # deliberately superseded
