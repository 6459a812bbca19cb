"""reports: the summary counts each person's completions of editions no longer current

The dashboard's "current with the latest editions" column, from the summary table
(report_people.behind), filled here from the enrolments and the course editions.

Revision ID: b7d1e3f5a9c2
Revises: e5b8d2a0c417
Create Date: 2026-12-05 10:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'b7d1e3f5a9c2'
down_revision = 'e5b8d2a0c417'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('report_people', schema=None) as batch_op:
        batch_op.add_column(sa.Column('behind', sa.SmallInteger(), server_default='0', nullable=False))
    op.execute("""
        UPDATE report_people SET behind = (
            SELECT count(*) FROM enrolments e
            LEFT JOIN course_editions ce
              ON ce.course_id = e.course_id AND ce.content_hash = e.completed_version
            WHERE e.staff_id = report_people.staff_id AND e.required AND e.closed_at IS NULL
              AND e.latest AND e.state = 'completed' AND NOT COALESCE(ce.current, false))
    """)


def downgrade():
    with op.batch_alter_table('report_people', schema=None) as batch_op:
        batch_op.drop_column('behind')
