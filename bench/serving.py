"""Serving benchmark: the app under gunicorn next to a bare Flask page, on loopback.

    python bench/serving.py --database-url URL --manifest instance/bench-manifest.json [--seconds 10]

Both are served by ``mooc.serving.serve`` (what ``mooc serve`` runs) with the same workers and
threads, in processes of their own; a signed-in trainee's lesson page, course page and home page and a
province manager's report page are loaded for a fixed time at 8 connections, with the bare
page (bench/bare_app.py) loaded before and after them as the reference. The database must
hold a dataset from bench/generate.py, whose manifest names the accounts.

This module also holds what the other live benchmarks share: a server process, a client
that signs in through the real form, the page-weight measure and a profile of a page.
"""

from __future__ import annotations

import argparse
import cProfile
import gzip
import http.client
import io
import json
import os
import pstats
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    CSRF_RE,
    ROOT,
    Result,
    database_label,
    fmt_ms,
    make_app,
    print_results,
    server_env,
    signed_in_client,
)
from bench.load import Load, only_loopback, run_load

ASSET_RE = re.compile(r'<(?:link[^>]*rel="stylesheet"[^>]*href|script[^>]*src)="([^"]+)"')
LESSON_TARGET_RATIO = 0.5
COURSE_TARGET_RATIO = 0.35
HOME_TARGET_RATIO = 0.35  # the trainee's home page (issue 20)
# A manager's own-unit report (issue 20): 0.2 x at 10,000 staff, 0.05 x at 100,000 and more.
REPORT_TARGET_RATIO = {10_000: 0.2, 100_000: 0.05}


def report_target_ratio(size: str) -> float | None:
    """The report page's target for a dataset of ``size`` ("10,000 staff"), None below 10,000."""
    digits = "".join(ch for ch in size.split(" staff")[0] if ch.isdigit())
    staff = int(digits) if digits else 0
    reached = [ratio for floor, ratio in REPORT_TARGET_RATIO.items() if staff >= floor]
    return reached[-1] if reached else None
P99_TARGET = 0.050
PAGE_WEIGHT_TARGET = 60 * 1024


TARGETS = {  # by the first word of a page's label
    "lesson": f"≥ {LESSON_TARGET_RATIO:.1f} x bare; p99 < {P99_TARGET * 1000:.0f} ms",
    "course": f"≥ {COURSE_TARGET_RATIO:.2f} x bare",
    "home": f"≥ {HOME_TARGET_RATIO:.2f} x bare",
}


def course_path(manifest: dict[str, Any]) -> str:
    """The course page of the trainee's lesson (the manifest names the lesson)."""
    return manifest.get("course_path") or manifest["lesson_path"].split("/lessons/")[0]


def default_workers() -> int:
    from mooc.serving import default_workers as mooc_default

    return mooc_default()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """``mooc.serving.serve`` (gunicorn) in a process of its own, on a free loopback port."""

    def __init__(
        self, kind: str, database_url: str, instance_dir: Path, workers: int, threads: int, ready_path: str
    ) -> None:
        self.kind, self.port = kind, free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--serve",
            kind,
            "--database-url",
            database_url,
            "--instance-dir",
            str(instance_dir),
            "--port",
            str(self.port),
            "--workers",
            str(workers),
            "--threads",
            str(threads),
        ]
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the server; closed on exit)
        self.process = subprocess.Popen(
            command,
            env=server_env(database_url, instance_dir),
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 90
        while True:
            try:
                probe = Client(self.base)
                try:
                    status, _headers, _body = probe.request("GET", ready_path)
                finally:
                    probe.close()
                if status < 500:
                    break
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                output = self.output()
                self.stop()
                raise RuntimeError(f"the {kind} server did not start:\n{output[-3000:]}")
            time.sleep(0.2)

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # gunicorn's master and its workers
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        if not self.log.closed:
            self.log.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class Client:
    """A browser of sorts: keeps cookies, follows nothing, one keep-alive connection."""

    base: str
    cookies: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        only_loopback(self.base)
        parts = urlsplit(self.base)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=300)

    def close(self) -> None:
        self.connection.close()

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def request(self, method: str, path: str, form: dict[str, Any] | None = None) -> tuple[int, Any, bytes]:
        headers = {"Cookie": self.cookie_header()} if self.cookies else {}
        body = None
        if form is not None:
            body = urlencode(form, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in range(2):
            try:
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.connection.close()
                if attempt:
                    raise
        for header in response.msg.get_all("Set-Cookie") or []:
            name, _, value = header.split(";", 1)[0].partition("=")
            if value and "Max-Age=0" not in header and "expires=Thu, 01 Jan 1970" not in header:
                self.cookies[name.strip()] = value.strip()
            else:
                self.cookies.pop(name.strip(), None)
        if response.getheader("Connection", "").lower() == "close":
            self.connection.close()
        return response.status, response.msg, data

    def csrf(self, path: str) -> str:
        status, _headers, body = self.request("GET", path)
        match = CSRF_RE.search(body.decode())
        if not match:
            raise RuntimeError(f"no CSRF token on {path} ({status})")
        return match.group(1)

    def login(self, email: str, password: str) -> Client:
        """Sign in through the real form, as a person does."""
        token = self.csrf("/login")
        status, headers, body = self.request(
            "POST", "/login", {"csrf_token": token, "email": email, "password": password, "next": ""}
        )
        if status != 302 or "/login" in (headers.get("Location") or ""):
            raise RuntimeError(f"sign-in of {email} failed ({status}): {body[:300]!r}")
        return self


def wait_idle(server: Server, limit: float = 120) -> float:
    """Wait until ``server`` answers /healthz at once again (the requests a load left in flight
    are done); seconds waited."""
    started = time.monotonic()
    probe = Client(server.base)
    try:
        while time.monotonic() - started < limit:
            began = time.perf_counter()
            probe.request("GET", "/healthz")
            if time.perf_counter() - began < 0.05:
                break
            time.sleep(0.5)
    finally:
        probe.close()
    return time.monotonic() - started


def _check_page(client: Client, path: str) -> int:
    status, _headers, body = client.request("GET", path)
    if status != 200:
        raise RuntimeError(f"GET {path} answered {status}, not 200: {body[:300]!r}")
    return len(body)


def page_weight(client: Client, path: str) -> dict[str, int]:
    """Bytes of HTML, CSS and JS a first visit to ``path`` transfers (images apart), raw and gzip -6."""
    status, _headers, html = client.request("GET", path)
    if status != 200:
        raise RuntimeError(f"GET {path} answered {status}")
    sizes = {"html": len(html), "css": 0, "js": 0}
    compressed = {"html": len(gzip.compress(html, 6)), "css": 0, "js": 0}
    for asset in dict.fromkeys(ASSET_RE.findall(html.decode())):
        asset = asset.replace("&amp;", "&")
        status, _headers, body = client.request("GET", asset)
        if status != 200:
            raise RuntimeError(f"GET {asset} answered {status}")
        kind = "js" if urlsplit(asset).path.endswith(".js") else "css"
        sizes[kind] += len(body)
        compressed[kind] += len(gzip.compress(body, 6))
    return {
        **sizes,
        "total": sum(sizes.values()),
        **{f"{k}_gz": v for k, v in compressed.items()},
        "total_gz": sum(compressed.values()),
    }


def profile_page(
    database_url: str,
    instance_dir: Path,
    email: str,
    password: str,
    path: str,
    requests: int = 30,
    lines: int = 14,
) -> list[str]:
    """Where a page's time goes: cProfile over ``requests`` requests through the test client, with
    the number of SQL statements and the time spent in the database driver."""
    import sqlalchemy as sa

    from mooc.extensions import db

    app = make_app(database_url, instance_dir, SESSION_COOKIE_SECURE=False)
    client = signed_in_client(app, email, password)
    client.get(path)  # warm
    statements = [0, 0.0]

    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_start"] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        statements[0] += 1
        statements[1] += time.perf_counter() - conn.info.pop("bench_start", time.perf_counter())

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", before)
    sa.event.listen(engine, "after_cursor_execute", after)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for _ in range(requests):
        response = client.get(path)
        assert response.status_code == 200, response.status_code
    profiler.disable()
    elapsed = time.perf_counter() - started
    sa.event.remove(engine, "before_cursor_execute", before)
    sa.event.remove(engine, "after_cursor_execute", after)
    with app.app_context():
        db.engine.dispose()
    summary = [
        f"{requests} requests of {path} in-process (test client, cProfile on): {fmt_ms(elapsed / requests)} "
        f"each, {statements[0] / requests:.1f} SQL statements, {fmt_ms(statements[1] / requests)} of them "
        f"in the database driver, per request.",
        "The app's own functions, by cumulative time per request:",
    ]
    summary += _table(profiler, "cumulative", r"/mooc/", lines, requests)
    summary.append("Where the time is spent (own time per request, any code):")
    summary += _table(profiler, "tottime", "", 8, requests)
    return summary


def _table(profiler: cProfile.Profile, order: str, pattern: str, lines: int, requests: int) -> list[str]:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats(order).print_stats(*([pattern] if pattern else []), lines)
    rows = []
    for line in out.getvalue().splitlines():
        parts = line.split(None, 5)
        if len(parts) < 6 or not re.fullmatch(r"[\d/]+", parts[0]) or not re.fullmatch(r"[\d.]+", parts[3]):
            continue
        ncalls, tottime, _percall, cumtime, _percall2, where = parts
        where = re.sub(r".*/(site-packages|work/main|lib/python3\.\d+)/", "", where)
        seconds = float(cumtime if order == "cumulative" else tottime)
        calls = int(ncalls.split("/")[0]) / requests
        rows.append(f"  {seconds * 1000 / requests:8.2f} ms  {calls:7.1f} calls  {where}")
    return rows


# --- the benchmark ------------------------------------------------------------------------------


def bench_serving(
    database_url: str,
    manifest: dict[str, Any],
    instance_dir: Path,
    size: str,
    *,
    seconds: float = 10,
    connections: int = 8,
    workers: int | None = None,
    threads: int = 4,
    tool: str = "auto",
    profile: bool = True,
    log: Any = print,
    command: str = "",
) -> tuple[list[Result], Server | None]:
    """Rows for the serving table. Returns the app server still running (for the exam), or None."""
    workers = workers or default_workers()
    database = database_label(database_url)
    password = manifest["password"]
    results: list[Result] = []
    with Server(
        "bare", database_url, instance_dir, workers, threads, f"/bare/{manifest['lookup_code']}"
    ) as bare:
        app = Server("app", database_url, instance_dir, workers, threads, "/healthz")
        try:
            trainee = Client(app.base).login(manifest["trainee"]["email"], password)
            manager = Client(app.base).login(manifest["manager"]["email"], password)
            pages = [
                ("lesson page (trainee)", app.base + manifest["lesson_path"], trainee),
                ("course page (trainee)", app.base + course_path(manifest), trainee),
                ("home page (trainee)", app.base + "/", trainee),
                (f"report page (manager of {manifest['manager']['unit']})", app.base + "/reports/", manager),
            ]
            bare_url = bare.base + f"/bare/{manifest['lookup_code']}"
            skipped: dict[str, str] = {}  # pages that fail, or take longer than a whole load run
            for label, url, client in pages:
                started = time.perf_counter()
                try:
                    _check_page(client, urlsplit(url).path)
                except (OSError, RuntimeError, http.client.HTTPException) as error:
                    skipped[label] = f"FAILED: {type(error).__name__}: {error}"[:300]
                    client.close()
                    continue
                single = time.perf_counter() - started
                if single > seconds:
                    skipped[label] = f"one request took {single:.1f} s: too slow to load for {seconds:.0f} s"
            live = [page for page in pages if page[0] not in skipped]
            for _label, url, client in live:  # warm every worker's caches, as a running server has them
                run_load(url, 1, connections, {"Cookie": client.cookie_header()}, tool)
            run_load(bare_url, 1, connections, {}, tool)
            loads: dict[str, Load] = {}
            # The bare page before and after the trainee's pages; the slow report page last. After each
            # load the server finishes the requests still in flight: wait for that before the next.
            first_bare = run_load(bare_url, seconds, connections, {}, tool)
            second_bare = first_bare
            for label, url, client in live:
                if label.startswith("report"):
                    second_bare = run_load(bare_url, seconds, connections, {}, tool)
                loads[label] = run_load(url, seconds, connections, {"Cookie": client.cookie_header()}, tool)
                log(f"    {label}: {loads[label].rps:.0f} req/s, p99 {fmt_ms(loads[label].p99)}")
                wait_idle(app)
            if second_bare is first_bare:
                second_bare = run_load(bare_url, seconds, connections, {}, tool)
            for _label, url, client in live:  # still signed in: the load measured pages, not redirects
                _check_page(client, urlsplit(url).path)
            trainee.close()
            manager.close()
        except BaseException:
            app.stop()
            raise
    try:  # the app server outlives this function only when it returns
        reference_rps = (first_bare.rps + second_bare.rps) / 2
        reference_p99 = max(first_bare.p99, second_bare.p99)
        reference_text = f"bare page {reference_rps:,.0f} req/s, p99 {fmt_ms(reference_p99)}"
        setting = (
            f"{connections} connections, {workers} workers x {threads} threads, {seconds:.0f} s each, "
            f"{first_bare.tool}"
        )
        log(f"    bare page: {first_bare.rps:.0f} / {second_bare.rps:.0f} req/s (before / after)")
        results.append(
            Result(
                "serving",
                "bare Flask page, one indexed query (reference)",
                f"{size}; {setting}",
                database,
                f"{reference_rps:,.0f} req/s; p50 {fmt_ms((first_bare.p50 + second_bare.p50) / 2)}, "
                f"p99 {fmt_ms(reference_p99)}",
                f"before {first_bare.rps:,.0f} / after {second_bare.rps:,.0f} req/s",
                "1.00",
                "—",
                None,
                command,
            )
        )
        for label, url, _client in pages:
            if label in skipped:
                target = TARGETS.get(label.split()[0], "—")
                if label.startswith("report") and report_target_ratio(size) is not None:
                    target = f"≥ {report_target_ratio(size):.2f} x bare"
                results.append(
                    Result(
                        "serving",
                        label,
                        f"{size}; {setting}",
                        database,
                        skipped[label],
                        reference_text,
                        "—",
                        target,
                        False if target != "—" else None,
                        command,
                    )
                )
                log(f"    {label}: {skipped[label]}")
                continue
            load = loads[label]
            ratio = load.rps / reference_rps if reference_rps else 0.0
            value = f"{load.rps:,.0f} req/s; p50 {fmt_ms(load.p50)}, p99 {fmt_ms(load.p99)}"
            if load.errors:
                value += f"; {load.errors} errors"
            if label.startswith("lesson"):
                target = f"≥ {LESSON_TARGET_RATIO:.1f} x bare; p99 < {fmt_ms(P99_TARGET)}"
                met = ratio >= LESSON_TARGET_RATIO and load.p99 < P99_TARGET and not load.errors
            elif label.startswith("course"):
                target = f"≥ {COURSE_TARGET_RATIO:.2f} x bare"
                met = ratio >= COURSE_TARGET_RATIO and not load.errors
            elif label.startswith("home"):
                target = f"≥ {HOME_TARGET_RATIO:.2f} x bare"
                met = ratio >= HOME_TARGET_RATIO and not load.errors
            elif label.startswith("report") and (wanted := report_target_ratio(size)) is not None:
                target = f"≥ {wanted:.2f} x bare"
                met = ratio >= wanted and not load.errors
            else:
                target, met = "—", None
            row = Result(
                "serving",
                label,
                f"{size}; {setting}",
                database,
                value,
                reference_text,
                f"{ratio:.2f}",
                target,
                met,
                command,
            )
            if met is not None and profile:  # every page with a target, met or not (issue 20)
                who = manifest["manager"] if label.startswith("report") else manifest["trainee"]
                row.notes = profile_page(database_url, instance_dir, who["email"], password,
                                         urlsplit(url).path)
            results.append(row)
    except BaseException:
        app.stop()
        raise
    return results, app


def bench_page_weight(
    app: Server, manifest: dict[str, Any], size: str, database: str, command: str = ""
) -> list[Result]:
    password = manifest["password"]
    trainee = Client(app.base).login(manifest["trainee"]["email"], password)
    reporter = Client(app.base).login(manifest["reporter"]["email"], password)
    results = []
    for label, client, path, target in [
        ("page weight: lesson page", trainee, manifest["lesson_path"], PAGE_WEIGHT_TARGET),
        ("page weight: trainee home", trainee, "/", None),
        ("page weight: dashboard (ministry)", reporter, "/reports/", None),
    ]:
        w = page_weight(client, path)
        value = (
            f"{w['total'] / 1024:.1f} KB (HTML {w['html'] / 1024:.1f}, CSS {w['css'] / 1024:.1f}, "
            f"JS {w['js'] / 1024:.1f}); gzip {w['total_gz'] / 1024:.1f} KB"
        )
        met = None if target is None else w["total"] <= target
        results.append(
            Result(
                "page weight",
                label,
                size,
                database,
                value,
                "—",
                "—",
                f"≤ {target // 1024} KB" if target else "—",
                met,
                command,
            )
        )
    trainee.close()
    reporter.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--serve", choices=["app", "bare"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--instance-dir", default=None)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--manifest", default=None, help="from bench/generate.py --manifest")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--tool", choices=["auto", "wrk", "python"], default="auto")
    options = parser.parse_args()
    if options.serve:
        _serve(options)
        return
    manifest = json.loads(Path(options.manifest).read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix="mooc-bench-serve-") as tmp:
        results, app = bench_serving(
            options.database_url,
            manifest,
            Path(options.instance_dir or tmp),
            "",
            seconds=options.seconds,
            connections=options.connections,
            workers=options.workers,
            threads=options.threads,
            tool=options.tool,
        )
        with app:
            results += bench_page_weight(app, manifest, "", database_label(options.database_url))
    print_results(results)


def _serve(options: argparse.Namespace) -> None:
    from mooc.serving import serve

    instance = Path(options.instance_dir or tempfile.mkdtemp(prefix="mooc-bench-"))
    if options.serve == "app":
        app = make_app(options.database_url, instance)
    else:
        from bench.bare_app import create_bare_app

        app = create_bare_app(options.database_url)
    serve(app, "127.0.0.1", options.port, options.workers, options.threads, access_log=False)


if __name__ == "__main__":
    main()
