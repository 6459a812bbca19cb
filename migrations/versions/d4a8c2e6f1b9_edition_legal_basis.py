"""courses, reports: the legal basis of each course edition, and who is current with it

A completion rests on the documents the lessons of the edition completed declared, not on
what the course's lessons declare now (an author who updates a lesson to a new decree does not
change what an earlier completion rested on). ``course_editions.legal`` keeps the documents'
keys (NULL: not recorded); ``legal_superseded_from`` the earliest day one of them is wholly
superseded (kept by the sync as the registry changes). The summary table counts, per person,
completions whose edition's basis is unknown (``legal_unknown``) and the earliest day one
of their completions' basis is superseded (``legal_since``): the reports' "current with the
legal basis" column.

Editions recorded before this revision: the course's current edition takes the basis its
live lessons declare now (it is made of them); older editions are left not recorded.

Revision ID: d4a8c2e6f1b9
Revises: c8e2f4a6b1d3
Create Date: 2026-12-05 12:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'd4a8c2e6f1b9'
down_revision = 'c8e2f4a6b1d3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('course_editions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('legal', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('legal_superseded_from', sa.Date(), nullable=True))
    with op.batch_alter_table('report_people', schema=None) as batch_op:
        batch_op.add_column(sa.Column('legal_unknown', sa.SmallInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('legal_since', sa.Date(), nullable=True))

    connection = op.get_bind()
    editions = sa.table('course_editions', sa.column('id', sa.Integer), sa.column('course_id', sa.Integer),
                        sa.column('content_hash', sa.String), sa.column('legal', sa.JSON),
                        sa.column('legal_superseded_from', sa.Date))
    courses = sa.table('courses', sa.column('id', sa.Integer), sa.column('content_hash', sa.String))
    lessons = sa.table('lessons', sa.column('id', sa.Integer), sa.column('course_id', sa.Integer),
                       sa.column('archived', sa.Boolean))
    basis = sa.table('lesson_legal_basis', sa.column('lesson_id', sa.Integer), sa.column('document_id', sa.Integer))
    documents = sa.table('legal_documents', sa.column('id', sa.Integer), sa.column('key', sa.String),
                         sa.column('superseded_from', sa.Date), sa.column('superseded_extent', sa.String),
                         sa.column('archived', sa.Boolean))
    declared: dict[int, set[int]] = {}
    for course_id, document_id in connection.execute(
            sa.select(lessons.c.course_id, basis.c.document_id)
            .join(basis, basis.c.lesson_id == lessons.c.id).where(lessons.c.archived.is_(False))):
        declared.setdefault(course_id, set()).add(document_id)
    known = {row.id: row for row in connection.execute(sa.select(documents))}
    current = connection.execute(
        sa.select(editions.c.id, editions.c.course_id)
        .join(courses, sa.and_(courses.c.id == editions.c.course_id,
                               courses.c.content_hash == editions.c.content_hash))).all()
    for edition_id, course_id in current:
        rows = [known[d] for d in sorted(declared.get(course_id, ())) if d in known]
        days = [row.superseded_from for row in rows if row.superseded_from is not None
                and row.superseded_extent != 'partly' and not row.archived]
        connection.execute(editions.update().where(editions.c.id == edition_id).values(
            legal=sorted(row.key for row in rows), legal_superseded_from=min(days) if days else None))
    # The summary's new columns are filled by its next rebuild (`mooc reports rebuild-summary`,
    # or any sync): until then nobody counts as current with the legal basis but by these rows.
    op.execute("""
        UPDATE report_people SET legal_unknown = (
            SELECT count(*) FROM enrolments e
            LEFT JOIN course_editions ce
              ON ce.course_id = e.course_id AND ce.content_hash = e.completed_version
            WHERE e.staff_id = report_people.staff_id AND e.required AND e.closed_at IS NULL
              AND e.latest AND e.state = 'completed' AND ce.legal IS NULL),
        legal_since = (
            SELECT min(ce.legal_superseded_from) FROM enrolments e
            JOIN course_editions ce
              ON ce.course_id = e.course_id AND ce.content_hash = e.completed_version
            WHERE e.staff_id = report_people.staff_id AND e.required AND e.closed_at IS NULL
              AND e.latest AND e.state = 'completed')
    """)


def downgrade():
    with op.batch_alter_table('report_people', schema=None) as batch_op:
        batch_op.drop_column('legal_since')
        batch_op.drop_column('legal_unknown')
    with op.batch_alter_table('course_editions', schema=None) as batch_op:
        batch_op.drop_column('legal_superseded_from')
        batch_op.drop_column('legal')
