"""programs: the introduction rendered like a lesson (intro_html), and what it was rendered from

A programme's introduction is Markdown (docs/authoring.md, "Programmes"), but the path page
showed it as typed: ``**bold**`` with its stars, a link as brackets. It is now rendered at sync
through the lessons' renderer and sanitiser, and stored: ``intro_html``; ``intro_hash`` is what
it was rendered from (the Markdown, the renderer's version, where its links lead), so the sync
renders it again when any of them changes.

Existing rows get an empty ``intro_hash``, which no introduction has: the next
``mooc courses sync`` renders every programme's introduction (a migration does not run the
Markdown renderer, whose links need the courses folder). Until then the page shows the
introduction as before, as plain paragraphs. The downgrade drops both columns.

Revision ID: b7d2e4f6a8c1
Revises: b7d3f19a2c60
Create Date: 2026-12-06 09:20:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b7d2e4f6a8c1'
down_revision = 'b7d3f19a2c60'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('intro_html', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('intro_hash', sa.String(length=64), server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.drop_column('intro_hash')
        batch_op.drop_column('intro_html')
