"""privacy: correction requests and the record of who was pseudonymised

A person flags a roster field as wrong (``privacy_corrections``), resolved by an
administrator or the next roster import that changes the field; the retention purge
records each person it pseudonymised (``privacy_pseudonyms``) so a second run skips them.

Revision ID: e5b7c9d1f302
Revises: e5b2d8c41f07
Create Date: 2026-12-05 08:50:00

"""
from alembic import op
import sqlalchemy as sa



revision = 'e5b7c9d1f302'
down_revision = 'e5b2d8c41f07'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'privacy_corrections',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('staff_id', sa.Integer(), nullable=False),
        sa.Column('field', sa.String(length=40), nullable=False),
        sa.Column('value_then', sa.String(length=300), nullable=False),
        sa.Column('note', sa.String(length=500), nullable=False),
        sa.Column('requested_by_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.Enum('open', 'resolved', name='status', native_enum=False,
                                    create_constraint=True, length=20), nullable=False),
        sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('resolved_by_id', sa.Integer(), nullable=True),
        sa.Column('resolution', sa.String(length=20), nullable=False),
        sa.Column('resolution_note', sa.String(length=500), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'],
                                name=op.f('fk_privacy_corrections_requested_by_id_users'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'],
                                name=op.f('fk_privacy_corrections_resolved_by_id_users'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['staff_id'], ['staff.id'],
                                name=op.f('fk_privacy_corrections_staff_id_staff'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_corrections')),
    )
    with op.batch_alter_table('privacy_corrections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_privacy_corrections_staff_id'), ['staff_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_privacy_corrections_status'), ['status'], unique=False)
    op.create_table(
        'privacy_pseudonyms',
        sa.Column('staff_id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['staff_id'], ['staff.id'],
                                name=op.f('fk_privacy_pseudonyms_staff_id_staff'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('staff_id', name=op.f('pk_privacy_pseudonyms')),
    )


def downgrade():
    op.drop_table('privacy_pseudonyms')
    with op.batch_alter_table('privacy_corrections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_privacy_corrections_status'))
        batch_op.drop_index(batch_op.f('ix_privacy_corrections_staff_id'))
    op.drop_table('privacy_corrections')
