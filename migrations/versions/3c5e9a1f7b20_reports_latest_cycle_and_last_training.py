"""reports: enrolments.latest and staff.last_training_at

Two facts the completion reports used to work out row by row, now kept as data:
``enrolments.latest`` (the person's latest cycle of the course; a partial unique index keeps
one per person and course) and ``staff.last_training_at`` (their latest lesson done, quiz
submitted or course completed). Both are filled from the existing rows. Two indexes let the
dashboard read its counts from indexes alone (see docs/performance.md).

Revision ID: 3c5e9a1f7b20
Revises: b90d6828e86b
Create Date: 2026-11-29 15:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3c5e9a1f7b20'
down_revision = 'b90d6828e86b'
branch_labels = None
depends_on = None

LATER_CYCLE = """
UPDATE enrolments SET latest = false WHERE EXISTS (
    SELECT 1 FROM enrolments AS later
    WHERE later.staff_id = enrolments.staff_id AND later.course_id = enrolments.course_id
      AND later.cycle > enrolments.cycle)
"""

# Everyone's latest completion, lesson or quiz, in one grouped pass (a subquery per person
# would run 100,000 times at ministry size).
LAST_TRAINING = """
UPDATE staff SET last_training_at = latest.at
FROM (
    SELECT staff_id, max(at) AS at FROM (
        SELECT e.staff_id, e.completed_at AS at FROM enrolments AS e WHERE e.completed_at IS NOT NULL
        UNION ALL
        SELECT u.staff_id, p.completed_at FROM lesson_progress AS p JOIN users AS u ON u.id = p.user_id
        UNION ALL
        SELECT u.staff_id, a.submitted_at FROM quiz_attempts AS a JOIN users AS u ON u.id = a.user_id
        WHERE a.submitted_at IS NOT NULL
    ) AS moments
    WHERE staff_id IS NOT NULL
    GROUP BY staff_id
) AS latest
WHERE staff.id = latest.staff_id
"""


def upgrade():
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('latest', sa.Boolean(), server_default=sa.true(), nullable=False))
    op.execute(LATER_CYCLE)
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.create_index('uq_enrolments_latest', ['staff_id', 'course_id'], unique=True,
                              sqlite_where=sa.text('latest'), postgresql_where=sa.text('latest'))
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_training_at', sa.DateTime(timezone=True), nullable=True))
    op.execute(LAST_TRAINING)
    op.drop_index('ix_staff_unit_id', table_name='staff')
    op.create_index('ix_staff_unit_activity', 'staff', ['unit_id', 'status', 'last_training_at'])
    op.create_index('ix_enrolments_obligations', 'enrolments', ['staff_id', 'state', 'due_on'],
                    sqlite_where=sa.text('required IS 1 AND closed_at IS NULL AND latest IS 1'),
                    postgresql_where=sa.text('required AND closed_at IS NULL AND latest'))


def downgrade():
    # Plain ALTER TABLE ... DROP COLUMN (SQLite >= 3.35): a batch copy of ``staff`` would have to
    # drop a table that other tables reference.
    op.drop_index('ix_enrolments_obligations', table_name='enrolments')
    op.drop_index('ix_staff_unit_activity', table_name='staff')
    op.create_index('ix_staff_unit_id', 'staff', ['unit_id'])
    op.execute('ALTER TABLE staff DROP COLUMN last_training_at')
    op.drop_index('uq_enrolments_latest', table_name='enrolments')
    op.execute('ALTER TABLE enrolments DROP COLUMN latest')
