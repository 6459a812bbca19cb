"""A courses folder with four small courses and a programme of them, for the programme tests."""

from __future__ import annotations

from pathlib import Path

from tests.courses.tree import lesson, write

QUIZ = """---
title: Kiểm tra
pass_percent: 50
---

## Ai ký quyết định thanh tra? {#ky}

- [ ] Thanh tra viên
- [x] Thủ trưởng cơ quan thanh tra

> Thủ trưởng.
"""

PROGRAM = """---
title: "Bồi dưỡng thanh tra viên mới"
code: "CT-MOI"
summary: "Lộ trình thử."
---

Giới thiệu chương trình.

## Các bước

1. co-ban
2. [Tiếp dân](../tiep-dan/course.md) (sau bước trước)
3. 1 trong: van-ban, giam-sat (sau bước trước)
"""


def course(root: Path, key: str, title: str, code: str, quiz: bool = False) -> None:
    write(root, f"{key}/course.md", f"---\ntitle: {title}\ncode: {code}\nedition: 2026\n"
          "summary: Khóa học thử.\nhours: 1\n---\n\nGiới thiệu.\n")
    write(root, f"{key}/01-mot/module.md", "---\ntitle: Một\n---\n")
    write(root, f"{key}/01-mot/01-bai.md", lesson(f"Bài của {title}", "## A\n\nNội dung."))
    if quiz:
        write(root, f"{key}/01-mot/09-kiem-tra.quiz.md", QUIZ)


def make_programs_tree(root: Path, program: str = PROGRAM) -> Path:
    course(root, "co-ban", "Nghiệp vụ cơ bản", "CB")
    course(root, "tiep-dan", "Tiếp công dân", "TD", quiz=True)
    course(root, "van-ban", "Văn bản", "VB")
    course(root, "giam-sat", "Giám sát số", "GS")
    write(root, "_chuong-trinh/moi.md", program)
    return root
