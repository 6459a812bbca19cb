"""The full-text scan of the retention tests: every text and JSON value of every table."""

from __future__ import annotations

import json

import sqlalchemy as sa

from mooc.extensions import db


def texts() -> list[tuple[str, str, str]]:
    """(table, column, text) for every text or JSON value in the database (JSON as written
    with its letters unescaped, so a name reads as it is spelt)."""
    found = []
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, (sa.String, sa.Text, sa.JSON, sa.Enum))]
        if not columns:
            continue
        for row in db.session.execute(sa.select(*columns)):
            for column, value in zip(columns, row, strict=True):
                if value is None:
                    continue
                text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                found.append((table.name, column.name, text))
    return found


def traces_of(needles: set[str]) -> list[tuple[str, str, str]]:
    """Where any of ``needles`` is still written, in any case: (table, column, needle)."""
    folded = {needle.lower() for needle in needles}
    return [(table, column, needle) for table, column, text in texts()
            for needle in folded if needle in text.lower()]
