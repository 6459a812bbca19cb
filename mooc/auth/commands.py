"""`mooc users`: account commands for operators."""

from __future__ import annotations

import click
import sqlalchemy as sa
from cryptography.fernet import InvalidToken
from flask.cli import with_appcontext

from mooc.auth import audit, passwords, second_factor, sessions
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


@users.command("rotate-two-factor")
@with_appcontext
def rotate_two_factor() -> None:
    """Re-encrypt every stored authenticator secret with the key derived from the current
    MOOC_SECRET_KEY, after a key rotation (the old key in MOOC_TWO_FACTOR_PREVIOUS_SECRET_KEYS).
    Exit 1, changing nothing, when a secret opens with none of the keys."""
    try:
        count = second_factor.rotate_secrets()
    except InvalidToken:
        db.session.rollback()
        raise click.ClickException(
            "A stored two-factor secret opens with neither MOOC_SECRET_KEY nor any key in "
            "MOOC_TWO_FACTOR_PREVIOUS_SECRET_KEYS: add the key it was made with, or reset that "
            "person's second factor (roster page).") from None
    audit.record("second_factor.secrets_rotated", via="cli", count=count)
    db.session.commit()
    click.echo(f"Re-encrypted {count} two-factor secrets with the current key.")
