"""auth: sign-in throttle per client address

``login_throttle_addresses`` counts failed sign-ins (and current-password checks) per client
address, whatever the accounts tried, so password spraying from one address is locked too.
Kept in the database, like ``login_throttle``, so every worker process counts the same.

Revision ID: 4a56772b1aba
Revises: baf8ef6a4e96
Create Date: 2026-12-04 22:55:17.983380

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4a56772b1aba'
down_revision = 'baf8ef6a4e96'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('login_throttle_addresses',
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failure_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('address', name=op.f('pk_login_throttle_addresses'))
    )


def downgrade():
    op.drop_table('login_throttle_addresses')
