"""audit_events: folded_target, the target as the audit log compares it, kept by the database and indexed

The audit log of a unit tree (its managers' page and CSV), its person filter and the export of
a person's data compare each event's target, lower-case and trimmed, with the person's
addresses and directory user names (mooc/privacy/names.py). Folded at read time, that read every
event of the log on every pass (0.8-1.1 s a manager's page past 1,000,000 events on PostgreSQL,
docs/performance.md). The folded target is now a generated column, written by the database on
every insert and update of ``target`` (STORED on PostgreSQL, VIRTUAL on SQLite, the only kind
SQLite adds to an existing table), with an index: the log finds the events through it. The
index holds the action too, and on PostgreSQL the target, actor and time (INCLUDE): the page's
pass grouped by action reads the index only.

On PostgreSQL adding the column rewrites the table under an exclusive lock (a few seconds a
million events: docs/performance.md gives the time measured); SQLite computes it on reading.

Revision ID: e8a2c4f6b0d3
Revises: a1e7c3b5d9f2
Create Date: 2026-12-06 06:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e8a2c4f6b0d3'
down_revision = 'a1e7c3b5d9f2'
branch_labels = None
depends_on = None

FOLDED_TARGET = 'lower(ltrim(rtrim(target)))'  # mooc.auth.models.FOLDED_TARGET, as it was written here


def upgrade():
    # STORED on PostgreSQL (it indexes no other kind); SQLite adds only VIRTUAL ones to a table
    stored = True if op.get_bind().dialect.name == 'postgresql' else None
    op.add_column('audit_events', sa.Column('folded_target', sa.String(),
                                            sa.Computed(FOLDED_TARGET, persisted=stored), nullable=True))
    # with the action (and on PostgreSQL the target, actor and time): the page's pass grouped by
    # action reads the index only
    op.create_index('ix_audit_events_folded_target', 'audit_events', ['folded_target', 'action'], unique=False,
                    postgresql_include=['target', 'actor_id', 'at'])


def downgrade():
    op.drop_index('ix_audit_events_folded_target', table_name='audit_events')
    op.drop_column('audit_events', 'folded_target')
