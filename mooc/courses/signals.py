"""What the courses tell the domains above them (search...), which they must not import.

Receivers run synchronously, in the sync's transaction: what they write commits or rolls
back with the sync.
"""

from blinker import Namespace

_signals = Namespace()

lessons_synced = _signals.signal("lessons-synced")
"""A sync added, changed, archived or restored lessons (or archived or restored their course).
kwargs: lesson_ids (sorted list[int]). Sent once per sync, after the rows are flushed."""

programs_synced = _signals.signal("programs-synced")
"""A sync of the whole courses folder wrote its courses; the programmes of ``_chuong-trinh/``
(plain data, mooc/formats/program.py) are for the training domain to store, in the same
transaction. kwargs: programs (list[ProgramSource]), steps (dict: programme id -> its steps,
included programmes put in place), course_ids (dict: course key -> row id), report (SyncReport:
receivers add their lines to ``added``, ``changed``, ``renamed``, ``archived``, ``restored``),
render_intro ((ProgramSource, the stored intro_hash) -> (hash, HTML) or None when unchanged: the
introduction rendered like a lesson, its links resolved as the courses'). Not sent when one
course folder is synced alone."""
