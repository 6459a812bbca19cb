"""Issue 16: a lesson cannot clobber the site's ids or borrow its classes. Authors' ids get the
"u-" prefix (headings, footnotes, {#id}, raw HTML) and every link to them follows, on the page
and from other lessons; classes are only those the Markdown extensions emit. Course files are
cached by the browser only."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from mooc.courses import render as renderer
from mooc.courses import sync as course_sync
from mooc.courses.models import Lesson
from mooc.courses.render import render
from mooc.courses.sync import sync_tree
from mooc.extensions import db
from tests.conftest import login
from tests.courses.tree import lesson, make_tree, write

ROOT = Path(__file__).resolve().parent.parent.parent
ID_RE = re.compile(r'\bid="([^"]*)"')
HREF_FRAGMENT_RE = re.compile(r'href="#([^"]*)"')
CLASS_RE = re.compile(r'\bclass="([^"]*)"')

HOSTILE = """## Mở đầu {#main .site-header .hint}

<div id="attempt-form" class="flash flash-error visually-hidden">Giả mạo</div>

<span id="timer" class="timer k">Giả</span>

Xem [mở đầu](#main), [mục hai](#muc-hai) và chú thích[^1].

## Mục hai

!!! question "Câu hỏi"
    Không phải lớp của trang.

!!! note "Lưu ý"
    Chú ý.

??? warning "Xem thêm"
    Chi tiết.

```python
x = 1  # chú thích
```

[^1]: Một chú thích.
"""
# "!!! question" is refused by check (bad-callout) before it could be synced; the rest syncs.
SYNCABLE = HOSTILE.replace('!!! question "Câu hỏi"', '!!! tip "Câu hỏi"')


def _site_template_classes() -> set[str]:
    found: set[str] = set()
    for template in (ROOT / "mooc").rglob("templates/**/*.html"):
        for value in CLASS_RE.findall(template.read_text(encoding="utf-8")):
            found.update(re.sub(r"\{[^}]*\}", " ", value).split())
    return found


def _site_template_ids() -> set[str]:
    found: set[str] = set()
    for template in (ROOT / "mooc").rglob("templates/**/*.html"):
        found.update(v for v in ID_RE.findall(template.read_text(encoding="utf-8")) if "{" not in v)
    return found


def test_author_ids_are_prefixed_and_every_link_follows():
    rendered = render(HOSTILE)
    ids = ID_RE.findall(rendered.html)
    assert ids and all(i.startswith("u-") for i in ids), ids
    assert "u-main" in ids and "u-attempt-form" in ids and "u-timer" in ids
    # In-page links, the outline and footnotes point at ids that exist.
    fragments = HREF_FRAGMENT_RE.findall(rendered.html)
    assert {"u-main", "u-muc-hai", "u-fn:1", "u-fnref:1"} <= set(fragments)
    assert set(fragments) <= set(ids)
    assert [h["id"] for h in rendered.headings] == ["u-main", "u-muc-hai"]
    assert set(h["id"] for h in rendered.headings) <= set(ids)
    # Idempotent: cleaning again changes nothing (no "u-u-").
    assert "u-u-" not in render(HOSTILE.replace("{#main", "{#u-main")).html


def test_only_the_extensions_classes_survive():
    html = render(HOSTILE).html
    classes = {c for value in CLASS_RE.findall(html) for c in value.split()}
    for author in ("site-header", "hint", "flash", "flash-error", "visually-hidden", "timer", "question"):
        assert author not in classes, author
    assert {"admonition", "admonition-title", "note", "warning", "highlight", "footnote",
            "footnote-ref", "footnote-backref"} <= classes
    # Code-token classes (Pygments) stay allowed on <span>: the site styles them only in .highlight.


def test_author_classes_never_collide_with_the_sites():
    """What the sanitiser lets through is never a class the site's templates use for their own
    elements (a callout kind "hint" would borrow the form hint's style), except the table of
    contents, which the site styles the same whether it or the [TOC] marker made it."""
    allowed = set().union(*renderer.EXTENSION_CLASSES.values())
    assert allowed & _site_template_classes() <= {"toc"}
    assert not any(i.startswith("u-") for i in _site_template_ids())


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = make_tree(tmp_path / "courses")
    write(root, "luat/01-co-ban/02-nguyen-tac.md", lesson("Nguyên tắc", SYNCABLE))
    return root


@pytest.fixture
def trainee(make_app, tree, make_user):
    app = make_app(COURSES_DIR=str(tree))
    with app.app_context():
        sync_tree(tree)
        db.session.commit()
    client = app.test_client()
    assert login(client, make_user().email).status_code == 302
    return app, client


def test_the_lesson_page_keeps_its_own_ids_and_a_working_outline(trainee, tree):
    app, client = trainee
    write(tree, "luat/01-co-ban/02-nguyen-tac.md", lesson("Nguyên tắc", SYNCABLE + "\n## Mục ba\n\nBa.\n"))
    with app.app_context():
        sync_tree(tree)
        db.session.commit()
    page = client.get("/courses/luat/lessons/co-ban/nguyen-tac").get_data(as_text=True)
    ids = ID_RE.findall(page)
    duplicates = [i for i, n in Counter(ids).items() if n > 1]
    assert duplicates == [], duplicates
    assert ids.count("main") == 1  # the site's landmark, not the lesson's heading
    assert 'class="site-header"' in page and page.count('class="site-header"') == 1
    # The lesson's table of contents (3 headings or more) links to the headings' ids.
    toc = page.split('<nav class="toc"', 1)[1].split("</nav>", 1)[0]
    targets = HREF_FRAGMENT_RE.findall(toc)
    assert targets == ["u-main", "u-muc-hai", "u-muc-ba"]
    assert set(targets) <= set(ids)
    # A link from another lesson to a heading here lands on it.
    other = client.get("/courses/luat/lessons/co-ban/khai-niem").get_data(as_text=True)
    assert 'href="/courses/luat/lessons/co-ban/nguyen-tac#u-muc-2"' in other


def test_content_synced_before_is_rendered_again(make_app, tree, monkeypatch):
    """Lessons are rendered at sync and stored: the renderer's version is part of every source
    hash, so the first sync after an upgrade re-renders all of them (docs/authoring.md)."""
    app = make_app(COURSES_DIR=str(tree))
    with app.app_context():
        monkeypatch.setattr(course_sync, "RENDER_VERSION", "1")  # the renderer before issue 16
        sync_tree(tree)
        db.session.commit()
        monkeypatch.undo()
        report = sync_tree(tree)
        db.session.commit()
        lessons = db.session.scalars(sa.select(Lesson)).all()
        assert report.rendered >= len(lessons) == 3
        for row in lessons:
            assert all(i.startswith("u-") for i in ID_RE.findall(row.html)), row.key


def test_course_files_are_cached_by_the_browser_only(trainee):
    _app, client = trainee
    with client.get("/courses/luat/files/01-co-ban/images/so-do.svg") as picture:
        assert picture.status_code == 200
        directives = {d.strip() for d in picture.headers["Cache-Control"].split(",")}
        assert "private" in directives and "max-age=3600" in directives
        assert "public" not in directives, picture.headers["Cache-Control"]
