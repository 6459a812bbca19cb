"""A page's cost per request in machine instructions, in-process, next to the bare page's.

    python bench/page_instructions.py --database-url URL --manifest M --path /reports/ --as manager
    python bench/page_instructions.py --database-url URL --manifest M --tree /tmp/before ...

Counted by valgrind's callgrind (Debian's ``valgrind``), which counts the instructions the
process runs rather than timing them: the same code, data and requests give the same count
(within 0.3 %) whatever else the machine is doing. On a 2-core machine shared with test suites
and other benchmarks, timings move 2-3 x between runs; this does not, so a change of a few per
cent can be measured. Instructions are not seconds (a cache miss costs more than an addition),
so the serving benchmark (``bench/serving.py``) stays the judge of the targets; this is the
ruler for the work in between.

The page is requested as in ``bench/page_cpu.py`` (signed in through the real form, warmed, the
heap frozen as ``mooc serve``'s workers do), and only the measured requests are counted
(``callgrind_control -i on`` after the warm-up). The bare page (bench/bare_app.py: one
indexed query, one small template) is counted the same way, so the ratio is the page's
in-process cost against any Flask page's. On SQLite the count includes the SQL's own work; on
PostgreSQL the server's work is not counted.

``--tree DIR`` measures the code in DIR (e.g. an older commit from ``git archive``) with this
venv and dataset.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


def count(args: argparse.Namespace, bare: bool) -> float:
    """Instructions per request of the page (or of the bare page), in a valgrind child."""
    tree = Path(args.tree or ROOT)
    with tempfile.TemporaryDirectory() as tmp:
        command = ["valgrind", "--tool=callgrind", "--instr-atstart=no",
                   f"--callgrind-out-file={tmp}/callgrind.out", sys.executable, str(Path(__file__).resolve()),
                   "--child", "--tree", str(tree), "--database-url", args.database_url,
                   "--manifest", args.manifest, "--path", args.path, "--as", args.who,
                   "--requests", str(args.requests)]
        if bare:
            command.append("--bare")
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    found = COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        sys.exit(f"valgrind failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return int(found.group(1)) / args.requests


EMPTY = "/_bench/empty"


def add_empty_view(app) -> None:
    """A signed-in view that does nothing but ask who is signed in: the floor every signed-in
    page pays (the session check, the transaction, the cookie, Flask and Flask-Login)."""
    from flask_login import current_user

    def empty() -> str:
        return str(current_user.id)

    app.add_url_rule(EMPTY, "bench_empty", empty)


def child(args: argparse.Namespace) -> None:
    sys.path.insert(0, args.tree)
    manifest = json.loads(Path(args.manifest).read_text())
    if args.bare:
        from bench.bare_app import create_bare_app

        client = create_bare_app(args.database_url).test_client()
        path = f"/bare/{manifest['lookup_code']}"
    else:
        from bench.common import make_app, signed_in_client

        app = make_app(args.database_url, Path(tempfile.mkdtemp()), SESSION_COOKIE_SECURE=False)
        path = args.path
        if path == EMPTY:
            add_empty_view(app)
        client = signed_in_client(app, manifest[args.who]["email"])
    for _ in range(20):
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
    import gc

    gc.collect()
    gc.freeze()  # as mooc serve's workers, once warm (mooc/serving.py)
    subprocess.run(["callgrind_control", "-i", "on", str(os.getpid())], capture_output=True, check=True)
    for _ in range(args.requests):
        client.get(path)
    sys.stdout.flush()
    os._exit(0)  # not the interpreter's shutdown: it would be counted (about 40 M instructions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--manifest", required=True, help="from bench/generate.py --manifest")
    parser.add_argument("--path", default="/reports/",
                        help=f"the page; {EMPTY} is a signed-in view that does nothing (the floor)")
    parser.add_argument("--as", dest="who", default="manager", choices=["manager", "reporter", "trainee"])
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--tree", default=None, help="measure the code in this folder (default: this one)")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare page")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--bare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    page = count(args, bare=False)
    line = f"{args.path} as {args.who}: {page / 1e6:.2f} M instructions per request (x {args.requests})"
    if not args.no_bare:
        bare = count(args, bare=True)
        line += f"; bare page {bare / 1e6:.2f} M; page / bare {page / bare:.2f}"
    print(line)


if __name__ == "__main__":
    main()
