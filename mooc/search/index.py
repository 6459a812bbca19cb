"""Writing the search index: at course sync (in its transaction) and by ``mooc search reindex``.

Only live lessons are indexed (the lesson, its module and its course not archived); a lesson
that stops being live leaves the index in the sync that archives it. Quizzes are never read
here, so their questions, answers and explanations cannot reach the index.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa

from mooc import parallel
from mooc.courses.models import Course, Lesson, Module
from mooc.courses.signals import lesson_preparers, lessons_synced
from mooc.database import chunks
from mooc.extensions import db
from mooc.progress import INDEXING, SILENT, Progress
from mooc.search.models import SearchSection
from mooc.search.sections import Section, split_sections
from mooc.search.tokens import tokens

BATCH = 500  # lessons read per query
MAX_POSITION = 16383  # PostgreSQL's largest word position
GAP = 2  # positions left empty between title, heading and body: a phrase never spans two of them
SECTION_BITS = 10  # a section's id is its lesson's id << 10 | its position: see section_id()
MAX_SECTIONS = 1 << SECTION_BITS


def section_id(lesson_id: int, position: int) -> int:
    """The id of a lesson's section. It says which lesson it belongs to (id >> 10), so the
    search can group FTS5 matches by lesson without reading search_sections at all."""
    return lesson_id << SECTION_BITS | position


def _live_lessons() -> sa.Select:
    return (
        sa.select(Lesson.id, Lesson.course_id, Lesson.title, Lesson.html)
        .join(Course, Course.id == Lesson.course_id)
        .join(Module, Module.id == Lesson.module_id)
        .where(Lesson.archived.is_(False), Course.archived.is_(False), Module.archived.is_(False))
    )


def _batches(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    return chunks(ids, BATCH)  # (never past database.CHUNK ids per IN list)


_LABELS: dict[str, list[str]] = {}  # weight -> ["", "1A", "2A", ... "16383A"], made on first use


def _labels(weight: str) -> list[str]:
    labels = _LABELS.get(weight)
    if labels is None:
        labels = _LABELS[weight] = [""] + [f"{p}{weight}" for p in range(1, MAX_POSITION + 1)]
    return labels


def tsvector_literal(title: list[str], heading: list[str], body: list[str]) -> str:
    """A PostgreSQL tsvector of these words: title weight A, heading B, body C.

    Built here rather than by to_tsvector() so PostgreSQL indexes exactly the words SQLite
    does (no parser of its own), with gaps between the three parts.
    """
    positions: dict[str, list[str]] = {}
    position = 1
    for words, weight in ((title, "A"), (heading, "B"), (body, "C")):
        labels = _labels(weight)
        end = position + len(words)
        at = labels[position:min(end, MAX_POSITION + 1)]
        if len(at) < len(words):  # past the last position every word sits at the last one
            at += [labels[MAX_POSITION]] * (len(words) - len(at))
        for word, label in zip(words, at, strict=True):
            found = positions.get(word)
            if found is None:
                positions[word] = [label]
            else:
                found.append(label)
        position = end + GAP
    # Words are letters and digits only (tokens.tokenize): nothing to escape inside the quotes.
    return " ".join(f"'{word}':{','.join(where)}" for word, where in positions.items())


def _tsvector_literal_plain(title: list[str], heading: list[str], body: list[str]) -> str:
    """tsvector_literal word by word, as it was written first: what the fast one is tested against."""
    positions: dict[str, list[str]] = {}
    position = 1
    for words, weight in ((title, "A"), (heading, "B"), (body, "C")):
        for word in words:
            positions.setdefault(word, []).append(f"{min(position, MAX_POSITION)}{weight}")
            position += 1
        position += GAP
    return " ".join(f"'{word}':{','.join(where)}" for word, where in positions.items())


# A section's columns but its ids: (position, anchor, heading, body, title_words, heading_words,
# body_words, document), document None unless the tsvector is wanted (PostgreSQL).
SectionValues = tuple[int, str, str, str, str, str, str, str | None]


def section_rows(lesson_id: int, course_id: int, title: str, html: str, with_vector: bool) -> list[dict]:
    """The rows of search_sections for one lesson."""
    return _rows(lesson_id, course_id, section_values(title, html, with_vector))


def _rows(lesson_id: int, course_id: int, values: list[SectionValues]) -> list[dict]:
    return [
        {
            "id": section_id(lesson_id, position),
            "lesson_id": lesson_id,
            "course_id": course_id,
            "position": position,
            "anchor": anchor,
            "heading": heading,
            "body": body,
            "title_words": title_words,
            "heading_words": heading_words,
            "body_words": body_words,
            "document": document,
        }
        for position, anchor, heading, body, title_words, heading_words, body_words, document in values
    ]


def section_values(title: str, html: str, with_vector: bool) -> list[SectionValues]:
    """What a lesson's rows of search_sections hold but their ids: pure (a lesson's title and
    HTML in, its sections and words out), so it is done where the lesson is rendered."""
    title_words = tokens(title)
    rows: list[SectionValues] = []
    sections = split_sections(html)
    if len(sections) > MAX_SECTIONS:  # 1,024 headings: the last sections are indexed as one
        last = sections[MAX_SECTIONS - 1]
        rest = "\n".join([last.body] + [f"{s.heading}\n{s.body}" for s in sections[MAX_SECTIONS:]])
        sections = sections[:MAX_SECTIONS - 1] + [Section(last.position, last.anchor, last.heading, rest)]
    for section in sections:
        heading_words = tokens(section.heading)
        body_words = section.words if section.words is not None else tokens(section.body)
        rows.append((
            section.position,
            section.anchor,
            section.heading,
            section.body,
            " ".join(title_words),
            " ".join(heading_words),
            " ".join(body_words),
            tsvector_literal(title_words, heading_words, body_words) if with_vector else None,
        ))
    return rows


def _prepare(title: str, html: str, dialect: str) -> list[SectionValues]:
    """signals.lesson_preparers: a lesson's sections and words, cut in the sync's render workers."""
    return section_values(title, html, dialect == "postgresql")


lesson_preparers["search"] = _prepare

Prepared = dict[int, tuple[str, str, list[SectionValues]]]  # lesson id -> (title, html, values)


def _values_job(lesson: tuple[str, str]) -> list[SectionValues]:
    return section_values(*lesson, with_vector=parallel.shared())


def _write(lessons: Iterable[Any], prepared: Prepared | None = None) -> int:
    """Index these lessons (rows of id, course_id, title, html). Cutting a lesson into sections
    and words is pure: what the sync's render workers cut (``prepared``, used only for the title
    and HTML it was cut from) is not cut again; a large batch of the rest (a rebuild) is cut in
    worker processes."""
    with_vector = db.session.get_bind().dialect.name == "postgresql"
    ready = prepared or {}
    per_lesson: list[tuple[int, int, list[SectionValues]]] = []
    jobs: list[tuple[str, str]] = []
    waiting: list[int] = []  # the places in per_lesson of the lessons cut below
    for lesson in lessons:
        made = ready.get(lesson.id)
        if made is not None and made[:2] == (lesson.title, lesson.html) and made[2] and (
            (made[2][0][7] is not None) == with_vector
        ):
            per_lesson.append((lesson.id, lesson.course_id, made[2]))
            continue
        waiting.append(len(per_lesson))
        per_lesson.append((lesson.id, lesson.course_id, []))
        jobs.append((lesson.title, lesson.html))
    cut, _workers = parallel.fork_map(_values_job, jobs, with_vector)
    for place, values in zip(waiting, cut, strict=True):
        per_lesson[place] = (*per_lesson[place][:2], values)
    rows = [row for lesson_id, course_id, values in per_lesson for row in _rows(lesson_id, course_id, values)]
    if rows:
        db.session.execute(sa.insert(SearchSection), rows)
    return len(rows)


def update_lessons(lesson_ids: Iterable[int], prepared: Prepared | None = None) -> int:
    """Index these lessons again: drop their sections, and write them anew if the lesson is
    live. ``prepared``: the sections and words cut already (by the sync's render workers), by
    lesson id, with the title and HTML they were cut from. Returns the number of sections
    written. Flushes; the caller commits."""
    ids = sorted(set(lesson_ids))
    written = 0
    for batch in _batches(ids):
        db.session.execute(
            sa.delete(SearchSection).where(SearchSection.lesson_id.in_(batch)),
            execution_options={"synchronize_session": False},
        )
        written += _write(db.session.execute(_live_lessons().where(Lesson.id.in_(batch))), prepared)
    return written


def rebuild(progress: Progress = SILENT) -> tuple[int, int]:
    """Index every live lesson from scratch. Returns (lessons, sections). The caller commits."""
    db.session.execute(sa.delete(SearchSection), execution_options={"synchronize_session": False})
    ids = list(db.session.scalars(_live_lessons().with_only_columns(Lesson.id).order_by(Lesson.id)))
    sections = 0
    progress.phase(INDEXING, len(ids))
    for batch in _batches(ids):
        sections += _write(db.session.execute(_live_lessons().where(Lesson.id.in_(batch))))
        progress.advance(len(batch))
    if db.session.get_bind().dialect.name == "sqlite":
        # Merge the FTS5 index's segments into one: fewer pages to read per query.
        db.session.execute(sa.text("INSERT INTO search_fts(search_fts) VALUES ('optimize')"))
    return len(ids), sections


def _on_lessons_synced(
    sender: Any, lesson_ids: Iterable[int] = (), prepared: dict[str, Prepared] | None = None, **extra: Any
) -> None:
    update_lessons(lesson_ids, (prepared or {}).get("search"))


lessons_synced.connect(_on_lessons_synced)
