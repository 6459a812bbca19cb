"""staff: the index of the reports' headcount by unit covers the person's id on PostgreSQL
(an index-only scan; SQLite's index holds the rowid already)

Revision ID: c7d9e1f3a5b7
Revises: a3c5e7f9b1d2
Create Date: 2026-12-07 09:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c7d9e1f3a5b7'
down_revision = 'a3c5e7f9b1d2'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.drop_index('ix_staff_unit_activity', table_name='staff')
    op.create_index('ix_staff_unit_activity', 'staff', ['unit_id', 'status', 'last_training_at'],
                    postgresql_include=['id'])


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.drop_index('ix_staff_unit_activity', table_name='staff')
    op.create_index('ix_staff_unit_activity', 'staff', ['unit_id', 'status', 'last_training_at'])
