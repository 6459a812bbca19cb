"""quizzes: extra attempts granted to a person

A manager, officer or administrator can give a person more attempts at a quiz whose
attempts ran out without a pass: one row per grant, added to the quiz's limit.

Revision ID: 5ed2afc8ca86
Revises: 664413a0f485
Create Date: 2026-12-05 02:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '5ed2afc8ca86'
down_revision = '664413a0f485'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('quiz_attempt_grants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('quiz_id', sa.Integer(), nullable=False),
    sa.Column('extra', sa.Integer(), nullable=False),
    sa.Column('granted_by_id', sa.Integer(), nullable=True),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['granted_by_id'], ['users.id'], name=op.f('fk_quiz_attempt_grants_granted_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['quiz_id'], ['quizzes.id'], name=op.f('fk_quiz_attempt_grants_quiz_id_quizzes')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_quiz_attempt_grants_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quiz_attempt_grants'))
    )
    with op.batch_alter_table('quiz_attempt_grants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quiz_attempt_grants_quiz_id'), ['quiz_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quiz_attempt_grants_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('quiz_attempt_grants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quiz_attempt_grants_user_id'))
        batch_op.drop_index(batch_op.f('ix_quiz_attempt_grants_quiz_id'))
    op.drop_table('quiz_attempt_grants')
