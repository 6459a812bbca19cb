"""What the courses tell the domains above them (search...), which they must not import.

Receivers run synchronously, in the sync's transaction: what they write commits or rolls
back with the sync.
"""

from blinker import Namespace

_signals = Namespace()

lessons_synced = _signals.signal("lessons-synced")
"""A sync added, changed, archived or restored lessons (or archived or restored their course).
kwargs: lesson_ids (sorted list[int]). Sent once per sync, after the rows are flushed."""
