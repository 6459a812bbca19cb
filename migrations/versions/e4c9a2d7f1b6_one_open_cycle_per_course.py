"""training: at most one open cycle per person and course, kept by the database

An open cycle is one not finished (not started or in progress) and not closed. Every source
that wants a course shares the person's one open cycle of it (docs/architecture.md, "Sources
of a cycle"); the partial unique index ``uq_enrolments_open`` now refuses a second one.

Earlier versions could leave two: a history import added a completed cycle after a person's
open one and superseded it (``latest`` false, still open), and a renewal later opened after
that completion. Those superseded, unfinished cycles already read "no longer required"
(``status.py``: a cycle not finished that a later one superseded) and no report, reminder or
rule counts them (they are not ``latest``). The upgrade closes them, as the code now closes a
cycle it supersedes unfinished: ``closed_at`` is the moment the next cycle was created (else
the row's last update). Nothing is deleted and nothing a person reads changes. Then every
open cycle left is a latest one, which ``uq_enrolments_latest`` already keeps to one per
person and course, so the index is created on any existing data.

The downgrade drops the index and leaves the ``closed_at`` written (what it says was already
what the cycle's status said).

Revision ID: e4c9a2d7f1b6
Revises: f3c5a7e9b1d4
Create Date: 2026-12-06 06:10:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'e4c9a2d7f1b6'
down_revision = 'f3c5a7e9b1d4'
branch_labels = None
depends_on = None

OPEN_CYCLE = "closed_at IS NULL AND state IN ('not_started', 'in_progress')"

CLOSE_SUPERSEDED = f"""
UPDATE enrolments SET closed_at = COALESCE(
    (SELECT MIN(later.created_at) FROM enrolments later
     WHERE later.staff_id = enrolments.staff_id AND later.course_id = enrolments.course_id
       AND later.cycle > enrolments.cycle),
    enrolments.updated_at)
WHERE NOT latest AND {OPEN_CYCLE}
"""


def upgrade():
    op.execute(CLOSE_SUPERSEDED)
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.create_index('uq_enrolments_open', ['staff_id', 'course_id'], unique=True,
                              sqlite_where=sa.text(OPEN_CYCLE), postgresql_where=sa.text(OPEN_CYCLE))


def downgrade():
    op.drop_index('uq_enrolments_open', table_name='enrolments')
