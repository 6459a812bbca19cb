"""training: a rule may cover every unit

``assignment_rules.all_units``: the rule covers the whole organisation, chosen as such (not
an empty selection of units), so units created later are covered too.

Revision ID: 72fff6e5a824
Revises: c3d1e5f7a901
Create Date: 2026-12-05 02:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '72fff6e5a824'
down_revision = 'c3d1e5f7a901'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('assignment_rules', schema=None) as batch_op:
        batch_op.add_column(sa.Column('all_units', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('assignment_rules', schema=None) as batch_op:
        batch_op.drop_column('all_units')
