"""A small course tree made to exercise each search rule, written into a temporary folder.

Two courses. Lesson keys (course "luat"): co-ban/thanh-tra-vien (the words in the title),
co-ban/doan-thanh-tra (in a heading), co-ban/ho-so (in passing, in the text),
co-ban/khanh-hoa (both spellings of Hòa, Điều, điểm đ), co-ban/quyet-dinh (the phrase
"quyết định thanh tra", and markup-like text), co-ban/ra-soat (the same words, apart),
luu-tru/tai-lieu-mat (to be archived). Course "ksnb": chung/thanh-tra-vien-noi-bo.
The quiz's question, answers and explanation use words found nowhere else (tàu ngầm, Nemo,
Nautilus, hoa tiêu).
"""

from __future__ import annotations

from pathlib import Path

from tests.courses.tree import lesson, write

COURSE = "---\ntitle: {title}\ncode: {code}\nedition: 2026\nsummary: Thử.\nhours: 1\n---\n\nMở đầu.\n"

QUIZ = """---
title: Kiểm tra nhanh
---

## Ai lái tàu ngầm? {#lai-tau}

Câu hỏi về tàu ngầm.

- [x] Thuyền trưởng Nemo
- [ ] Hoa tiêu

> Vì đó là tàu Nautilus.
"""


def make_corpus(root: Path) -> Path:
    write(root, "luat/course.md", COURSE.format(title="Luật Thanh tra", code="LTT"))
    write(root, "luat/01-co-ban/module.md", "---\ntitle: Cơ bản\n---\n")
    write(root, "luat/01-co-ban/01-thanh-tra-vien.md", lesson(
        "Thanh tra viên",
        "Giới thiệu chung về ngạch công chức.\n\n"
        "## Tiêu chuẩn bổ nhiệm\n\nNgười được bổ nhiệm phải trung thực.\n",
    ))
    write(root, "luat/01-co-ban/02-doan-thanh-tra.md", lesson(
        "Đoàn thanh tra",
        "Đoàn làm việc theo kế hoạch.\n\n"
        "## Vai trò của thanh tra viên\n\nMỗi thành viên có nhiệm vụ riêng.\n",
    ))
    write(root, "luat/01-co-ban/03-ho-so.md", lesson(
        "Hồ sơ cuộc thanh tra",
        "Hồ sơ gồm quyết định, biên bản, báo cáo và các tài liệu khác do Đoàn thu thập. "
        "Mọi tài liệu được đánh số, ghi ngày nhận và người giao.\n\n"
        "## Lưu trữ\n\nViệc lưu trữ do một thanh tra viên trong Đoàn thực hiện, theo mẫu dùng ở "
        "Khánh Hòa, sau khi kết thúc cuộc thanh tra.\n",
    ))
    write(root, "luat/01-co-ban/04-khanh-hoa.md", lesson(
        "Làm việc tại Khánh Hòa",
        "Đoàn đến Khánh Hoà ngày 5/3.\n\n## Điều 7 và điểm đ\n\n"
        "Theo điểm đ khoản 1 Điều 7, Đoàn phải báo cáo.\n",
    ))
    write(root, "luat/01-co-ban/05-quyet-dinh.md", lesson(
        "Ký ban hành",
        "Người ký quyết định thanh tra là thủ trưởng cơ quan.\n\n"
        "## So sánh\n\nSo sánh `x < y && z` rồi ghi `<script>alert(1)</script>` vào sổ.\n",
    ))
    write(root, "luat/01-co-ban/06-ra-soat.md", lesson(
        "Rà soát",
        "Thanh toán đúng hạn, sau đó tra cứu quyết định, rồi định lại.\n",
    ))
    write(root, "luat/01-co-ban/09-kiem-tra.quiz.md", QUIZ)
    write(root, "luat/02-luu-tru/module.md", "---\ntitle: Lưu trữ\n---\n")
    write(root, "luat/02-luu-tru/01-tai-lieu-mat.md", lesson(
        "Tài liệu mật", "Quy trình niêm phong hộp sắt.\n",
    ))
    write(root, "ksnb/course.md", COURSE.format(title="Kiểm soát nội bộ", code="KSNB"))
    write(root, "ksnb/01-chung/module.md", "---\ntitle: Chung\n---\n")
    write(root, "ksnb/01-chung/01-thanh-tra-vien-noi-bo.md", lesson(
        "Thanh tra viên nội bộ",
        "Kiểm soát viên phối hợp với các phòng. Nghiên cứu kỹ quyết định trước khi tra hồ sơ.\n",
    ))
    return root
