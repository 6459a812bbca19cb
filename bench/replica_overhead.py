"""What the read replica's routing costs the pages that do not use it: ``db.session``'s
``get_bind()`` (``mooc.replica.RoutingSession``, asked once per statement) against
Flask-SQLAlchemy's own ``Session.get_bind()`` (the reference, same run, same session
factory), with no replica configured, on a SELECT in a request context.

    python bench/replica_overhead.py [--rounds 7] [--calls 200000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa
from flask_sqlalchemy.session import Session as FlaskSession

from mooc import create_app
from mooc.extensions import db


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        app = create_app({"ENV": "testing", "INSTANCE_DIR": folder, "SECRET_KEY": "x" * 40})
        statement = sa.select(sa.literal(1))
        with app.test_request_context("/"):
            routing = db.session()
            reference = FlaskSession(db)
            best: dict[str, float] = {"reference": float("inf"), "routing": float("inf")}
            for _ in range(args.rounds):  # interleaved, so that load on the machine hits both
                for name, session in (("reference", reference), ("routing", routing)):
                    took = timeit.timeit(lambda s=session: s.get_bind(clause=statement), number=args.calls)
                    best[name] = min(best[name], took / args.calls)
            reference.close()
    ref, new = best["reference"] * 1e9, best["routing"] * 1e9
    print(f"get_bind, Flask-SQLAlchemy's Session (reference): {ref:.0f} ns")
    print(f"get_bind, RoutingSession, no replica:             {new:.0f} ns "
          f"(+{new - ref:.0f} ns per statement, ratio {new / ref:.2f})")


if __name__ == "__main__":
    main()
