"""auth: a second factor at sign-in (TOTP), recovery codes, what a session proved

An authenticator app's secret (encrypted) per person, ten one-time recovery codes (hashed),
and on every server-side session how it proved a second factor (issue 22).

Revision ID: 3f9b7d21c6e4
Revises: c3d9a1f5e842
Create Date: 2026-12-05 08:50:00

"""
from alembic import op
import sqlalchemy as sa


revision = '3f9b7d21c6e4'
down_revision = 'c3d9a1f5e842'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('second_factors',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('secret_encrypted', sa.String(length=255), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_step', sa.BigInteger(), nullable=True),
    sa.Column('devices_epoch', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_second_factors_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_second_factors'))
    )
    op.create_table('recovery_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_recovery_codes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_codes')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_recovery_codes_code_hash'))
    )
    with op.batch_alter_table('recovery_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recovery_codes_user_id'), ['user_id'], unique=False)
    with op.batch_alter_table('auth_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('second_factor', sa.String(length=20), server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('auth_sessions', schema=None) as batch_op:
        batch_op.drop_column('second_factor')
    with op.batch_alter_table('recovery_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recovery_codes_user_id'))
    op.drop_table('recovery_codes')
    op.drop_table('second_factors')
