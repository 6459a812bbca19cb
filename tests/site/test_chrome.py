"""The site's header and footer are rendered once per locale, role and page (mooc/site/chrome.py):
what is a person's or a request's own is still theirs on every request."""

from __future__ import annotations

import sqlalchemy as sa

from mooc.auth.models import Role, User
from mooc.extensions import db
from tests.conftest import csrf_token, login


def test_each_person_sees_their_own_name_escaped_and_their_role_s_menu(app, make_user):
    trainee = make_user(name="An <script>x</script>")
    admin = make_user(name="Bình Quản Trị", role=Role.ADMIN)
    a, b = app.test_client(), app.test_client()
    login(a, trainee.email), login(b, admin.email)
    for _ in range(2):  # the second time from the cache
        mine, theirs = a.get("/courses/").get_data(as_text=True), b.get("/courses/").get_data(as_text=True)
        assert "An &lt;script&gt;x&lt;/script&gt;" in mine and "<script>x" not in mine
        assert "Bình Quản Trị" in theirs and "An &lt;script" not in theirs
        assert 'href="/reports/"' in theirs and 'href="/reports/"' not in mine
    assert csrf_token(a, "/courses/") != csrf_token(b, "/courses/")  # each session's own token


def test_a_role_changed_in_the_database_changes_the_menu_at_the_next_request(app, make_user):
    # A trainee who uses two-factor sign-in: a reporter's session must have proved it (else the
    # next request goes to its setup, tests/auth/test_second_factor.py).
    user = make_user(two_factor=True)
    client = app.test_client()
    login(client, user.email)
    assert 'href="/reports/"' not in client.get("/courses/").get_data(as_text=True)
    with app.app_context():
        db.session.execute(sa.update(User).where(User.id == user.id).values(role=Role.REPORTER))
        db.session.commit()
    assert 'href="/reports/"' in client.get("/courses/").get_data(as_text=True)


def test_the_language_switch_comes_back_to_the_page_it_was_on(app, make_user):
    user = make_user()
    client = app.test_client()
    login(client, user.email)
    assert 'name="next" value="/courses/"' in client.get("/courses/").get_data(as_text=True)
    page = client.get("/search/?q=a%22b").get_data(as_text=True)
    assert 'name="next" value="/search/?q=a%22b"' in page
    assert 'name="next" value="/courses/"' not in page
