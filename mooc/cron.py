"""What every command run by cron shares: stopping cleanly on Ctrl+C or SIGTERM, and saying
which address the links in its mails point to."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import click

from mooc.config import Settings


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """Ctrl+C and SIGTERM set the event instead of killing the run mid-message: the message
    being handed over is confirmed, then the run stops (a second Ctrl+C kills it)."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = {}

    def handler(signum: int, frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        click.echo("Stopping after the current message…", err=True)

    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, handler)
    try:
        yield stop
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def links_line(config: Settings) -> str:
    """Which address the links in the mails start with: a command has no request to ask."""
    if config.base_url_set:
        return f"Links in the mails point to {config.base_url} (MOOC_BASE_URL)."
    return (f"Links in the mails point to {config.base_url}: MOOC_BASE_URL is not set, so the default is "
            "used. Set it to the address people open the site at.")
