"""Sync: one transaction, idempotent, archives instead of deleting, progress survives."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from mooc.courses import render
from mooc.courses.models import Course, CourseSync, Lesson, LessonProgress, Module
from mooc.courses.progress import mark_done
from mooc.courses.sync import SyncRefused, sync_tree
from mooc.extensions import db
from tests.courses.tree import lesson, make_tree, write


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "courses")


def sync(app, root: Path):
    with app.app_context():
        report = sync_tree(root)
        db.session.commit()
        return report


def lessons(app) -> dict[str, tuple[int, bool, str]]:
    with app.app_context():
        return {row.key: (row.id, row.archived, row.title) for row in db.session.scalars(sa.select(Lesson))}


def test_first_sync_adds_everything_and_a_second_changes_nothing(app, tree):
    first = sync(app, tree)
    assert len(first.added) == 1 + 2 + 3  # course, modules, lessons
    assert first.rendered == 1 + 1 + 3  # course intro, one module intro, lessons
    before = render.render_calls
    second = sync(app, tree)
    assert not second.has_changes and second.unchanged == 6
    assert second.rendered == 0 and render.render_calls == before  # nothing re-rendered
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CourseSync)) == 2
        course = db.session.scalar(sa.select(Course))
        assert course.content_hash and course.title == "Luật Thanh tra"


def test_links_and_images_are_rewritten_to_app_urls(app, tree):
    sync(app, tree)
    with app.app_context():
        page = db.session.scalar(sa.select(Lesson).where(Lesson.key == "co-ban/khai-niem"))
        assert 'href="/courses/luat/lessons/co-ban/nguyen-tac#u-muc-2"' in page.html  # author ids: u-
        assert 'src="/courses/luat/files/01-co-ban/images/so-do.svg"' in page.html
        assert 'alt="Sơ đồ hệ thống"' in page.html
        assert page.headings == [{"id": "u-thanh-tra-la-gi", "text": "Thanh tra là gì", "level": 2}]
        assert "Thanh tra viên làm việc." in page.text and "<" not in page.text


def test_progress_survives_renumbering_editing_and_moving(app, tree, make_user):
    sync(app, tree)
    user = make_user()
    ids = lessons(app)
    with app.app_context():
        mark_done(user.id, ids["co-ban/nguyen-tac"][0], course_id=1)
        db.session.commit()
    # renumber 02 -> 05 and edit the text: same identity
    (tree / "luat/01-co-ban/02-nguyen-tac.md").rename(tree / "luat/01-co-ban/05-nguyen-tac.md")
    write(tree, "luat/01-co-ban/05-nguyen-tac.md", lesson("Nguyên tắc (sửa)", "## Mục 2\n\nMới."))
    write(
        tree,
        "luat/01-co-ban/01-khai-niem.md",
        lesson("Khái niệm", "## A\n\n![Sơ đồ](images/so-do.svg)\n[bài 2](05-nguyen-tac.md)"),
    )
    report = sync(app, tree)
    assert "lesson luat/co-ban/nguyen-tac" in report.changed
    after = lessons(app)
    assert after["co-ban/nguyen-tac"][0] == ids["co-ban/nguyen-tac"][0]
    assert after["co-ban/nguyen-tac"][2] == "Nguyên tắc (sửa)"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LessonProgress)) == 1


def test_removed_lessons_are_archived_with_their_progress_and_can_come_back(app, tree, make_user):
    sync(app, tree)
    user = make_user()
    lesson_id = lessons(app)["nang-cao/quy-trinh"][0]
    with app.app_context():
        mark_done(user.id, lesson_id, course_id=1)
        db.session.commit()
    moved = (tree / "luat/02-nang-cao/01-quy-trinh.md").read_text()
    (tree / "luat/02-nang-cao/01-quy-trinh.md").unlink()
    report = sync(app, tree)
    assert report.archived == ["lesson luat/nang-cao/quy-trinh"]
    assert lessons(app)["nang-cao/quy-trinh"] == (lesson_id, True, "Quy trình")
    with app.app_context():
        assert db.session.scalar(sa.select(LessonProgress.lesson_id)) == lesson_id
    write(tree, "luat/02-nang-cao/03-quy-trinh.md", moved)
    report = sync(app, tree)
    assert report.restored == ["lesson luat/nang-cao/quy-trinh"]
    assert lessons(app)["nang-cao/quy-trinh"][:2] == (lesson_id, False)


def test_an_id_keeps_identity_across_a_rename(app, tree):
    write(tree, "luat/01-co-ban/02-nguyen-tac.md", lesson("N", "## A\n\nB", extra="id: nguyen-tac-chung\n"))
    write(tree, "luat/01-co-ban/01-khai-niem.md", lesson("K", "## A\n\n![Sơ đồ](images/so-do.svg)"))
    sync(app, tree)
    original = lessons(app)["nguyen-tac-chung"][0]
    (tree / "luat/01-co-ban/02-nguyen-tac.md").rename(tree / "luat/02-nang-cao/02-ten-moi.md")
    sync(app, tree)
    assert lessons(app)["nguyen-tac-chung"][:2] == (original, False)


def test_a_tree_with_errors_is_refused_and_nothing_changes(app, tree):
    sync(app, tree)
    write(tree, "luat/01-co-ban/02-nguyen-tac.md", lesson("Đổi tên", "## A\n\n[x](khong-co.md)"))
    with app.app_context(), pytest.raises(SyncRefused) as refused:
        sync_tree(tree)
    assert refused.value.problems[0].code == "broken-link"
    assert lessons(app)["co-ban/nguyen-tac"][2] == "Nguyên tắc"  # the last good version stays


def test_a_failure_part_way_leaves_the_database_as_it_was(app, tree, monkeypatch):
    sync(app, tree)
    write(tree, "luat/01-co-ban/02-nguyen-tac.md", lesson("Sửa một", "## A\n\nB"))
    write(tree, "luat/02-nang-cao/01-quy-trinh.md", lesson("Sửa hai", "## A\n\nB"))
    real_render = render.render
    calls = {"n": 0}

    def failing_render(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk gone")
        return real_render(*args, **kwargs)

    monkeypatch.setattr("mooc.courses.sync.render", failing_render)
    with app.app_context():
        with pytest.raises(RuntimeError):
            sync_tree(tree)
        db.session.rollback()
    titles = {key: title for key, (_id, _arch, title) in lessons(app).items()}
    assert titles["co-ban/nguyen-tac"] == "Nguyên tắc" and titles["nang-cao/quy-trinh"] == "Quy trình"


def test_syncing_one_course_folder_leaves_the_others(app, tree):
    write(tree, "khac/course.md", "---\ntitle: Khác\ncode: K\nedition: 2026\nsummary: S\nhours: 1\n---\n")
    write(tree, "khac/01-mot/module.md", "---\ntitle: Một\n---\n")
    write(tree, "khac/01-mot/01-bai.md", lesson("Bài", "## A\n\nB"))
    sync(app, tree)
    report = sync(app, tree / "khac")
    assert not report.archived
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count()).select_from(Course).where(Course.archived.is_(False))
            )
            == 2
        )


def test_removing_a_module_archives_it_and_its_lessons(app, tree):
    sync(app, tree)
    for path in sorted((tree / "luat/02-nang-cao").rglob("*"), reverse=True):
        path.unlink()
    (tree / "luat/02-nang-cao").rmdir()
    report = sync(app, tree)
    assert set(report.archived) == {"module luat/nang-cao", "lesson luat/nang-cao/quy-trinh"}
    with app.app_context():
        assert db.session.scalar(sa.select(Module.archived).where(Module.key == "nang-cao")) is True


def test_sync_command(app, tree):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["courses", "sync", str(tree)])
    assert result.exit_code == 0, result.output
    assert "6 added" in result.output
    again = runner.invoke(args=["courses", "sync", str(tree)])
    assert "no changes" in again.output
    write(tree, "luat/01-co-ban/02-nguyen-tac.md", "no front matter")
    refused = runner.invoke(args=["courses", "sync", str(tree)])
    assert refused.exit_code == 1
    assert "02-nguyen-tac.md:1: error" in refused.output
