"""auth, roster: every address stored folded by Python (text.name_key), as it is now compared

Sign-in, directory matching, the roster's lock look-up and the audit log's names compare the
accounts' and the roster's addresses by plain equality with the folded value (NFC, one space,
lower-cased by Python: docs/architecture.md, "Names in any case"); they compared with SQL's
``lower()`` before, which lowers ASCII only on SQLite. An address stored before with capitals
or in another Unicode form would no longer be found: it would lock its person out of directory
sign-in. Each is folded here, in Python, row by row where it differs.

Two rows whose addresses differ only by case or form would become one address, which the
unique indexes refuse: the upgrade then stops before changing anything and names the rows, to
be told apart by hand. Nothing is deleted. The downgrade
changes nothing back: the folded addresses are what every version compares.

Revision ID: f3c5a7e9b1d4
Revises: e8a2c4f6b0d3
Create Date: 2026-12-06 07:00:00

"""
import unicodedata

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'f3c5a7e9b1d4'
down_revision = 'e8a2c4f6b0d3'
branch_labels = None
depends_on = None


def _fold(value: str) -> str:
    """mooc.text.name_key as it was at this revision (a migration does not follow later code)."""
    if value.isascii():
        return " ".join(value.split()).lower()
    return unicodedata.normalize("NFC", " ".join(unicodedata.normalize("NFC", value).split()).lower())


def _changes(connection: sa.Connection, table: str) -> tuple[list[dict], str | None]:
    """The rows of ``table`` whose address folds to another value, and the clashes, if any."""
    rows = connection.execute(sa.text(f"SELECT id, email FROM {table} WHERE email IS NOT NULL")).all()
    folded: dict[str, list[int]] = {}
    for row_id, email in rows:
        folded.setdefault(_fold(email), []).append(row_id)
    clashes = sorted((email, ids) for email, ids in folded.items() if len(ids) > 1)
    named = "; ".join(f"{email}: {table}.id {', '.join(map(str, sorted(ids)))}" for email, ids in clashes)
    return [{"id": row_id, "email": _fold(email)} for row_id, email in rows if _fold(email) != email], named or None


def upgrade():
    connection = op.get_bind()
    found = {table: _changes(connection, table) for table in ("users", "staff")}
    clashes = [named for _changed, named in found.values() if named]
    if clashes:
        raise RuntimeError(
            "addresses that differ only by case or Unicode form would become one address (tell them "
            "apart, then upgrade again; nothing was changed): " + "; ".join(clashes))
    for table, (changed, _named) in found.items():
        if changed:
            connection.execute(sa.text(f"UPDATE {table} SET email = :email WHERE id = :id"), changed)


def downgrade():
    pass
