"""Required training: assignment rules, enrolments, progress to completion, certificates."""
