"""reports: the counts' version (data_versions 'report_counts'), and the summary's index covering every column counted

The dashboard's counts per unit (headcount, who cannot sign in apart from a lock, people by
most urgent status) are kept per process under a version the database owns, raised by the
summary's upkeep in the transaction of every change it follows (mooc/reports/counts.py,
mooc/reports/summary.py). The upgrade makes its row with a random start (a number a process
kept from another database's history is not met again), and makes ``ix_report_people_unit``
again with ``behind``, ``legal_unknown`` and ``legal_since``, which the aggregate counts and
read from the table's rows (SQLite: EXPLAIN QUERY PLAN said "USING INDEX", not "COVERING").
The downgrade deletes the row and makes the index as it was.

Revision ID: c3e8f1a5d7b9
Revises: c3e5a7b9d1f2
Create Date: 2026-12-06 12:00:00

"""
import secrets

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c3e8f1a5d7b9'
down_revision = 'c3e5a7b9d1f2'
branch_labels = None
depends_on = None

BEFORE = ['unit_id', 'open_due', 'not_started', 'in_progress', 'completed', 'exempt', 'position_id']
AFTER = [*BEFORE, 'behind', 'legal_unknown', 'legal_since']


def upgrade():
    versions = sa.table('data_versions', sa.column('name', sa.String), sa.column('version', sa.BigInteger))
    op.bulk_insert(versions, [{'name': 'report_counts', 'version': secrets.randbelow(2**52) + 1}])
    op.drop_index('ix_report_people_unit', table_name='report_people')
    op.create_index('ix_report_people_unit', 'report_people', AFTER)


def downgrade():
    op.drop_index('ix_report_people_unit', table_name='report_people')
    op.create_index('ix_report_people_unit', 'report_people', BEFORE)
    op.execute("DELETE FROM data_versions WHERE name = 'report_counts'")
