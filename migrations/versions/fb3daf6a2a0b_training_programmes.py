"""training: programmes (courses/_chuong-trinh/*.md): the programmes and their steps, who
follows which (program_enrolments), their certificates; a rule may target a programme
(assignment_rules.program_id, one target: check constraint); a course enrolment opened by a
programme says so (enrolments.source 'program', enrolments.program_id)

Revision ID: fb3daf6a2a0b
Revises: d4a8c2e6f1b9
Create Date: 2026-12-05 11:36:39

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'fb3daf6a2a0b'
down_revision = 'd4a8c2e6f1b9'
branch_labels = None
depends_on = None

OLD = ('rule', 'manual', 'self', 'import')
NEW = ('rule', 'manual', 'self', 'import', 'program')


def _source(values):
    return sa.Enum(*values, name='source', native_enum=False, create_constraint=True, length=20)


def upgrade():
    op.create_table('programs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('code', sa.String(length=100), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('intro', sa.Text(), nullable=False),
    sa.Column('source_path', sa.String(length=300), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('archived', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_programs')),
    sa.UniqueConstraint('key', name=op.f('uq_programs_key'))
    )
    op.create_table('program_steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('pick', sa.Integer(), nullable=False),
    sa.Column('after_previous', sa.Boolean(), nullable=False),
    sa.Column('optional', sa.Boolean(), nullable=False),
    sa.CheckConstraint('pick > 0', name=op.f('ck_program_steps_pick_positive')),
    sa.ForeignKeyConstraint(['program_id'], ['programs.id'], name=op.f('fk_program_steps_program_id_programs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_program_steps')),
    sa.UniqueConstraint('program_id', 'position', name=op.f('uq_program_steps_program_id_position'))
    )
    op.create_table('program_step_courses',
    sa.Column('step_id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_program_step_courses_course_id_courses')),
    sa.ForeignKeyConstraint(['step_id'], ['program_steps.id'], name=op.f('fk_program_step_courses_step_id_program_steps'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('step_id', 'course_id', name=op.f('pk_program_step_courses'))
    )
    op.create_table('program_enrolments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('cycle', sa.Integer(), nullable=False),
    sa.Column('latest', sa.Boolean(), nullable=False),
    sa.Column('source', sa.Enum('rule', 'manual', 'self', 'import', 'program', name='source', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=True),
    sa.Column('assigned_on', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('steps_done', sa.Integer(), nullable=False),
    sa.Column('steps_required', sa.Integer(), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['program_id'], ['programs.id'], name=op.f('fk_program_enrolments_program_id_programs')),
    sa.ForeignKeyConstraint(['rule_id'], ['assignment_rules.id'], name=op.f('fk_program_enrolments_rule_id_assignment_rules'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_program_enrolments_staff_id_staff'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_program_enrolments')),
    sa.UniqueConstraint('staff_id', 'program_id', 'cycle', name=op.f('uq_program_enrolments_staff_id_program_id_cycle'))
    )
    with op.batch_alter_table('program_enrolments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_program_enrolments_program_id'), ['program_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_program_enrolments_staff_id'), ['staff_id'], unique=False)
        batch_op.create_index('uq_program_enrolments_latest', ['staff_id', 'program_id'], unique=True, sqlite_where=sa.text('latest'), postgresql_where=sa.text('latest'))

    op.create_table('program_certificates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program_enrolment_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('holder_name', sa.String(length=200), nullable=False),
    sa.Column('program_title', sa.String(length=300), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_reason', sa.String(length=300), nullable=True),
    sa.ForeignKeyConstraint(['program_enrolment_id'], ['program_enrolments.id'], name=op.f('fk_program_certificates_program_enrolment_id_program_enrolments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_program_certificates')),
    sa.UniqueConstraint('code', name=op.f('uq_program_certificates_code')),
    sa.UniqueConstraint('program_enrolment_id', name=op.f('uq_program_certificates_program_enrolment_id'))
    )
    with op.batch_alter_table('assignment_rules', schema=None) as batch_op:
        batch_op.add_column(sa.Column('program_id', sa.Integer(), nullable=True))
        batch_op.alter_column('course_id',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.create_index(batch_op.f('ix_assignment_rules_program_id'), ['program_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_assignment_rules_program_id_programs'), 'programs', ['program_id'], ['id'])
        batch_op.create_check_constraint(op.f('ck_assignment_rules_one_target'),
                                         '(course_id IS NULL) <> (program_id IS NULL)')

    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('program_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_enrolments_program_id_programs'), 'programs', ['program_id'], ['id'], ondelete='SET NULL')
        batch_op.drop_constraint(op.f('ck_enrolments_source'), type_='check')
        batch_op.alter_column('source', existing_type=sa.String(length=20), type_=_source(NEW),
                              existing_nullable=False)


def downgrade():
    # a course a programme opened stays, as enrolled by hand; rules for programmes go
    op.execute("UPDATE enrolments SET source = 'manual' WHERE source = 'program'")
    op.execute("DELETE FROM assignment_rules WHERE program_id IS NOT NULL")
    with op.batch_alter_table('enrolments', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_enrolments_program_id_programs'), type_='foreignkey')
        batch_op.drop_column('program_id')
        batch_op.drop_constraint(op.f('ck_enrolments_source'), type_='check')
        batch_op.alter_column('source', existing_type=sa.String(length=20), type_=_source(OLD),
                              existing_nullable=False)

    with op.batch_alter_table('assignment_rules', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_assignment_rules_one_target'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_assignment_rules_program_id_programs'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_assignment_rules_program_id'))
        batch_op.alter_column('course_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('program_id')

    op.drop_table('program_certificates')
    with op.batch_alter_table('program_enrolments', schema=None) as batch_op:
        batch_op.drop_index('uq_program_enrolments_latest', sqlite_where=sa.text('latest'), postgresql_where=sa.text('latest'))
        batch_op.drop_index(batch_op.f('ix_program_enrolments_staff_id'))
        batch_op.drop_index(batch_op.f('ix_program_enrolments_program_id'))

    op.drop_table('program_enrolments')
    op.drop_table('program_step_courses')
    op.drop_table('program_steps')
    op.drop_table('programs')
