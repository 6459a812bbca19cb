"""The search index: one row per section of a live lesson, with its text folded for matching.

``search_sections`` is an ordinary table (in the metadata, compared with the migrations like
any other). The full-text machinery sits beside it, created by the migration and not mapped:

- SQLite: ``search_fts``, an FTS5 table over the three folded columns with
  ``content='search_sections'`` (it stores only the index, not the text again), kept in step
  by three triggers on ``search_sections``. Alembic's batch mode re-creates a table to alter
  it on SQLite, which drops its triggers: a migration that alters ``search_sections`` must
  create the triggers again (see the search migration for their text).
- PostgreSQL: the ``document`` column (a tsvector built word by word in ``index.py``) and
  a GIN index on it, ``ix_search_sections_document``.

``UNMAPPED_NAMES`` lists them, so the migration check and autogenerate leave them alone.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from mooc.extensions import Model

FTS_TABLE = "search_fts"
GIN_INDEX = "ix_search_sections_document"


def is_unmapped(name: str | None, type_: str) -> bool:
    """Whether a database object is the search's full-text machinery, not in the metadata:
    the FTS5 table and its shadow tables (search_fts_data, _idx, _docsize, _config), the GIN index."""
    if not name:
        return False
    if type_ == "table":
        return name == FTS_TABLE or name.startswith(FTS_TABLE + "_")
    if type_ == "index":
        return name == GIN_INDEX
    return False


class SearchVector(sa.types.TypeDecorator):
    """A tsvector on PostgreSQL; on SQLite a text column left NULL (FTS5 indexes there)."""

    impl = sa.Text
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(TSVECTOR())
        return dialect.type_descriptor(sa.Text())


class SearchSection(Model):
    """A section of a live lesson (or a part of a long one): what one search hit points at.

    The lesson's title is repeated, folded, in each of its sections, so that a section
    matches "title words + body words" and the title weighs in every section's rank.
    Never holds quiz text, nor anything of an archived lesson, module or course.
    """

    __tablename__ = "search_sections"
    __table_args__ = (sa.UniqueConstraint("lesson_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)  # index.section_id()
    # (lesson_id, position) is unique: its index serves lookups by lesson
    lesson_id: Mapped[int] = mapped_column(sa.ForeignKey("lessons.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]  # order within the lesson, from 0 (the text before the first heading)
    anchor: Mapped[str] = mapped_column(sa.String(250), default="")  # heading id, "" = top of page
    heading: Mapped[str] = mapped_column(sa.Text, default="")  # as written, for the results page
    body: Mapped[str] = mapped_column(sa.Text, default="")  # plain text as written, for snippets
    # Folded words joined by single spaces (tokens.index_text): what is matched.
    title_words: Mapped[str] = mapped_column(sa.Text, default="")
    heading_words: Mapped[str] = mapped_column(sa.Text, default="")
    body_words: Mapped[str] = mapped_column(sa.Text, default="")
    document: Mapped[str | None] = mapped_column(SearchVector)  # PostgreSQL only
