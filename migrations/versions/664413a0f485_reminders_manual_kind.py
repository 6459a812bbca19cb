"""reminders: manual reminders sent by a manager or training officer

``reminder_log.kind`` may now be ``manual`` (a reminder about one enrolment sent from
the web, at most one a day per enrolment). The column is a VARCHAR with a CHECK
constraint listing the kinds, so the constraint is rebuilt.

Revision ID: 664413a0f485
Revises: 72fff6e5a824
Create Date: 2026-12-05 02:05:00

"""
from alembic import op
import sqlalchemy as sa


revision = '664413a0f485'
down_revision = '72fff6e5a824'
branch_labels = None
depends_on = None

OLD = ('assigned', 'due', 'overdue', 'expiry', 'digest')
NEW = ('assigned', 'due', 'overdue', 'expiry', 'digest', 'manual')


def _kind(values):
    return sa.Enum(*values, name='kind', native_enum=False, create_constraint=True, length=20)


def upgrade():
    with op.batch_alter_table('reminder_log', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_reminder_log_kind'), type_='check')
        batch_op.alter_column('kind', existing_type=sa.String(length=20), type_=_kind(NEW),
                              existing_nullable=False)


def downgrade():
    op.execute("DELETE FROM reminder_log WHERE kind = 'manual'")
    with op.batch_alter_table('reminder_log', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_reminder_log_kind'), type_='check')
        batch_op.alter_column('kind', existing_type=sa.String(length=20), type_=_kind(OLD),
                              existing_nullable=False)
