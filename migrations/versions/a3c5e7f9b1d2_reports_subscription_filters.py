"""reports: a subscription keeps every filter of the report page it was made on
(report_subscriptions.filters: position, programme, status, due dates, account)

Revision ID: a3c5e7f9b1d2
Revises: fb3daf6a2a0b
Create Date: 2026-12-06 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a3c5e7f9b1d2'
down_revision = 'fb3daf6a2a0b'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('report_subscriptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('filters', sa.JSON(), server_default='{}', nullable=False))


def downgrade():
    with op.batch_alter_table('report_subscriptions', schema=None) as batch_op:
        batch_op.drop_column('filters')
