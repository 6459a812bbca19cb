"""versions the database owns (data_versions): the unit tree's, raised by every change of org_units

A process keeps what it builds from the unit tree (its rows, children and labels: the reports'
drill-down, every unit label) under the tree's version, which every change of ``org_units``
raises in its own transaction (mooc/versions.py, mooc/roster/tree.py). The upgrade creates the
table and the tree's row with a random start (a number a process kept from another database's
history is not met again). The downgrade drops the table.

Revision ID: b7d3f19a2c60
Revises: e4c9a2d7f1b6
Create Date: 2026-12-06 09:10:00

"""
import secrets

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b7d3f19a2c60'
down_revision = 'e4c9a2d7f1b6'
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table(
        'data_versions',
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_data_versions')),
    )
    op.bulk_insert(table, [{'name': 'org_units', 'version': secrets.randbelow(2**52) + 1}])


def downgrade():
    op.drop_table('data_versions')
