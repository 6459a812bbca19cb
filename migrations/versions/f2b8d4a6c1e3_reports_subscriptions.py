"""reports: subscriptions to reports mailed weekly or monthly, and their deliveries

Revision ID: f2b8d4a6c1e3
Revises: e5a1c3d7f920
Create Date: 2026-12-05 09:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'f2b8d4a6c1e3'
down_revision = 'e5a1c3d7f920'
branch_labels = None
depends_on = None


def _enum(name, *values):
    return sa.Enum(*values, name=name, native_enum=False, length=20, create_constraint=True)


def upgrade():
    op.create_table(
        'report_subscriptions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('email', sa.String(length=254), nullable=True),
        sa.Column('kind', _enum('kind', 'dashboard', 'overdue', 'compliance'), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=True),
        sa.Column('course_id', sa.Integer(), nullable=True),
        sa.Column('frequency', _enum('frequency', 'weekly', 'monthly'), nullable=False),
        sa.Column('xlsx', sa.Boolean(), nullable=False),
        sa.Column('pdf', sa.Boolean(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['course_id'], ['courses.id'],
                                name=op.f('fk_report_subscriptions_course_id_courses'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
                                name=op.f('fk_report_subscriptions_created_by_id_users'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['unit_id'], ['org_units.id'],
                                name=op.f('fk_report_subscriptions_unit_id_org_units'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_report_subscriptions_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_report_subscriptions')),
    )
    op.create_index(op.f('ix_report_subscriptions_user_id'), 'report_subscriptions', ['user_id'], unique=False)
    op.create_table(
        'report_deliveries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('subscription_id', sa.Integer(), nullable=False),
        sa.Column('period', sa.String(length=10), nullable=False),
        sa.Column('status', _enum('status', 'pending', 'sent', 'failed', 'skipped'), nullable=False),
        sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('rate', sa.Double(), nullable=True),
        sa.Column('detail', sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(['subscription_id'], ['report_subscriptions.id'],
                                name=op.f('fk_report_deliveries_subscription_id_report_subscriptions'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_report_deliveries')),
        sa.UniqueConstraint('subscription_id', 'period', name=op.f('uq_report_deliveries_subscription_id_period')),
    )
    op.create_index(op.f('ix_report_deliveries_subscription_id'), 'report_deliveries', ['subscription_id'],
                    unique=False)


def downgrade():
    op.drop_index(op.f('ix_report_deliveries_subscription_id'), table_name='report_deliveries')
    op.drop_table('report_deliveries')
    op.drop_index(op.f('ix_report_subscriptions_user_id'), table_name='report_subscriptions')
    op.drop_table('report_subscriptions')
