"""What the courses tell the domains above them (search...), which they must not import.

Receivers run synchronously, in the sync's transaction: what they write commits or rolls
back with the sync.
"""

from collections.abc import Callable
from typing import Any

from blinker import Namespace

_signals = Namespace()

lessons_synced = _signals.signal("lessons-synced")
"""A sync added, changed, archived or restored lessons (or archived or restored their course).
kwargs: lesson_ids (sorted list[int]); prepared ({name: {lesson id: (title, html, result)}}:
what each of lesson_preparers made of a lesson rendered in this sync, keyed by the title and
HTML it was made from). Sent once per sync, after the rows are flushed."""

lesson_preparers: dict[str, Callable[[str, str, str], Any]] = {}
"""Pure work a domain above does on each lesson the sync renders (the search index: its
sections and words), done where the lesson is rendered: in the render workers of a cold sync,
so both cores share it. name -> function(title, html, dialect name) -> a picklable result that
depends on nothing else. Its results reach lessons_synced's receivers as ``prepared``; a
receiver uses one only for a lesson whose stored title and HTML are those it was made from."""

programs_synced = _signals.signal("programs-synced")
"""A sync of the whole courses folder wrote its courses; the programmes of ``_chuong-trinh/``
(plain data, mooc/formats/program.py) are for the training domain to store, in the same
transaction. kwargs: programs (list[ProgramSource]), steps (dict: programme id -> its steps,
included programmes put in place), course_ids (dict: course key -> row id), report (SyncReport:
receivers add their lines to ``added``, ``changed``, ``renamed``, ``archived``, ``restored``),
render_intro ((ProgramSource, the stored intro_hash) -> (hash, HTML) or None when unchanged: the
introduction rendered like a lesson, its links resolved as the courses'). Not sent when one
course folder is synced alone."""
