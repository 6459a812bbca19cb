"""`mooc users`: account commands for operators."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from mooc.auth import audit, passwords, sessions
from mooc.auth.models import Role, User
from mooc.config import settings
from mooc.extensions import db
from mooc.text import clean


@click.group()
def users() -> None:
    """Manage accounts."""


@users.command("create-admin")
@click.option("--email", prompt=True, help="The administrator's e-mail (the sign-in name).")
@click.option("--name", prompt="Full name", help="The name shown in the interface.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="Leave out to be asked without echo (recommended).")
@with_appcontext
def create_admin(email: str, name: str, password: str) -> None:
    """Create an administrator account, or make an existing account an active administrator
    with this password (which ends its sessions and spends its invitation and reset links)."""
    email = passwords.normalise_email(email)
    if "@" not in email or " " in email:
        raise click.ClickException(f"{email!r} is not an e-mail address.")
    if problem := passwords.password_problem(password):
        raise click.ClickException(f"Password refused ({problem.replace('_', ' ')}): "
                                   f"use at least {passwords.MIN_PASSWORD_LENGTH} characters.")
    user = db.session.execute(sa.select(User).where(User.email == email)).scalar_one_or_none()
    created = user is None
    if user is None:
        user = User(email=email, display_name=clean(name) or email)
        db.session.add(user)
    user.role = Role.ADMIN
    user.active = True
    passwords.set_password(user, password, settings().password_method)
    if not created:
        sessions.revoke_all(user)  # a new password ends every session, as on the other paths
    db.session.flush()
    audit.record("user.admin_created" if created else "user.admin_granted", target=email, via="cli")
    db.session.commit()
    click.echo(f"{'Created' if created else 'Updated'} administrator {email}.")
