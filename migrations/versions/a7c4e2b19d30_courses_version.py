"""courses: a version raised by every change of a course's content

The course and lesson pages cache what they render of a course (its outline) by
(course id, version): a sync that changes anything of the course writes a new version in
the same transaction, so a cached copy is never used for new content.

Revision ID: a7c4e2b19d30
Revises: 5ed2afc8ca86
Create Date: 2026-12-05 05:45:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'a7c4e2b19d30'
down_revision = '5ed2afc8ca86'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))


def downgrade():
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.drop_column('version')
