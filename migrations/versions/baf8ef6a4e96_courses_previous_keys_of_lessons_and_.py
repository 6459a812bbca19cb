"""courses: previous keys of lessons and quizzes

Revision ID: baf8ef6a4e96
Revises: 3c5e9a1f7b20
Create Date: 2026-12-04 23:03:12.481428

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'baf8ef6a4e96'
down_revision = '3c5e9a1f7b20'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ALTER TABLE (no batch copy): lessons and quizzes are referenced by other tables.
    for table in ('lessons', 'quizzes'):
        op.add_column(table, sa.Column('previous_keys', sa.JSON(), nullable=False, server_default='[]'))


def downgrade():
    # Plain ALTER TABLE ... DROP COLUMN (SQLite >= 3.35), for the same reason.
    for table in ('quizzes', 'lessons'):
        op.execute(f'ALTER TABLE {table} DROP COLUMN previous_keys')
