"""the catalog's version (data_versions 'courses'), raised by every change of a course's row

The trainee's home page is kept under the version of the catalog (every row of ``courses``:
titles, summaries, completion rules, each course's own version), read in its one statement
instead of the rows (mooc/versions.py, mooc/training/queries.py). Every flush that adds,
changes or deletes a course raises it (mooc/courses/models.py). The upgrade makes its row with a
random start, so a database already holding courses has a version before its next sync; the
downgrade deletes the row.

Revision ID: c3e5a7b9d1f2
Revises: b7d2e4f6a8c1
Create Date: 2026-12-06 12:00:00

"""
import secrets

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c3e5a7b9d1f2'
down_revision = 'b7d2e4f6a8c1'
branch_labels = None
depends_on = None

data_versions = sa.table('data_versions', sa.column('name', sa.String), sa.column('version', sa.BigInteger))


def upgrade():
    connection = op.get_bind()
    found = connection.execute(sa.select(data_versions.c.name).where(data_versions.c.name == 'courses')).first()
    if found is None:
        op.bulk_insert(data_versions, [{'name': 'courses', 'version': secrets.randbelow(2**52) + 1}])


def downgrade():
    op.execute(data_versions.delete().where(data_versions.c.name == 'courses'))
