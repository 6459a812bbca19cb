"""The serving benchmark's reference: a bare Flask page that renders a small template with one
indexed SQL query (a person by staff code, a unique index), on the same database, through the
same Flask-SQLAlchemy engine settings and served by the same gunicorn settings as the app.

No sign-in, no CSRF, no translations, no layout: what any Flask page costs on this machine.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa
from flask import Flask, abort, render_template
from jinja2 import DictLoader

from mooc.config import build_config
from mooc.database import configure_engine
from mooc.extensions import db

TEMPLATE = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>{{ person.full_name }}</title></head>
<body><main>
<h1>{{ person.full_name }}</h1>
<dl><dt>Mã cán bộ</dt><dd>{{ person.staff_code }}</dd><dt>Email</dt><dd>{{ person.email }}</dd>
<dt>Đơn vị</dt><dd>{{ person.unit_id }}</dd></dl>
</main></body></html>
"""

QUERY = sa.text("SELECT staff_code, full_name, email, unit_id FROM staff WHERE staff_code = :code")


def create_bare_app(database_url: str) -> Flask:
    settings = build_config({"ENV": "testing", "DATABASE_URL": database_url, "SECRET_KEY": "b" * 40})
    app = Flask(__name__)
    app.config.update(
        SQLALCHEMY_DATABASE_URI=settings["SQLALCHEMY_DATABASE_URI"],
        SQLALCHEMY_ENGINE_OPTIONS=settings["SQLALCHEMY_ENGINE_OPTIONS"],
    )
    app.jinja_loader = DictLoader({"person.html": TEMPLATE})
    db.init_app(app)
    with app.app_context():
        configure_engine(db.engine)  # the app's SQLite settings (WAL, BEGIN IMMEDIATE), as in create_app

    @app.get("/bare/<code>")
    def person(code: str):
        row = db.session.execute(QUERY, {"code": code}).one_or_none()
        if row is None:
            abort(404)
        return render_template("person.html", person=row)

    return app
