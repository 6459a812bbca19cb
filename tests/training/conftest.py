"""An organisation (a province with two sections, another province), positions, people with
accounts, and a synced course with two lessons and a quiz."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from mooc.courses.models import Course
from mooc.courses.sync import sync_tree
from mooc.extensions import db
from mooc.roster.models import OrgUnit, Position, Staff
from tests.conftest import save
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


def make_course(root: Path, extra: str = "") -> Path:
    write(
        root,
        "luat/course.md",
        "---\ntitle: Luật Thanh tra 2025\ncode: LTT\nedition: 2026\n"
        f"summary: Khóa học bắt buộc.\nhours: 2\n{extra}---\n\nGiới thiệu.\n",
    )
    write(root, "luat/01-co-ban/module.md", "---\ntitle: Cơ bản\n---\n")
    write(root, "luat/01-co-ban/01-mot.md", lesson("Bài một", "## A\n\nMột."))
    write(root, "luat/01-co-ban/02-hai.md", lesson("Bài hai", "## A\n\nHai."))
    write(root, "luat/01-co-ban/09-kiem-tra.quiz.md", QUIZ)
    write(
        root,
        "tuy-chon/course.md",
        "---\ntitle: Kỹ năng mềm\ncode: KNM\nedition: 2026\n"
        "summary: Tự chọn.\nhours: 1\n---\n\nGiới thiệu.\n",
    )
    write(root, "tuy-chon/01-mot/module.md", "---\ntitle: Một\n---\n")
    write(root, "tuy-chon/01-mot/01-bai.md", lesson("Bài", "## A\n\nB."))
    return root


@dataclass
class Org:
    province: OrgUnit
    section_a: OrgUnit
    section_b: OrgUnit
    other: OrgUnit
    inspector: Position
    chief: Position
    course_id: int
    optional_id: int
    root: Path


@pytest.fixture
def org(make_app, tmp_path, make_unit):
    root = make_course(tmp_path / "courses")
    app = make_app(COURSES_DIR=str(root))
    province = make_unit("Thanh tra tỉnh Ninh Bình", code="NB", kind="province")
    section_a = make_unit("Phòng 1", parent=province, code="NB-1")
    section_b = make_unit("Phòng 2", parent=province, code="NB-2")
    other = make_unit("Thanh tra TP Hà Nội", code="HN", kind="province")
    inspector, chief = save(
        app,
        Position(code="TTV", title="Thanh tra viên", rank=70),
        Position(code="CTT", title="Chánh Thanh tra", rank=10),
    )
    with app.app_context():
        sync_tree(root)
        db.session.commit()
        course_id = db.session.scalar(sa.select(Course.id).where(Course.key == "luat"))
        optional_id = db.session.scalar(sa.select(Course.id).where(Course.key == "tuy-chon"))
    return app, Org(province, section_a, section_b, other, inspector, chief, course_id, optional_id, root)


@pytest.fixture
def person(org, make_staff, make_user):
    """make a person on the roster with an account: person(unit, position=None, name=...)."""
    app, _org = org

    def factory(
        unit: OrgUnit, position: Position | None = None, name: str = "Nguyễn Văn An", email: str | None = None
    ) -> tuple[Staff, object]:
        staff = make_staff(full_name=name, unit=unit, position=position, email=email)
        user = make_user(email=email, name=name, staff=staff)
        return staff, user

    return factory
