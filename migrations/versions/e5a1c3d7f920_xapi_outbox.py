"""xapi: the outbox of statements for a learning-records store

Revision ID: e5a1c3d7f920
Revises: a7c4e2b19d30
Create Date: 2026-12-05 09:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'e5a1c3d7f920'
down_revision = 'a7c4e2b19d30'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'xapi_outbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('source_id', sa.Integer(), nullable=False),
        sa.Column('statement_id', sa.String(length=36), nullable=False),
        sa.Column('statement', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('tries', sa.Integer(), nullable=False),
        sa.Column('next_try_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_xapi_outbox')),
        sa.UniqueConstraint('kind', 'source_id', name=op.f('uq_xapi_outbox_kind_source_id')),
        sa.UniqueConstraint('statement_id', name=op.f('uq_xapi_outbox_statement_id')),
    )
    op.create_index('ix_xapi_outbox_pending', 'xapi_outbox', ['sent_at', 'next_try_at'], unique=False)


def downgrade():
    op.drop_index('ix_xapi_outbox_pending', table_name='xapi_outbox')
    op.drop_table('xapi_outbox')
