"""Progress of long jobs (a roster import, a course sync, the nightly assignment, reminders).

The domain functions take an optional ``progress`` (default ``SILENT``) and tell it their
phases and steps: ``progress.phase(_("Writing"), total)`` then ``progress.advance()`` per
step. They never print. The command line turns it into a click progress bar on standard
error when that is a terminal (``for_command``); to cron, CI, a pipe, with ``--quiet`` and
with ``--format json`` it stays silent, and only the final summary is printed.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TextIO

import click
from flask_babel import lazy_gettext as _l

# The phases' names, shown in the interface language (MOOC_DEFAULT_LOCALE for commands).
READING = _l("Reading the file")
COMPARING = _l("Comparing")
WRITING = _l("Writing")
CHECKING = _l("Checking")
SENDING = _l("Sending")
INDEXING = _l("Indexing")
ASSIGNING = _l("Applying the rules")
PSEUDONYMISING = _l("Pseudonymising")


class Progress(Protocol):
    """What a long job reports: named phases (with a step count when known) and steps done."""

    def phase(self, name: str, total: int | None = None) -> None: ...

    def advance(self, steps: int = 1) -> None: ...


class _Silent:
    def phase(self, name: str, total: int | None = None) -> None:
        pass

    def advance(self, steps: int = 1) -> None:
        pass


SILENT: Progress = _Silent()


def _unknown_length() -> Iterator[int]:
    yield from ()


class TerminalProgress:
    """A click progress bar per phase, on ``stream`` (a terminal): label, bar, count, estimate.
    Steps are passed to the bar at most every ``interval`` seconds, so 100,000 rows cost
    nothing noticeable."""

    def __init__(self, stream: TextIO, interval: float = 0.1) -> None:
        self.stream = stream
        self.interval = interval
        self.bar: Any = None
        self.pending = 0
        self.shown_at = 0.0

    def phase(self, name: str, total: int | None = None) -> None:
        self.close()
        options: dict[str, Any] = {"label": str(name), "file": self.stream, "show_pos": total is not None,
                                   "width": 30}
        if total is None:  # click draws a bar that moves to and fro, with the count only
            self.bar = click.progressbar(_unknown_length(), show_eta=False, **options)
        else:
            self.bar = click.progressbar(length=max(total, 0), show_eta=True, **options)
        self.bar.__enter__()
        self.shown_at = time.monotonic()

    def advance(self, steps: int = 1) -> None:
        if self.bar is None:
            return
        self.pending += steps
        now = time.monotonic()
        if now - self.shown_at >= self.interval:
            self._flush()
            self.shown_at = now

    def _flush(self) -> None:
        if self.bar.length is not None and self.bar.pos + self.pending > self.bar.length:
            self.bar.length = self.bar.pos + self.pending  # a row estimate that was short
        self.bar.update(self.pending)
        self.pending = 0

    def close(self) -> None:
        if self.bar is None:
            return
        if self.pending:
            self._flush()
        if self.bar.length is not None and self.bar.pos < self.bar.length:
            self.bar.length = self.bar.pos  # finished early (blank rows): show it done
        self.bar.__exit__(None, None, None)
        self.bar = None


def shows_progress(quiet: bool = False, output: str = "text", stream: TextIO | None = None) -> bool:
    """A bar only for a person at a terminal: never with --quiet, --format json, or when standard
    error is a file, a pipe or cron's mail."""
    stream = stream or sys.stderr
    return not quiet and output == "text" and stream.isatty()


@contextmanager
def for_command(quiet: bool = False, output: str = "text") -> Iterator[Progress]:
    """The progress to hand to a domain function from a command."""
    if not shows_progress(quiet, output):
        yield SILENT
        return
    terminal = TerminalProgress(sys.stderr)
    try:
        yield terminal
    finally:
        terminal.close()


def quiet_option(function: Callable[..., Any]) -> Callable[..., Any]:
    """``-q/--quiet``: no progress bar, only the final summary (as when not at a terminal)."""
    return click.option("-q", "--quiet", is_flag=True,
                        help="No progress bar, only the final summary (the default when "
                             "standard error is not a terminal).")(function)
