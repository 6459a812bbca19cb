"""Pure work spread over forked worker processes, for the bulk paths of a course sync.

`fork_map(function, items, shared)` is `[function(item) for item in items]`, computed in
worker processes when there are enough items and more than one CPU, else in this process.
``function`` must be pure (its result depends only on the item and ``shared``) and defined at
module level; it reads ``shared`` (the link map, say) with `shared()`: the workers inherit it
when they are forked, so it is never pickled. The results come back in the items' order, and
are the same either way: the caller writes them in its own transaction, in this process.

Workers are forked (they inherit the loaded modules and start in milliseconds), so only from
a process that runs a single thread: forking a threaded one (the development server's
preview) could copy a lock another thread holds. They never touch the database: the parent's
connections are inherited but unused, and a worker ends with os._exit (multiprocessing's
fork), which closes nothing the parent still uses.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

MIN_ITEMS = 64  # fewer items than this: computed here (starting workers costs more than it saves)
MAX_WORKERS = 4
_shared: Any = None


def shared() -> Any:
    """What the caller of fork_map passed as ``shared`` (in a worker, or in this process)."""
    return _shared


def workers_for(count: int, min_items: int | None = None) -> int:
    """How many worker processes fork_map would use for ``count`` items (0: none)."""
    if count < (MIN_ITEMS if min_items is None else min_items) or threading.active_count() > 1:
        return 0
    if "fork" not in multiprocessing.get_all_start_methods():
        return 0
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return min(cpus, MAX_WORKERS, count) if cpus > 1 else 0


def fork_map(
    function: Callable[[T], R], items: Sequence[T], shared: Any = None, min_items: int | None = None
) -> tuple[list[R], int]:
    """``[function(item) for item in items]`` and the number of worker processes used."""
    global _shared
    workers = workers_for(len(items), min_items)
    previous, _shared = _shared, shared
    try:
        if not workers:
            return [function(item) for item in items], 0
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            chunk = max(1, len(items) // (workers * 8))
            return list(pool.map(function, items, chunksize=chunk)), workers
    finally:
        _shared = previous


@contextmanager
def fork_imap(
    function: Callable[[T], R], items: Sequence[T], shared: Any = None, min_items: int | None = None
) -> Iterator[tuple[Iterator[R], int]]:
    """fork_map whose results are taken as they come, in the items' order, while the workers go
    on: the caller does its own work on the first results meanwhile. Yields (the results, the
    number of workers); with no workers (too few items, one CPU, a threaded process), each
    result is computed here when it is taken. Leaving the block stops the workers (the
    results not taken are dropped)."""
    global _shared
    workers = workers_for(len(items), min_items)
    if not workers:
        previous, _shared = _shared, shared
        try:
            yield (function(item) for item in items), 0
        finally:
            _shared = previous
        return
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"))
    try:
        previous, _shared = _shared, shared
        try:  # the workers are forked by the first submission, here: they inherit ``shared``
            results = pool.map(function, items, chunksize=max(1, len(items) // (workers * 8)))
        finally:
            _shared = previous
        yield results, workers
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
