"""refreshers: lesson versions, course editions, changed-only renewals

``lesson_versions`` keeps the words of every version of every lesson (one row per lesson
and source hash) and ``course_editions`` the lesson versions each content hash of a course
was made of, so "what changed since the edition you completed" is answered from the
database. ``assignment_rules.renewal`` says whether a renewal asks the whole course or
only what changed (``changed-only``); ``enrolments.refresher_of`` marks such a cycle with the
edition it refreshes.

Backfill: the lessons as they are now become their first recorded version, and each
course's current content hash its first edition (earlier editions were never stored: a
completion of one of them shows "not recorded" rather than a guess).

Revision ID: e5b8d2a0c417
Revises: e5b7c9d1f302
Create Date: 2026-12-05 08:50:00

"""
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa


revision = 'e5b8d2a0c417'
down_revision = 'e5b7c9d1f302'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'lesson_versions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('lesson_id', sa.Integer(), nullable=False),
        sa.Column('source_hash', sa.String(length=64), nullable=False),
        sa.Column('title', sa.String(length=300), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('html', sa.Text(), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['lesson_id'], ['lessons.id'], name=op.f('fk_lesson_versions_lesson_id_lessons')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_lesson_versions')),
        sa.UniqueConstraint('lesson_id', 'source_hash', name=op.f('uq_lesson_versions_lesson_id_source_hash')),
    )
    op.create_table(
        'course_editions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('course_id', sa.Integer(), nullable=False),
        sa.Column('content_hash', sa.String(length=64), nullable=False),
        sa.Column('edition', sa.Integer(), nullable=False),
        sa.Column('source_commit', sa.String(length=64), nullable=True),
        sa.Column('lessons', sa.JSON(), nullable=False),
        sa.Column('current', sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_course_editions_course_id_courses')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_course_editions')),
        sa.UniqueConstraint('course_id', 'content_hash', name=op.f('uq_course_editions_course_id_content_hash')),
    )
    with op.batch_alter_table('assignment_rules', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'renewal', sa.Enum('full', 'changed-only', name='renewal', native_enum=False,
                               create_constraint=True, length=20),
            server_default='full', nullable=False))
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refresher_of', sa.String(length=64), nullable=True))
    _backfill()


def _backfill():
    """The lessons as they are now, and each course's current content hash as an edition."""
    bind = op.get_bind()
    now = datetime.now(UTC)
    if bind.dialect.name == 'sqlite':  # naive UTC there, as mooc.database.UTCDateTime stores it
        now = now.replace(tzinfo=None)
    op.execute(
        "INSERT INTO lesson_versions (lesson_id, source_hash, title, text, html, recorded_at) "
        "SELECT id, source_hash, title, text, html, updated_at FROM lessons WHERE source_hash <> ''"
    )
    lessons = {}
    for row in bind.execute(sa.text(
            "SELECT id, course_id, source_hash FROM lessons WHERE archived = :no ORDER BY id"),
            {"no": False}):
        lessons.setdefault(row.course_id, []).append([row.id, row.source_hash])
    editions = sa.table(
        'course_editions', sa.column('course_id'), sa.column('content_hash'), sa.column('edition'),
        sa.column('source_commit'), sa.column('lessons', sa.JSON()), sa.column('current'),
        sa.column('recorded_at', sa.DateTime(timezone=True)))
    rows = [
        {"course_id": c.id, "content_hash": c.content_hash, "edition": c.edition,
         "source_commit": c.source_commit, "lessons": lessons.get(c.id, []), "current": True,
         "recorded_at": now}
        for c in bind.execute(sa.text(
            "SELECT id, content_hash, edition, source_commit FROM courses WHERE content_hash <> ''"))
    ]
    if rows:
        op.bulk_insert(editions, rows)


def downgrade():
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.drop_column('refresher_of')
    with op.batch_alter_table('assignment_rules', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_assignment_rules_renewal'), type_='check')
        batch_op.drop_column('renewal')
    op.drop_table('course_editions')
    op.drop_table('lesson_versions')
