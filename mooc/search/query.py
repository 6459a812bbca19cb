"""Searching: the query language, the one query per database, and the results page's data.

The query language is small and never fails: words (all must appear, in any order, with or
without diacritics, in any case), "words in quotes" (adjacent and in that order; typographic
quotes too), a word that ends in * (any word starting so: ``quy*``). A piece like
"84/2025/QH15" or "thanh-tra" is a phrase of its words. Everything else (FTS syntax, NEAR,
-, :, parentheses) is only a separator: the MATCH / tsquery text is built from the words,
which are letters and digits only, so no input reaches either database's query parser.

A lesson matches when one of its sections (its title, heading and text) holds every term.
Lessons are ranked, the same way on both databases (integers computed from which sections
match, so SQLite and PostgreSQL give the same order):

1. the lesson's title holds every term;
2. a section's heading holds every term;
3. the words typed without quotes appear side by side, in order ("thanh tra viên" as
   written, not "thanh toán ... tra cứu ... viên");
4. how many of the terms the title holds;
5. how many of its sections match;
6. the lesson's id (older first), so the order is total and stable.

A lesson appears once, linked to its best matching section (chosen in Python by the same
kind of rules, for the page's lessons only). The databases only find rows: no bm25 or
ts_rank, whose cost grows with every matching section (see docs/performance.md).
"""

# ruff: noqa: S608 -- the SQL here is assembled from this module's own fragments and counters;
# everything a person typed reaches the database as a bound parameter (and only as words).
from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from markupsafe import Markup

from mooc.courses.models import Course, Lesson, Module
from mooc.extensions import db
from mooc.search.index import SECTION_BITS
from mooc.search.models import SearchSection
from mooc.search.snippets import Terms, highlight, snippet
from mooc.search.tokens import tokens
from mooc.text import clean

MAX_QUERY_LENGTH = 200  # characters kept of what was typed
MAX_TERMS = 10  # words or phrases used; the rest is ignored (and said so)
MIN_PREFIX = 2  # "d*" would be every word starting with d: a prefix needs two characters
PER_PAGE = 20
MAX_PAGE = 50  # 1,000 results deep is enough for anyone; deeper pages cost the database

_QUOTES = str.maketrans({q: '"' for q in "“”„‟«»＂"})


@dataclass(frozen=True)
class Term:
    words: tuple[str, ...]  # folded
    prefix: bool = False  # the last word may be the start of a longer one

    def as_fts5(self) -> str:
        return '"' + " ".join(self.words) + '"' + ("*" if self.prefix else "")

    def as_tsquery(self) -> str:
        lexemes = [f"'{word}'" for word in self.words]
        if self.prefix:
            lexemes[-1] += ":*"
        return "(" + " <-> ".join(lexemes) + ")"

    def as_like(self) -> str:
        """A LIKE pattern on " " || words || " ": the term as whole words of a folded text."""
        return "% " + " ".join(self.words) + ("%" if self.prefix else " %")


@dataclass(frozen=True)
class ParsedQuery:
    text: str  # what was typed, cleaned and cut to MAX_QUERY_LENGTH
    terms: tuple[Term, ...]
    cut: bool = False  # the query was too long or had too many terms

    @property
    def is_empty(self) -> bool:
        return not self.terms

    def highlighter(self) -> Terms:
        return Terms([(term.words, term.prefix) for term in self.terms])

    def as_phrase(self) -> Term | None:
        """The words typed without quotes as one phrase, for the "side by side" rank (None
        for a single word, or when a term is a phrase or a prefix already)."""
        if len(self.terms) < 2 or any(len(t.words) > 1 or t.prefix for t in self.terms):
            return None
        return Term(tuple(t.words[0] for t in self.terms))

    def as_fts5(self) -> str:
        return " AND ".join(term.as_fts5() for term in self.terms)

    def as_tsquery(self) -> str:
        return " & ".join(term.as_tsquery() for term in self.terms)


def parse_query(text: str) -> ParsedQuery:
    """Typed text -> terms. Never raises: anything unusable is a separator."""
    cut = len(text) > 4 * MAX_QUERY_LENGTH
    text = clean(text[:4 * MAX_QUERY_LENGTH])  # bound the work before cleaning
    cut = cut or len(text) > MAX_QUERY_LENGTH
    text = text[:MAX_QUERY_LENGTH]
    terms: list[Term] = []
    for index, part in enumerate(text.translate(_QUOTES).split('"')):
        if index % 2:  # inside quotes (an unclosed quote runs to the end)
            candidates = [(tokens(part), False)]
        else:
            candidates = [(tokens(piece), _is_prefix(piece)) for piece in part.split()]
        for words, prefix in candidates:
            if not words:
                continue
            term = Term(tuple(words), prefix and len(words[-1]) >= MIN_PREFIX)
            if term not in terms:
                terms.append(term)
    if len(terms) > MAX_TERMS:
        terms, cut = terms[:MAX_TERMS], True
    return ParsedQuery(text=text, terms=tuple(terms), cut=cut)


def _is_prefix(piece: str) -> bool:
    return bool(re.search(r"[^\W_]\*+$", piece))


# --- the database query ------------------------------------------------------------------


@dataclass(frozen=True)
class RankedLesson:
    lesson_id: int
    title_terms: int  # how many terms the title holds (all of them: rank 1)
    in_heading: int  # 1 if a matching section's heading holds every term
    as_phrase: int  # 1 if a section has the unquoted words side by side
    sections: int  # matching sections


def _sqlite_lessons(query: ParsedQuery, course_id: int | None, params: dict) -> str:
    """CTEs ending in `lessons_found`: one row per matching lesson with its rank numbers.

    Every set comes from FTS5 alone (a section's id says its lesson), is reduced to lessons,
    and the sets are compared lesson by lesson: a few thousand lookups, not one per section.
    """
    lesson = f"rowid >> {SECTION_BITS}"
    params["match"] = query.as_fts5()
    where = ""
    if course_id is not None:
        params["course_id"] = course_id
        where = " AND rowid IN (SELECT id FROM search_sections WHERE course_id = :course_id)"
    ctes = [
        f"m AS (SELECT {lesson} AS lesson_id, count(*) AS sections FROM search_fts "
        f"WHERE search_fts MATCH :match{where} GROUP BY 1)"
    ]
    sets = {"h": "{heading_words} : (" + query.as_fts5() + ")"}
    phrase = query.as_phrase()
    if phrase is not None:
        sets["p"] = phrase.as_fts5()
    for n, term in enumerate(query.terms):
        sets[f"t{n}"] = "{title_words} : " + term.as_fts5()
    for name, match in sets.items():
        params[name] = match
        ctes.append(f"{name} AS (SELECT DISTINCT {lesson} AS lesson_id FROM search_fts "
                    f"WHERE search_fts MATCH :{name})")

    def member(name: str) -> str:
        return f"(lesson_id IN (SELECT lesson_id FROM {name}))"

    columns = ", ".join([
        "lesson_id",
        " + ".join(member(f"t{n}") for n in range(len(query.terms))) + " AS title_terms",
        member("h") + " AS in_heading",
        (member("p") if phrase else "0") + " AS as_phrase",
        "sections",
    ])
    ctes.append(f"lessons_found AS (SELECT {columns} FROM m)")
    return ",\n".join(ctes)


def _postgresql_lessons(query: ParsedQuery, course_id: int | None, params: dict) -> str:
    """The same CTE on PostgreSQL: the GIN index finds the sections; LIKE on the short folded
    title and heading, and a tsquery phrase, give their flags (the vectors are kept in the
    row, see the migration, so testing one is cheap)."""
    params["tsquery"] = query.as_tsquery()
    title_flags, heading_flags = [], []
    for n, term in enumerate(query.terms):
        params[f"w{n}"] = term.as_like()
        title_flags.append(f"(CASE WHEN ' ' || title_words || ' ' LIKE :w{n} THEN 1 ELSE 0 END)")
        heading_flags.append(f"' ' || heading_words || ' ' LIKE :w{n}")
    phrase = query.as_phrase()
    as_phrase = "0"
    if phrase is not None:
        params["phrase"] = phrase.as_tsquery()
        as_phrase = "(CASE WHEN document @@ CAST(:phrase AS tsquery) THEN 1 ELSE 0 END)"
    where = "document @@ CAST(:tsquery AS tsquery)"
    if course_id is not None:
        params["course_id"] = course_id
        where += " AND course_id = :course_id"
    columns = ", ".join([
        "lesson_id",
        " + ".join(title_flags) + " AS tt",
        f"(CASE WHEN {' AND '.join(heading_flags)} THEN 1 ELSE 0 END) AS ha",
        f"{as_phrase} AS pa",
    ])
    return (
        f"sec AS (SELECT {columns} FROM search_sections WHERE {where}),\n"
        "lessons_found AS (SELECT lesson_id, max(tt) AS title_terms, max(ha) AS in_heading, "
        "max(pa) AS as_phrase, count(*) AS sections FROM sec GROUP BY lesson_id)"
    )


_RANK_SQL = """
WITH {lessons}
SELECT lesson_id, title_terms, in_heading, as_phrase, sections, count(*) OVER () AS total
FROM lessons_found
ORDER BY CASE WHEN title_terms = :terms THEN 1 ELSE 0 END DESC, in_heading DESC, as_phrase DESC,
         title_terms DESC, sections DESC, lesson_id
LIMIT :limit OFFSET :offset
"""


@contextmanager
def _index_scans(dialect: str) -> Iterator[None]:
    """On PostgreSQL, find matches through the GIN index even when most sections match.

    The planner then prefers reading the whole table and testing ``@@`` on every row (about
    100 ms for 30,000 sections, most of them matching); the index answers a query of words
    exactly without reading a vector (about 15 ms). Scoped to these statements: SET LOCAL
    ends with the transaction, RESET ends it sooner.
    """
    if dialect != "postgresql":
        yield
        return
    db.session.execute(sa.text("SET LOCAL enable_seqscan = off"))
    try:
        yield
    finally:
        db.session.execute(sa.text("RESET enable_seqscan"))


def rank(
    query: ParsedQuery, course_id: int | None, limit: int, offset: int
) -> tuple[list[RankedLesson], int]:
    """One page of matching lessons, best first, and how many lessons match in all."""
    if query.is_empty:
        return [], 0
    params: dict = {"limit": limit, "offset": offset, "terms": len(query.terms)}
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        lessons = _postgresql_lessons(query, course_id, params)
    else:
        lessons = _sqlite_lessons(query, course_id, params)
    with _index_scans(dialect):
        rows = db.session.execute(sa.text(_RANK_SQL.format(lessons=lessons)), params).all()
    total = rows[0].total if rows else 0
    if not rows and offset:
        total = rank(query, course_id, 1, 0)[1]  # a page past the end: still say how many there are
    ranked = [RankedLesson(r.lesson_id, r.title_terms, r.in_heading, r.as_phrase, r.sections) for r in rows]
    return ranked, total


def matching_sections(query: ParsedQuery, lesson_ids: list[int]) -> list[int]:
    """The ids of these lessons' sections that match the query."""
    if not lesson_ids or query.is_empty:
        return []
    dialect = db.session.get_bind().dialect.name
    lessons: sa.BindParameter[list[int]] = sa.bindparam("lessons", lesson_ids, expanding=True)
    if dialect == "postgresql":
        statement = sa.text(
            "SELECT id FROM search_sections WHERE lesson_id IN :lessons AND document @@ CAST(:q AS tsquery)"
        ).bindparams(lessons, q=query.as_tsquery())
    else:
        lesson_of_row = f"rowid >> {SECTION_BITS}"
        statement = sa.text(
            f"SELECT rowid AS id FROM search_fts WHERE search_fts MATCH :q AND ({lesson_of_row}) IN :lessons"
        ).bindparams(lessons, q=query.as_fts5())
    with _index_scans(dialect):
        return sorted(db.session.scalars(statement))


# --- the results page ----------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    course_key: str
    course_title: str
    module_title: str
    lesson_key: str
    anchor: str  # "" = the top of the lesson
    title: Markup  # highlighted
    heading: Markup  # highlighted; empty for the text before the first heading
    snippet: Markup  # highlighted
    locked: str = ""  # why the course is not open to the person yet: then no heading, no snippet


@dataclass
class Results:
    query: ParsedQuery
    course_id: int | None
    page: int
    total: int = 0
    hits: list[Hit] = field(default_factory=list)
    per_page: int = PER_PAGE

    @property
    def pages(self) -> int:
        return min(MAX_PAGE, math.ceil(self.total / self.per_page))

    @property
    def first(self) -> int:
        return (self.page - 1) * self.per_page + 1


def _count(words: str, term: Term) -> int:
    """How often a term occurs in a folded text (tokens.index_text form)."""
    return f" {words} ".count(" " + " ".join(term.words) + ("" if term.prefix else " "))


def _best_section_key(row: Any, query: ParsedQuery, phrase: Term | None) -> tuple:
    """Which of a lesson's matching sections a hit links to: the one whose heading holds every
    term, then with the words side by side, then holding the most terms, then the most often,
    then the first."""
    in_heading = [_count(row.heading_words, term) for term in query.terms]
    in_body = [_count(row.body_words, term) for term in query.terms]
    side_by_side = bool(phrase and (_count(row.heading_words, phrase) or _count(row.body_words, phrase)))
    return (
        all(in_heading),
        side_by_side,
        sum(1 for h, b in zip(in_heading, in_body, strict=True) if h or b),
        sum(in_heading) + sum(in_body),
        -row.position,
    )


def search(text: str, course_id: int | None = None, page: int = 1, per_page: int = PER_PAGE,
           locked: Mapping[int, str] | None = None) -> Results:
    """What the results page shows for ``text``: one page of hits, highlighted.

    ``locked``: the courses not open to the person yet (course id -> why; a later step of their
    programme, ``training.programs.locked_courses``, found once for the page). Their lessons
    still show with their course's and their own titles, as the course page names them, but
    nothing of their text: no heading, no snippet, and the hit links to the course's page."""
    query = parse_query(text)
    page = min(max(page, 1), MAX_PAGE)
    results = Results(query=query, course_id=course_id, page=page, per_page=per_page)
    if query.is_empty:
        return results
    ranked, results.total = rank(query, course_id, per_page, (page - 1) * per_page)
    if not ranked:
        return results
    section_ids = matching_sections(query, [r.lesson_id for r in ranked])
    rows = db.session.execute(
        sa.select(
            SearchSection.id, SearchSection.lesson_id, SearchSection.position, SearchSection.anchor,
            SearchSection.heading, SearchSection.body, SearchSection.heading_words, SearchSection.body_words,
            Lesson.key.label("lesson_key"), Lesson.title.label("lesson_title"),
            Course.id.label("course_id"), Course.key.label("course_key"), Course.title.label("course_title"),
            Module.title.label("module_title"),
        )
        .join(Lesson, Lesson.id == SearchSection.lesson_id)
        .join(Course, Course.id == Lesson.course_id)
        .join(Module, Module.id == Lesson.module_id)
        .where(
            SearchSection.id.in_(section_ids),
            # The index holds live lessons only; checked again so nothing archived can show.
            Lesson.archived.is_(False), Course.archived.is_(False), Module.archived.is_(False),
        )
        .order_by(SearchSection.id)
    ).all()
    terms = query.highlighter()
    phrase = query.as_phrase()
    best: dict[int, Any] = {}
    for row in rows:
        current = best.get(row.lesson_id)
        key = _best_section_key(row, query, phrase)
        if current is None or key > current[0]:
            best[row.lesson_id] = (key, row)
    locked = locked or {}
    for ranked_lesson in ranked:
        if ranked_lesson.lesson_id not in best:
            continue
        row = best[ranked_lesson.lesson_id][1]
        results.hits.append(_hit(row, terms, locked.get(row.course_id, "")))
    return results


def _hit(row: Any, terms: Terms, locked: str) -> Hit:
    if locked:  # the titles only: nothing of the text of a course not open to the person
        return Hit(course_key=row.course_key, course_title=row.course_title, module_title=row.module_title,
                   lesson_key=row.lesson_key, anchor="", title=highlight(row.lesson_title, terms),
                   heading=Markup(""), snippet=Markup(""), locked=locked)
    return Hit(
        course_key=row.course_key,
        course_title=row.course_title,
        module_title=row.module_title,
        lesson_key=row.lesson_key,
        anchor=row.anchor,
        title=highlight(row.lesson_title, terms),
        heading=highlight(row.heading, terms),
        snippet=snippet(row.body, terms, folded=row.body_words),
    )
