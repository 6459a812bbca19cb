"""Who may see what: the public allow-list, role checks and safe redirects."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import abort
from flask_login import current_user

from mooc.auth.models import Permission, Role

F = TypeVar("F", bound=Callable[..., Any])


def public(view: F) -> F:
    """Mark a view as reachable without signing in. Everything else requires a session."""
    view.is_public = True  # type: ignore[attr-defined]
    return view


def permission_required(permission: Permission) -> Callable[[F], F]:
    """Refuse (403) a view to accounts without ``permission``. Scoped roles are checked
    against the unit of what they act on by the view or domain function itself."""
    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated or not current_user.can(permission):
                abort(403)
            return view(*args, **kwargs)
        return wrapped  # type: ignore[return-value]
    return decorator


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (no open redirects)."""
    if not target or len(target) > 2000:
        return None
    if any(ord(ch) < 32 or ch == "\\" for ch in target):
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def grantable_roles(actor_role: Role) -> list[Role]:
    """The roles ``actor_role`` may give: its own and those below it."""
    return [role for role in Role if role.rank <= actor_role.rank]
