"""legal: the registry of legal documents and each lesson's declared basis

The courses sync writes `courses/_phap-ly.yaml` into legal_documents and each lesson's
front matter `legal:` into lesson_legal_basis, in its one transaction.

Revision ID: c3d9a1f5e842
Revises: e5b0c7d3f2a1
Create Date: 2026-12-05 09:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'c3d9a1f5e842'
down_revision = 'e5b0c7d3f2a1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'legal_documents',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=80), nullable=False),
        sa.Column('number', sa.String(length=80), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('title', sa.String(length=400), nullable=False),
        sa.Column('issuer', sa.String(length=200), nullable=False),
        sa.Column('signed_on', sa.Date(), nullable=True),
        sa.Column('in_force_on', sa.Date(), nullable=True),
        sa.Column('superseded_from', sa.Date(), nullable=True),
        sa.Column('superseded_by', sa.JSON(), nullable=False),
        sa.Column('superseded_extent', sa.String(length=10), nullable=True),
        sa.Column('source_url', sa.String(length=500), nullable=False),
        sa.Column('verified', sa.Boolean(), nullable=False),
        sa.Column('archived', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_legal_documents')),
        sa.UniqueConstraint('key', name=op.f('uq_legal_documents_key')),
    )
    with op.batch_alter_table('legal_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_legal_documents_superseded_from'), ['superseded_from'], unique=False)
    op.create_table(
        'lesson_legal_basis',
        sa.Column('lesson_id', sa.Integer(), nullable=False),
        sa.Column('document_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['document_id'], ['legal_documents.id'],
                                name=op.f('fk_lesson_legal_basis_document_id_legal_documents')),
        sa.ForeignKeyConstraint(['lesson_id'], ['lessons.id'], ondelete='CASCADE',
                                name=op.f('fk_lesson_legal_basis_lesson_id_lessons')),
        sa.PrimaryKeyConstraint('lesson_id', 'document_id', name=op.f('pk_lesson_legal_basis')),
    )
    with op.batch_alter_table('lesson_legal_basis', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lesson_legal_basis_document_id'), ['document_id'], unique=False)


def downgrade():
    with op.batch_alter_table('lesson_legal_basis', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lesson_legal_basis_document_id'))
    op.drop_table('lesson_legal_basis')
    with op.batch_alter_table('legal_documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_legal_documents_superseded_from'))
    op.drop_table('legal_documents')
