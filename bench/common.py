"""What every benchmark of the harness shares: the app on a benchmark database, emptying that
database, timing, percentiles, and the result rows that bench/run.py turns into
docs/performance.md.

A benchmark database is emptied (every table dropped) before data is generated into it: give
the harness a database of its own, never one that holds anything else.
"""

from __future__ import annotations

import os
import re
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BENCH_PASSWORD = "bench-mat-khau-2026"  # noqa: S105 (every generated account's; benchmark data only)
SECRET_KEY = "bench-secret-" + "x" * 40
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def database_label(url: str) -> str:
    return "PostgreSQL" if url.startswith("postgresql") else "SQLite"


def sqlite_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'bench.sqlite3'}"


def app_config(url: str, instance_dir: Path, **overrides: Any) -> dict[str, Any]:
    """The config the benchmarks use: production settings but a fixed key and plain cookies
    (loopback HTTP), so the pages measured are the ones people get."""
    config = {
        "ENV": "production",
        "DATABASE_URL": url,
        "INSTANCE_DIR": str(instance_dir),
        "SECRET_KEY": SECRET_KEY,
        "COURSES_AUTOSYNC": False,
        "SESSION_COOKIE_SECURE": False,
        "WTF_CSRF_SSL_STRICT": False,
        "MAIL_BACKEND": "file",
        # The pages are measured, not the code step of sign-in (the session it leaves costs the
        # same): the benchmark's managers and reporters sign in with a password alone.
        "TWO_FACTOR_REQUIRED_ROLES": (),
    }
    config.update(overrides)
    return config


def make_app(url: str, instance_dir: Path, **overrides: Any):
    from mooc import create_app

    return create_app(app_config(url, instance_dir, **overrides))


def signed_in_client(app: Any, email: str, password: str = BENCH_PASSWORD) -> Any:
    """A test client of ``app`` signed in through the real form (the CSRF token read from it)."""
    client = app.test_client()
    token = CSRF_RE.search(client.get("/login").get_data(as_text=True)).group(1)  # type: ignore[union-attr]
    response = client.post("/login", data={"csrf_token": token, "email": email, "password": password})
    assert response.status_code == 302, (email, response.status_code)
    return client


def server_env(url: str, instance_dir: Path) -> dict[str, str]:
    """The same settings as app_config(), as MOOC_* variables for a server process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOOC_")}
    env.update(
        {
            "MOOC_ENV": "production",
            "MOOC_DATABASE_URL": url,
            "MOOC_INSTANCE_DIR": str(instance_dir),
            "MOOC_SECRET_KEY": SECRET_KEY,
            "MOOC_COURSES_AUTOSYNC": "false",
            "MOOC_MAIL_BACKEND": "file",
            "MOOC_TWO_FACTOR_REQUIRED_ROLES": "none",  # as app_config()
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


def drop_everything(engine: Any) -> None:
    import sqlalchemy as sa

    metadata = sa.MetaData()
    metadata.reflect(engine)
    with engine.begin() as connection:
        metadata.drop_all(connection)
        connection.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = function()
    return time.perf_counter() - start, value


def best_of(function: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """(median seconds, best seconds, last value) of ``repeat`` runs."""
    times, value = [], None
    for _ in range(repeat):
        seconds, value = timed(function)
        times.append(seconds)
    return statistics.median(times), min(times), value


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


@dataclass
class Result:
    """One row of the table in docs/performance.md."""

    group: str  # serving, exam, reports, page weight, import, sync, search, generate
    what: str
    size: str
    database: str
    value: str  # the measured time or throughput, as shown
    reference: str  # the reference measured in the same run, as shown ("—" if none)
    ratio: str  # measured / reference, as shown
    target: str  # the target, as shown ("—" if none)
    met: bool | None = None  # None: no target
    command: str = ""
    notes: list[str] = field(default_factory=list)  # a page's profile, a missed target's, caveats

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def print_results(rows: list[Result]) -> None:
    """The rows of a benchmark run on its own, as table lines, with their notes under them."""
    for row in rows:
        met = {True: "met", False: "MISSED", None: "—"}[row.met]
        print(f"| {row.what} | {row.value} | {row.reference} | {row.ratio} | {row.target} | {met} |")
        for note in row.notes:
            print("   ", note)


def fmt_ms(seconds: float) -> str:
    ms = seconds * 1000
    return f"{ms:.0f} ms" if ms >= 100 else f"{ms:.1f} ms" if ms >= 1 else f"{ms:.2f} ms"


def fmt_s(seconds: float) -> str:
    return fmt_ms(seconds) if seconds < 1 else f"{seconds:.2f} s"


def fmt_count(n: int) -> str:
    return f"{n:,}"
