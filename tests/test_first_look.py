"""A newcomer's first look: the demo's accounts on the sign-in page, an administrator's first
steps on the home page, and `mooc demo --staff N` (issue 19, "Phone and first look")."""

from __future__ import annotations

import sqlalchemy as sa
from click.testing import CliRunner

from mooc import cli, demo
from mooc.auth.demo_accounts import ACCOUNTS, DEMO_PASSWORD
from mooc.auth.models import Role, User
from mooc.extensions import db
from mooc.roster.models import OrgUnit, Staff
from mooc.training.models import AssignmentRule, Enrolment, EnrolmentState
from tests.conftest import FAST_HASH, ROOT, login


def _load_demo(app) -> None:
    with app.app_context():
        demo.load_demo()
        db.session.commit()


def test_the_sign_in_page_lists_the_demo_accounts_when_the_demo_is_loaded(app, client):
    assert "This is a demo" not in client.get("/login").get_data(as_text=True)
    assert DEMO_PASSWORD not in client.get("/login").get_data(as_text=True)
    _load_demo(app)
    page = client.get("/login").get_data(as_text=True)
    assert DEMO_PASSWORD in page
    for email, *_ in ACCOUNTS:
        assert email in page.replace("<wbr>", "")  # an address may wrap at its joints
    assert "Thanh tra Thành phố Hà Nội" in page and "Nguyễn Văn An" in page  # scope unit, trainee
    # What it says works: the first account listed signs in with the password shown.
    assert login(client, ACCOUNTS[0][0], DEMO_PASSWORD).status_code == 302


def test_the_sign_in_page_lists_no_accounts_without_the_demo_administrator(app, client, make_user):
    make_user(email="baocao@example.vn")  # a real person may use one of these addresses
    assert DEMO_PASSWORD not in client.get("/login").get_data(as_text=True)
    with app.app_context():
        db.session.execute(sa.delete(User))
        db.session.commit()
    _load_demo(app)
    with app.app_context():
        db.session.execute(sa.update(User).where(User.email == ACCOUNTS[0][0]).values(active=False))
        db.session.commit()
    assert DEMO_PASSWORD not in client.get("/login").get_data(as_text=True)


def test_the_sign_in_page_never_lists_the_demo_accounts_in_production(app, make_app):
    _load_demo(app)
    production = make_app(ENV="production", SECRET_KEY="p" * 40)
    page = production.test_client().get("/login", base_url="https://localhost")
    assert page.status_code == 200
    assert DEMO_PASSWORD not in page.get_data(as_text=True)
    assert "quantri@example.vn" not in page.get_data(as_text=True)


def _first_steps(client) -> str:
    page = client.get("/").get_data(as_text=True)
    return page.split('id="first-steps-heading"')[1].split("</section>")[0] if "first-steps" in page else ""


def test_an_administrator_sees_the_first_steps_until_they_are_done(app, client, auth, make_staff):
    admin = auth.login(role=Role.ADMIN)
    steps = _first_steps(client)
    for href in ('href="/courses/"', 'href="/roster/import"', 'href="/roster/invite"',
                 'href="/admin/rules/new"'):
        assert href in steps, href
    assert "Done" not in steps and "Đã xong" not in steps
    # The roster is there: that step is done and has no link any more; the others still do.
    person = make_staff()
    steps = _first_steps(client)
    assert 'href="/roster/import"' not in steps and 'href="/roster/invite"' in steps
    with app.app_context():
        user = User(email="moi@example.vn", display_name="Mới", role=Role.TRAINEE, staff_id=person.id)
        db.session.add(user)
        db.session.commit()
    assert 'href="/roster/invite"' not in _first_steps(client)
    # The demo has courses, rules and accounts: the list is gone.
    _load_demo(app)
    assert admin.email and _first_steps(client) == ""
    assert "<h1>" in client.get("/").get_data(as_text=True)  # "My training" is the page's heading again


def test_only_administrators_see_the_first_steps(client, auth):
    auth.login(role=Role.REPORTER)
    assert "first-steps" not in client.get("/").get_data(as_text=True)


def test_mooc_demo_staff_loads_a_generated_roster_once(app, database_url, tmp_path, monkeypatch):
    for name, value in {"DATABASE_URL": database_url, "INSTANCE_DIR": str(tmp_path), "ENV": "development",
                        "PASSWORD_METHOD": FAST_HASH, "COURSES_DIR": str(ROOT / "courses")}.items():
        monkeypatch.setenv(f"MOOC_{name}", value)
    served, made = [], []
    monkeypatch.setattr(cli, "serve", lambda *args: served.append(args))
    factory = cli._factory
    monkeypatch.setattr(cli, "_factory", lambda: made.append(factory()) or made[-1])
    try:
        _run_demo_staff(app, served)
    finally:
        for each in made:  # the command's own apps: close their connections (PostgreSQL)
            with each.app_context():
                db.engine.dispose()


def _run_demo_staff(app, served) -> None:
    result = CliRunner().invoke(cli.main, ["demo", "--staff", "200"])
    assert result.exit_code == 0, result.output
    assert served and "generated staff" in result.output

    def counts():
        with app.app_context():
            generated = Staff.staff_code.like("9______")
            people = db.session.scalar(sa.select(sa.func.count()).select_from(Staff).where(generated))
            units = db.session.scalars(sa.select(OrgUnit.parent_id).join(Staff, Staff.unit_id == OrgUnit.id)
                                       .where(generated).distinct()).all()
            states = dict(db.session.execute(
                sa.select(Enrolment.state, sa.func.count()).join(Staff, Staff.id == Enrolment.staff_id)
                .where(generated).group_by(Enrolment.state)).all())
            provinces = set(db.session.scalars(sa.select(OrgUnit.code).where(OrgUnit.kind == "province")))
            rules = db.session.scalar(sa.select(sa.func.count()).select_from(AssignmentRule))
            return people, units, states, provinces, rules

    people, parents, states, provinces, rules = counts()
    assert people == 200
    assert len(parents) >= 2  # sections of several demo provinces (None: leaders in the province)
    assert provinces == {"HN", "HCM", "NB"}  # under the demo's provinces, no new ones
    assert states.get(EnrolmentState.COMPLETED, 0) > 20 and states.get(EnrolmentState.IN_PROGRESS, 0) > 10
    assert sum(states.values()) >= 200
    again = CliRunner().invoke(cli.main, ["demo", "--staff", "200"])
    assert again.exit_code == 0, again.output
    assert counts()[0] == 200 and counts()[2] == states and counts()[4] == rules
    more = CliRunner().invoke(cli.main, ["demo", "--staff", "250"])
    assert more.exit_code == 0, more.output
    assert counts()[0] == 250
