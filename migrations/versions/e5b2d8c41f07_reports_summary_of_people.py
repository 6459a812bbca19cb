"""reports: the summary table, one row per person who owes training

The dashboard counts each person once under their most urgent status. ``report_people``
keeps, per person who has not left and owes training, the earliest due date of the
obligations still to do and how many are in each state, so the dashboard reads ~100,000
narrow rows instead of ~730,000 enrolments at ministry scale. Filled here from the
enrolments; kept by the writes that change them (``mooc/reports/summary.py``);
``mooc reports rebuild-summary`` makes it again.

Revision ID: e5b2d8c41f07
Revises: 3f9b7d21c6e4
Create Date: 2026-12-05 09:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'e5b2d8c41f07'
down_revision = '3f9b7d21c6e4'
branch_labels = None
depends_on = None

FILL = """
INSERT INTO report_people (staff_id, unit_id, position_id, open_due, not_started, in_progress, completed, exempt)
SELECT e.staff_id, s.unit_id, s.position_id,
       MIN(CASE WHEN e.state IN ('not_started', 'in_progress') THEN e.due_on END),
       SUM(CASE WHEN e.state = 'not_started' THEN 1 ELSE 0 END),
       SUM(CASE WHEN e.state = 'in_progress' THEN 1 ELSE 0 END),
       SUM(CASE WHEN e.state = 'completed' THEN 1 ELSE 0 END),
       SUM(CASE WHEN e.state = 'exempt' THEN 1 ELSE 0 END)
FROM enrolments e JOIN staff s ON s.id = e.staff_id
WHERE e.required AND e.closed_at IS NULL AND e.latest AND s.status <> 'left'
GROUP BY e.staff_id, s.unit_id, s.position_id
"""


def upgrade():
    op.create_table('report_people',
    sa.Column('staff_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('position_id', sa.Integer(), nullable=True),
    sa.Column('open_due', sa.Date(), nullable=True),
    sa.Column('not_started', sa.SmallInteger(), nullable=False),
    sa.Column('in_progress', sa.SmallInteger(), nullable=False),
    sa.Column('completed', sa.SmallInteger(), nullable=False),
    sa.Column('exempt', sa.SmallInteger(), nullable=False),
    sa.ForeignKeyConstraint(['position_id'], ['positions.id'], name=op.f('fk_report_people_position_id_positions')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_report_people_staff_id_staff'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['org_units.id'], name=op.f('fk_report_people_unit_id_org_units')),
    sa.PrimaryKeyConstraint('staff_id', name=op.f('pk_report_people'))
    )
    with op.batch_alter_table('report_people', schema=None) as batch_op:
        batch_op.create_index('ix_report_people_unit', ['unit_id', 'open_due', 'not_started', 'in_progress', 'completed', 'exempt', 'position_id'], unique=False)
    op.execute(FILL)


def downgrade():
    with op.batch_alter_table('report_people', schema=None) as batch_op:
        batch_op.drop_index('ix_report_people_unit')
    op.drop_table('report_people')
