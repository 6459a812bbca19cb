"""reminders: reminder log

One row per reminder e-mail (a trainee's step of an enrolment, or a manager's weekly
digest), unique by key, with its status (pending, sent, failed), attempts and last error:
see mooc/reminders/sender.py.

Revision ID: b90d6828e86b
Revises: dc10bdc1033b
Create Date: 2026-11-29 11:53:10.511563

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b90d6828e86b'
down_revision = 'dc10bdc1033b'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('reminder_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('kind', sa.Enum('assigned', 'due', 'overdue', 'expiry', 'digest', name='kind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('step', sa.String(length=40), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('recipient', sa.String(length=254), nullable=False),
    sa.Column('status', sa.Enum('pending', 'sent', 'failed', name='status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('message_id', sa.String(length=255), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("enrolment_id IS NOT NULL OR kind = 'digest'", name=op.f('ck_reminder_log_enrolment_or_digest')),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_reminder_log_enrolment_id_enrolments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_reminder_log_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminder_log')),
    sa.UniqueConstraint('key', name=op.f('uq_reminder_log_key'))
    )
    with op.batch_alter_table('reminder_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reminder_log_enrolment_id'), ['enrolment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reminder_log_sent_at'), ['sent_at'], unique=False)
        batch_op.create_index('ix_reminder_log_status_claimed_at', ['status', 'claimed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_reminder_log_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('reminder_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reminder_log_user_id'))
        batch_op.drop_index('ix_reminder_log_status_claimed_at')
        batch_op.drop_index(batch_op.f('ix_reminder_log_sent_at'))
        batch_op.drop_index(batch_op.f('ix_reminder_log_enrolment_id'))

    op.drop_table('reminder_log')
