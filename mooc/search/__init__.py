"""Search: every live lesson, by section, diacritic- and case-insensitive.

The index is written at course sync (``index.py`` listens to ``courses.signals.lessons_synced``)
and by ``mooc search reindex``; a request only runs the query (``query.py``).
"""

from mooc.search import index as _index  # noqa: F401  (connects the sync hook)
