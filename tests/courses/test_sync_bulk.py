"""The cold sync's bulk paths write what the one-document-at-a-time paths wrote.

One Markdown object reused for every document, rendering in forked worker processes, the
search index cut in worker processes, rows written by one flush, git asked once per sync:
each is checked here against the plain way, on the shipped courses, the benchmark's generated
courses and the authoring guide. No time is asserted (speed: bench/courses_sync.py).
"""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from bench.courses_sync import generate
from mooc import parallel
from mooc.courses import render
from mooc.courses import sync as sync_module
from mooc.courses.check import check_tree
from mooc.courses.models import Course, Lesson, Module
from mooc.courses.sync import git_commit, sync_tree
from mooc.extensions import db
from mooc.search.index import section_rows
from mooc.search.models import SearchSection
from tests.courses.tree import make_tree, write

ROOT = Path(__file__).resolve().parent.parent.parent


def documents(root: Path) -> list[tuple[Path, str, object]]:
    """Every course, module and lesson file of the tree: (path, body, link map)."""
    result = check_tree(root)
    assert not result.errors, result.errors[:3]
    found = []
    for course in result.courses:
        docs = [course.doc] + [m.doc for m in course.modules] + [i.doc for i in course.items()]
        found += [(doc.path, doc.body, result.links) for doc in docs]
    return found


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("generated") / "courses"
    generate(root, 4)
    return root


def fresh(body: str, links, path: Path) -> render.Rendered:
    """The document rendered by a Markdown object built for it alone (as every render was)."""
    render._local.converter = None  # forget this thread's reused object: build one for this file
    return render.render(body, links.resolver(path), links.media_resolver(path))


def test_a_reused_markdown_object_renders_every_document_as_a_fresh_one(generated, tmp_path):
    first = render._converter()
    render._local.converter = None
    assert render._converter() is not first  # fresh() does build a new Markdown object
    docs = documents(ROOT / "courses") + documents(generated) + documents(make_tree(tmp_path / "t"))
    expected = [fresh(body, links, path) for path, body, links in docs]
    guide = (ROOT / "docs" / "authoring.md").read_text(encoding="utf-8")
    render._local.converter = None
    guide_fresh = render.render(guide)
    for order in (list(range(len(docs))), list(reversed(range(len(docs))))):
        render.render(guide)  # whatever came before (footnotes, abbreviations, ids) must not leak
        for index in order:
            path, body, links = docs[index]
            got = render.render(body, links.resolver(path), links.media_resolver(path))
            assert got == expected[index], path
    assert render.render(guide) == guide_fresh
    assert len(docs) > 100


def stored(app) -> dict[str, object]:
    with app.app_context():
        return {
            "lessons": {(x.course_id, x.key): (x.html, x.text, x.headings)
                        for x in db.session.scalars(sa.select(Lesson))},
            "modules": {(x.course_id, x.key): x.intro_html for x in db.session.scalars(sa.select(Module))},
            "courses": {x.key: x.intro_html for x in db.session.scalars(sa.select(Course))},
            "sections": sorted(
                (r.id, r.anchor, r.heading, r.body, r.title_words, r.heading_words, r.body_words)
                for r in db.session.scalars(sa.select(SearchSection))
            ),
        }


def test_a_cold_sync_in_worker_processes_writes_what_rendering_each_file_here_writes(
    app, generated, monkeypatch
):
    if parallel.workers_for(10**6) == 0:
        pytest.skip("one CPU: no worker processes")
    monkeypatch.setattr(parallel, "MIN_ITEMS", 2)
    with app.app_context():
        report = sync_tree(generated)
        db.session.commit()
        assert report.render_workers >= 2 and report.rendered == 4 * (1 + 15)  # course intros, lessons
        links = check_tree(generated).links
        vector = db.engine.dialect.name == "postgresql"
        lessons = list(db.session.scalars(sa.select(Lesson).order_by(Lesson.id)))
        for lesson in lessons:
            path = generated / lesson.source_path
            want = fresh(path.read_text(encoding="utf-8").split("---\n", 2)[2], links, path)
            assert (lesson.html, lesson.text, lesson.headings) == (want.html, want.text, want.headings)
        sections = sorted(
            (r["id"], r["anchor"], r["heading"], r["body"], r["title_words"], r["heading_words"],
             r["body_words"])
            for x in lessons for r in section_rows(x.id, x.course_id, x.title, x.html, vector)
        )
    assert stored(app)["sections"] == sections  # (PostgreSQL's tsvector is made of these words)


def test_the_search_index_takes_the_sections_the_render_workers_cut(app, generated, monkeypatch):
    """A cold sync cuts each lesson into sections and words in its render workers: this process
    cuts none of them again, and what it stores is what cutting each lesson here stores. A cut
    made from other HTML (or another title) than the lesson's is not used."""
    from mooc.search import index

    if parallel.workers_for(10**6) == 0:
        pytest.skip("one CPU: no worker processes")
    monkeypatch.setattr(parallel, "MIN_ITEMS", 2)
    here = []  # cuts made in this process (the workers' calls count in their own copy)
    real = index.section_values
    monkeypatch.setattr(index, "section_values", lambda *args, **kw: here.append(1) or real(*args, **kw))
    cut_in_workers = []  # the lessons the index sent to workers of its own (a second fork)
    real_map = parallel.fork_map
    monkeypatch.setattr(parallel, "fork_map", lambda f, items, *a, **k: (
        f.__module__ == index.__name__ and cut_in_workers.extend(items), real_map(f, items, *a, **k))[1])
    with app.app_context():
        sync_tree(generated)
        db.session.commit()
        assert here == [] and cut_in_workers == []
        vector = db.engine.dialect.name == "postgresql"
        lessons = list(db.session.scalars(sa.select(Lesson).order_by(Lesson.id)))
        want = sorted(
            (r["id"], r["anchor"], r["heading"], r["body"], r["title_words"], r["heading_words"],
             r["body_words"])
            for x in lessons for r in real_rows(real, x, vector)
        )
        got = sorted(
            (r.id, r.anchor, r.heading, r.body, r.title_words, r.heading_words, r.body_words)
            for r in db.session.scalars(sa.select(SearchSection))
        )
        assert got == want  # (PostgreSQL's tsvector is made of these words)
        first, second = lessons[0], lessons[1]
        stale = real(first.title, "<p>khác hẳn</p>", vector)
        retitled = real("Tên khác", second.html, vector)
        monkeypatch.setattr(parallel, "MIN_ITEMS", 64)  # two lessons: cut here, where they are counted
        index.update_lessons([first.id, second.id], {first.id: (first.title, "<p>khác hẳn</p>", stale),
                                                     second.id: ("Tên khác", second.html, retitled)})
        assert len(here) == 2  # both cut again, from what the lessons hold
        bodies = db.session.scalars(sa.select(SearchSection.body).where(SearchSection.lesson_id == first.id))
        assert "khác hẳn" not in " ".join(bodies)
        db.session.rollback()


def real_rows(cut, lesson, vector: bool) -> list[dict]:
    from mooc.search import index

    return index._rows(lesson.id, lesson.course_id, cut(lesson.title, lesson.html, vector))


def test_renderings_ahead_are_taken_in_any_order_while_the_workers_go_on(generated, monkeypatch):
    if parallel.workers_for(10**6) == 0:
        pytest.skip("one CPU: no worker processes")
    monkeypatch.setattr(parallel, "MIN_ITEMS", 2)
    docs = documents(generated)
    jobs = [(path, body, None) for path, body, _links in docs]
    links = docs[0][2]
    with sync_module.render_ahead(jobs, links, "sqlite") as (ahead, workers):
        assert workers >= 2
        assert ahead.pop((generated / "nothing.md", "x")) is None  # not rendered ahead: at once
        for path, body, _title in reversed(jobs):  # the last first: the others wait to be taken
            rendered, title, prepared = ahead.pop((path, body))
            assert rendered == fresh(body, links, path) and title is None and prepared is None
        assert ahead.pop((jobs[0][0], jobs[0][1])) is None  # taken once


def test_worker_processes_are_never_forked_from_a_threaded_process(monkeypatch):
    monkeypatch.setattr(parallel, "MIN_ITEMS", 2)
    assert parallel.workers_for(100) == (0 if parallel.workers_for(10**6) == 0 else parallel.workers_for(100))
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert parallel.workers_for(10**6) == 0
        assert parallel.fork_map(abs, [-1, -2, -3]) == ([1, 2, 3], 0)
    finally:
        stop.set()
        thread.join()


def test_a_cold_sync_writes_its_rows_in_one_flush(app, generated):
    inserts: dict[str, int] = {}
    flushes = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO"):
            table = statement.split()[2].strip('"')
            inserts[table] = inserts.get(table, 0) + 1

    with app.app_context():
        session = db.session()
        sa.event.listen(db.engine, "before_cursor_execute", count)
        sa.event.listen(session, "after_flush", lambda *args: flushes.append(1))
        try:
            sync_tree(generated)  # 4 courses, 12 modules, 60 lessons
            db.session.commit()
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
        postgresql = db.engine.dialect.name == "postgresql"
    # It was a flush per course and per module, each to learn the new row's id (16 here):
    # now the new rows, the content hashes (which name the modules' ids), the sync's record.
    assert len(flushes) <= 3
    if postgresql:  # one multi-row INSERT per table (SQLite's driver returns ids row by row)
        assert inserts["courses"] == 1 and inserts["course_modules"] == 1 and inserts["lessons"] == 1


def test_git_is_asked_twice_per_sync_and_says_what_it_said_per_course(app, tmp_path, monkeypatch):
    root = make_tree(tmp_path / "repo" / "courses")
    write(root, "khac/course.md",
          "---\ntitle: Khác\ncode: KH\nedition: 2026\nsummary: Khác.\nhours: 1\n---\n\nKhác.\n")
    write(root, "khac/01-a/module.md", "---\ntitle: A\n---\n")
    write(root, "khac/01-a/01-b.md", "---\ntitle: B\nminutes: 1\n---\n\nB.\n")
    git = ["git", "-C", str(tmp_path / "repo"), "-c", "user.email=a@b.c", "-c", "user.name=a"]
    subprocess.run([*git, "init", "-q"], check=True)  # noqa: S603
    subprocess.run([*git, "add", "."], check=True)  # noqa: S603
    subprocess.run([*git, "commit", "-qm", "courses"], check=True)  # noqa: S603
    write(root, "khac/01-a/01-b.md", "---\ntitle: B\nminutes: 2\n---\n\nB đã sửa.\n")  # khac is dirty
    expected = {"luat": git_commit(root / "luat"), "khac": git_commit(root / "khac")}
    assert expected["khac"] == expected["luat"] + "-dirty"
    calls = []
    real_run = subprocess.run

    def counting_run(args, *rest, **options):
        calls.append(args)
        return real_run(args, *rest, **options)

    monkeypatch.setattr(sync_module.subprocess, "run", counting_run)
    with app.app_context():
        sync_tree(root)
        db.session.commit()
        got = {c.key: c.source_commit for c in db.session.scalars(sa.select(Course))}
    assert got == expected
    assert len(calls) <= 4  # it was two per course, and two for the tree


def test_the_fast_text_reader_reads_what_the_html_parser_reads(generated, tmp_path):
    from mooc.search import sections

    docs = documents(ROOT / "courses") + documents(generated) + documents(make_tree(tmp_path / "t"))
    samples = [
        '<p>a &amp; b</p>', 'x <b>y</b> &amp; z', '<br/>a<br />b<P>Upper</P>', "<img alt='a>b' src=x>c",
        '<span class="lesson-media-links"><a href="x">tải về</a></span>sau',
        '<video controls><source src="a"><p>fallback</p><video>x</video>y</video>sau',
        '<p title="a > b">q</p>&#1234; &#x41; &nbsp;x', 'a < b & c', '<!-- c -->x', '<script>x</script>y',
    ]
    for path, body, links in docs:
        html = render.render(body, links.resolver(path), links.media_resolver(path)).html
        bare = sections._FOOTNOTE_LINKS_RE.sub("", html)
        samples += [html] + [m.group(3) for m in sections._HEADING_RE.finditer(bare)]
        samples += sections._HEADING_RE.split(bare)
    fast = sum(render._fast_parts(html) is not None for html in samples)
    assert fast > len(samples) * 0.9  # the sanitiser's HTML takes the fast path
    for html in samples:
        assert render.html_to_text(html) == render.html_to_text_by_parser(html), html
