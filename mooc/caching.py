"""A process's bounded caches, one set per app (``app.extensions``: one per gunicorn worker,
and a second app or server has its own).

What is kept must be keyed by everything it depends on that can change while the process
runs: a version the database owns (a course's ``courses.version``), or what changes only with
the code (a locale, a role, a route). Entries are never invalidated, only dropped when there
are too many (the oldest quarter first). Safe across threads: a racing miss computes twice,
the same value."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from flask import current_app

T = TypeVar("T")
C = TypeVar("C", bound="KeptCache")


class KeptCache:
    def __init__(self, size: int = 512) -> None:
        self.size = size
        self.entries: dict[tuple, object] = {}
        self.lock = threading.Lock()

    def get(self, key: tuple, compute: Callable[[], T]) -> T:
        try:
            return self.entries[key]  # type: ignore[return-value]
        except KeyError:
            pass
        value = compute()
        self.put(key, value)
        return value

    def peek(self, key: tuple) -> object | None:
        """The entry of ``key``, None when it is not kept (for callers that load misses in bulk)."""
        return self.entries.get(key)

    def put(self, key: tuple, value: object) -> None:
        with self.lock:
            if len(self.entries) >= self.size:
                for old in list(self.entries)[: self.size // 4]:
                    del self.entries[old]
            self.entries[key] = value


class _Unkept(KeptCache):
    """A cache that keeps nothing: each ``get`` computes, ``peek`` finds nothing (for a
    transaction whose reads may rest on its own writes: ``versions.raised_any``)."""

    def __init__(self) -> None:
        super().__init__(0)

    def peek(self, key: tuple) -> object | None:
        return None

    def put(self, key: tuple, value: object) -> None:
        return None


UNKEPT: KeptCache = _Unkept()


def app_cache(name: str, make: Callable[[], C]) -> C:
    """The cache ``name`` of this app, made by ``make`` on first use."""
    extensions = current_app.extensions
    cache = extensions.get(name)
    if cache is None:
        cache = extensions.setdefault(name, make())
    return cache
