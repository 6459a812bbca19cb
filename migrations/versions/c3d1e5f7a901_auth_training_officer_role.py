"""auth: the training-officer role

``users.role`` may now be ``officer`` (cán bộ phụ trách đào tạo): roster imports, units,
rules, exemptions and invitations over one unit's subtree. The column is a VARCHAR with a
CHECK constraint listing the roles, so the constraint is rebuilt.

Revision ID: c3d1e5f7a901
Revises: 4a56772b1aba
Create Date: 2026-12-05 01:50:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'c3d1e5f7a901'
down_revision = '4a56772b1aba'
branch_labels = None
depends_on = None

OLD = ('trainee', 'manager', 'reporter', 'admin')
NEW = ('trainee', 'manager', 'officer', 'reporter', 'admin')


def _role(values):
    return sa.Enum(*values, name='role', native_enum=False, create_constraint=True, length=20)


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_users_role'), type_='check')
        batch_op.alter_column('role', existing_type=sa.String(length=20), type_=_role(NEW),
                              existing_nullable=False)


def downgrade():
    op.execute("UPDATE users SET role = 'manager' WHERE role = 'officer'")
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_users_role'), type_='check')
        batch_op.alter_column('role', existing_type=sa.String(length=20), type_=_role(OLD),
                              existing_nullable=False)
