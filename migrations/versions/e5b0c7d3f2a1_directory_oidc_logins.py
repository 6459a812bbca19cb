"""directory: OpenID Connect sign-ins under way (state, nonce, PKCE verifier), single use

Revision ID: e5b0c7d3f2a1
Revises: f2b8d4a6c1e3
Create Date: 2026-12-05 09:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'e5b0c7d3f2a1'
down_revision = 'f2b8d4a6c1e3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'oidc_logins',
        sa.Column('state_hash', sa.String(length=64), nullable=False),
        sa.Column('nonce', sa.String(length=128), nullable=False),
        sa.Column('code_verifier', sa.String(length=128), nullable=False),
        sa.Column('next_url', sa.String(length=500), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('state_hash', name=op.f('pk_oidc_logins')),
    )
    with op.batch_alter_table('oidc_logins', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oidc_logins_created_at'), ['created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('oidc_logins', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oidc_logins_created_at'))
    op.drop_table('oidc_logins')
