"""Benchmark: search over 5,000 generated lessons (about 30,000 sections).

    python bench/search.py [--lessons 5000] [--queries 200] [--database-url URL]

Generates the lessons straight into the database (50 courses x 4 modules x 25 lessons; each
lesson 4-6 sections under h2 headings, about 450 words of text made by a word-pair chain
learned from the real lessons in courses/, so word frequencies and phrases look like the
sector's), builds the index with ``mooc.search.index.rebuild()``, then times ~200 varied
searches through ``mooc.search.query.search()`` (ranking, the page's rows, highlighting: all a
results page does but render the template): common and rare words, with and without
diacritics, pairs, phrases in quotes, prefixes, one course, page 2, words found nowhere.
Reference: ``SELECT ... FROM lessons WHERE id = :id`` (primary key) through the same session.

A temporary SQLite file unless --database-url is given: that database is emptied!
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from mooc import create_app  # noqa: E402
from mooc.courses.models import Course, Lesson, Module  # noqa: E402
from mooc.courses.render import slugify  # noqa: E402
from mooc.extensions import db  # noqa: E402
from mooc.search.index import rebuild  # noqa: E402
from mooc.search.query import search  # noqa: E402
from mooc.text import fold  # noqa: E402

COURSES, MODULES = 50, 4
WORD_RE = re.compile(r"[^\W\d_]+")


class Chain:
    """Word pairs of the real lessons: text that reads like the sector's, at any length."""

    def __init__(self, text: str, rng: random.Random) -> None:
        words = WORD_RE.findall(text)
        self.rng = rng
        self.words = words
        self.counts = Counter(w.lower() for w in words)
        self.next: dict[str, list[str]] = defaultdict(list)
        for a, b in zip(words, words[1:], strict=False):
            self.next[a.lower()].append(b.lower())

    def run(self, n: int) -> list[str]:
        word = self.rng.choice(self.words).lower()
        out = [word]
        while len(out) < n:
            followers = self.next.get(word)
            word = self.rng.choice(followers) if followers and self.rng.random() < 0.9 else \
                self.rng.choice(self.words).lower()
            out.append(word)
        return out

    def sentence(self, n: int) -> str:
        words = self.run(n)
        return " ".join(words)[0].upper() + " ".join(words)[1:] + "."


def lesson_html(chain: Chain, rng: random.Random) -> tuple[str, str, list[dict]]:
    parts = [f"<p>{chain.sentence(rng.randint(30, 60))}</p>"]
    headings = []
    for _ in range(rng.randint(4, 6)):
        heading = chain.sentence(rng.randint(3, 6)).rstrip(".")
        anchor = slugify(heading)
        suffix = sum(1 for h in headings if h["id"].startswith(anchor))
        anchor = f"{anchor}_{suffix}" if suffix else anchor
        headings.append({"id": anchor, "text": heading, "level": 2})
        parts.append(f'<h2 id="{anchor}">{heading}</h2>')
        for _ in range(rng.randint(1, 3)):
            parts.append(f"<p>{chain.sentence(rng.randint(30, 70))}</p>")
        if rng.random() < 0.3:
            parts.append("<ul>" + "".join(f"<li>{chain.sentence(8)}</li>" for _ in range(3)) + "</ul>")
    html = "\n".join(parts)
    text = re.sub(r"<[^>]+>", "\n", html)
    return html, "\n".join(line for line in text.split("\n") if line.strip()), headings


def generate(lessons: int, chain: Chain, rng: random.Random) -> None:
    per_module = max(1, -(-lessons // (COURSES * MODULES)))  # rounded up; stops at `lessons`
    made = 0
    for c in range(COURSES):
        course = Course(key=f"khoa-{c:03d}", code=f"K{c:03d}", title=chain.sentence(5).rstrip("."),
                        edition=2026, source_dir=f"khoa-{c:03d}")
        db.session.add(course)
        db.session.flush()
        for m in range(MODULES):
            module = Module(course_id=course.id, key=f"chuong-{m}", position=m,
                            title=chain.sentence(4).rstrip("."))
            db.session.add(module)
            db.session.flush()
            rows = []
            for n in range(per_module):
                if made >= lessons:
                    break
                html, text, headings = lesson_html(chain, rng)
                rows.append({"course_id": course.id, "module_id": module.id, "key": f"chuong-{m}/bai-{n}",
                             "position": n, "title": chain.sentence(rng.randint(4, 9)).rstrip("."),
                             "minutes": 10, "html": html, "text": text, "headings": headings})
                made += 1
            if rows:
                db.session.execute(sa.insert(Lesson), rows)
    db.session.commit()


Search = tuple[str, str, int | None, int]  # kind, text, course id, page


def queries(chain: Chain, rng: random.Random, count: int, course_ids: list[int]) -> list[Search]:
    """(kind, text, course id, page) for ``count`` searches in a fixed random order."""
    ranked = [w for w, _ in chain.counts.most_common()]
    common, rare = ranked[:150], [w for w in ranked if 2 <= chain.counts[w] <= 4]
    made: list[Search] = []
    plan = [("common word", 30), ("rare word", 20), ("two words", 35), ("three words, no diacritics", 20),
            ("phrase in quotes", 30), ("prefix*", 15), ("one course", 20), ("page 2", 15),
            ("nothing found", 15)]
    for kind, n in plan:
        for _ in range(round(n * count / 200)):
            page, course = 1, None
            if kind == "common word":
                text = rng.choice(common)
            elif kind == "rare word":
                text = rng.choice(rare)
            elif kind == "two words":
                text = " ".join(chain.run(2))
            elif kind == "three words, no diacritics":
                text = fold(" ".join(chain.run(3)))
            elif kind == "phrase in quotes":
                text = '"' + " ".join(chain.run(rng.randint(2, 4))) + '"'
            elif kind == "prefix*":
                word = rng.choice([w for w in common if len(w) >= 4])
                text = word[:3] + "*"
            elif kind == "one course":
                text, course = " ".join(chain.run(2)), rng.choice(course_ids)
            elif kind == "page 2":
                text, page = rng.choice(common), 2
            else:
                text = f"zyx{rng.randint(0, 10**6)} qwv"
            if rng.random() < 0.3:
                text = text.upper()
            made.append((kind, text, course, page))
    rng.shuffle(made)
    return made


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lessons", type=int, default=5000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--database-url", default=None)
    options = parser.parse_args()
    rng = random.Random(11)
    source = "\n".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "courses").glob("*/*/*.md"))
                       if not p.name.endswith(".quiz.md") and p.name != "module.md")
    chain = Chain(source, rng)
    with tempfile.TemporaryDirectory() as tmp:
        url = options.database_url or f"sqlite:///{tmp}/bench.sqlite3"
        app = create_app({"ENV": "testing", "DATABASE_URL": url, "INSTANCE_DIR": tmp, "SECRET_KEY": "b" * 40})
        with app.app_context():
            metadata = sa.MetaData()
            metadata.reflect(db.engine)
            with db.engine.begin() as connection:
                metadata.drop_all(connection)
                connection.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
            upgrade()
            start = time.perf_counter()
            generate(options.lessons, chain, rng)
            generated = time.perf_counter() - start
            start = time.perf_counter()
            lessons, sections = rebuild()
            db.session.commit()
            indexed = time.perf_counter() - start
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(sa.text("ANALYZE"))
            course_ids = list(db.session.scalars(sa.select(Course.id)))
            lesson_ids = list(db.session.scalars(sa.select(Lesson.id)))
            plan = queries(chain, rng, options.queries, course_ids)

            for _kind, text, course, page in plan[:20]:  # warm the caches, as a running server has them
                search(text, course, page)
            db.session.rollback()
            timings: dict[str, list[float]] = defaultdict(list)
            cpu: list[float] = []
            found: list[int] = []
            for kind, text, course, page in plan:
                start, start_cpu = time.perf_counter(), time.process_time()
                results = search(text, course, page)
                timings[kind].append(time.perf_counter() - start)
                cpu.append(time.process_time() - start_cpu)
                found.append(results.total)
                db.session.rollback()  # one transaction per request, as in the app
            reference: list[float] = []
            statement = sa.select(Lesson.id, Lesson.title, Lesson.key).where(Lesson.id == sa.bindparam("id"))
            for lesson_id in rng.sample(lesson_ids, len(plan)):
                start = time.perf_counter()
                db.session.execute(statement, {"id": lesson_id}).one()
                reference.append(time.perf_counter() - start)
                db.session.rollback()
        database = url.split(":", 1)[0].split("+")[0]
    every = [t for values in timings.values() for t in values]
    ms = 1000
    print(f"{lessons:,} lessons, {sections:,} sections, database {database}: generated in {generated:.1f} s, "
          f"indexed (rebuild) in {indexed:.1f} s")
    print(f"{len(every)} searches, results per search: median {statistics.median(found):,.0f}, "
          f"max {max(found):,}, none for {sum(1 for n in found if n == 0)}")
    # On a busy machine wall time includes waiting for a core; this process's CPU time does
    # not (with SQLite it is the whole search; with PostgreSQL only the client's share).
    print(f"CPU time of this process per search: median {statistics.median(cpu) * 1000:.1f} ms, "
          f"p95 {percentile(cpu, 95) * 1000:.1f} ms; load average {os.getloadavg()[0]:.1f}")
    print()
    print("| kind of search | searches | median | p95 |")
    print("| --- | --- | --- | --- |")
    for kind, values in timings.items():
        print(f"| {kind} | {len(values)} | {statistics.median(values) * ms:.1f} ms | "
              f"{percentile(values, 95) * ms:.1f} ms |")
    print()
    print("| what | size | database | median | p95 | reference (SELECT by id) median / p95 "
          "| ratio (median) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print(f"| search (rank + page + highlight) | {lessons:,} lessons, {sections:,} sections | {database} | "
          f"{statistics.median(every) * ms:.1f} ms | {percentile(every, 95) * ms:.1f} ms | "
          f"{statistics.median(reference) * ms:.2f} ms / {percentile(reference, 95) * ms:.2f} ms | "
          f"{statistics.median(every) / statistics.median(reference):.0f} |")


if __name__ == "__main__":
    main()
