"""training: each course cycle says whose it is, by one rule (docs/architecture.md, "Sources of a cycle")

A cycle several sources want is shared; ``source`` names the strongest holder (a manager, a
rule, a programme, the trainee), ``rule_id`` the rule that requires it, ``program_id`` is set
only while the cycle is the programme's. Earlier versions left cycles that say otherwise:

- a rule reopened a cycle a programme had opened and closed, and it kept ``source = 'program'``
  (with the rule's ``rule_id``): it is the rule's;
- a rule took over a programme's cycle, or a manager or the trainee enrolled again in one, and
  it kept the programme's ``program_id`` (the reminders named the programme): cleared;
- the trainee joined again a cycle a rule had closed, and it kept the rule's ``rule_id`` (its
  completion would expire as the rule renews): cleared.

Only these columns change here, not ``required`` nor the due date, so the reports' summary
(``report_people``) stays as it is. The next ``mooc training assign`` (nightly) settles the
rest with the current rules: a rule's cycle left optional becomes required, a cycle no rule
covers any more passes to a programme of the person that holds it or closes, a manager's
cycle a rule covers notes the rule.

The downgrade changes nothing back: the old attribution is not worth keeping.

Revision ID: a1e7c3b5d9f2
Revises: d2f4a6c8e0b1
Create Date: 2026-12-10 09:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'a1e7c3b5d9f2'
down_revision = 'd2f4a6c8e0b1'
branch_labels = None
depends_on = None


def upgrade():
    op.execute("UPDATE enrolments SET source = 'rule', program_id = NULL "
               "WHERE source = 'program' AND rule_id IS NOT NULL")
    op.execute("UPDATE enrolments SET program_id = NULL WHERE source <> 'program' AND program_id IS NOT NULL")
    op.execute("UPDATE enrolments SET rule_id = NULL "
               "WHERE source IN ('self', 'import') AND rule_id IS NOT NULL")


def downgrade():
    pass
