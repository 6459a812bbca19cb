"""auth: directory_names, the directory user names tied to a person, filled from the audit trail

The audit log's scope, its person filter, the export of a person's data and the retention
purge read which directory user names are a person's (mooc/privacy/names.py). They read it
from the details of every sign-in event (a JSON value per row, on every page); from now on
``audit.record`` keeps each tie in this small table as it records the sign-in, and this
migration ties the names of the events already recorded, by the same rule:

- typed at a sign-in the directory let in (``login.succeeded`` / ``login.second_factor_asked``
  with ``details.login``): tied to the account that signed in;
- typed with the right password when the roster refused the person (``login.failed`` with
  ``details.person``): tied to whom the directory named (a staff code as written, an address
  lower-case).

Names are lower-case and trimmed, by the database (as the audit log folds a target); each tie
once, with the time of its first event.

Revision ID: d2f4a6c8e0b1
Revises: c7d9e1f3a5b7
Create Date: 2026-12-08 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd2f4a6c8e0b1'
down_revision = 'c7d9e1f3a5b7'
branch_labels = None
depends_on = None

SIGNED_IN = """
INSERT INTO directory_names (name, user_id, first_at)
SELECT name, user_id, min(at) FROM (
    SELECT lower(trim(substr({login}, 1, 254))) AS name, actor_id AS user_id, at
    FROM audit_events
    WHERE action IN ('login.succeeded', 'login.second_factor_asked') AND actor_id IS NOT NULL
) AS signed_in
WHERE name IS NOT NULL AND name <> ''
GROUP BY name, user_id
"""

REFUSED = """
INSERT INTO directory_names (name, person, first_at)
SELECT name, person, min(at) FROM (
    SELECT lower(trim(substr(target, 1, 254))) AS name,
           CASE WHEN {person} LIKE '%@%' THEN lower(trim(substr({person}, 1, 254)))
                ELSE trim(substr({person}, 1, 254)) END AS person,
           at
    FROM audit_events
    WHERE action = 'login.failed'
) AS refused
WHERE name IS NOT NULL AND name <> '' AND person IS NOT NULL AND person <> ''
GROUP BY name, person
"""


def _detail(dialect, key):
    """A value of audit_events.details as text (JSON on both databases)."""
    if dialect == 'postgresql':
        return f"(details ->> '{key}')"
    return f"json_extract(details, '$.{key}')"


def upgrade():
    op.create_table(
        'directory_names',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=254), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('person', sa.String(length=254), nullable=True),
        sa.Column('first_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('(user_id IS NULL) <> (person IS NULL)', name=op.f('ck_directory_names_one_owner')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_directory_names_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_directory_names')),
    )
    dialect = op.get_bind().dialect.name
    op.execute(SIGNED_IN.format(login=_detail(dialect, 'login')))
    op.execute(REFUSED.format(person=_detail(dialect, 'person')))
    op.create_index('uq_directory_names_account', 'directory_names', ['user_id', 'name'], unique=True,
                    sqlite_where=sa.text('user_id IS NOT NULL'), postgresql_where=sa.text('user_id IS NOT NULL'))
    op.create_index('uq_directory_names_person', 'directory_names', ['person', 'name'], unique=True,
                    sqlite_where=sa.text('person IS NOT NULL'), postgresql_where=sa.text('person IS NOT NULL'))


def downgrade():
    op.drop_index('uq_directory_names_person', table_name='directory_names')
    op.drop_index('uq_directory_names_account', table_name='directory_names')
    op.drop_table('directory_names')
