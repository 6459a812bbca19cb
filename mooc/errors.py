"""Refusals: the one base class for "the domain said no", below every domain.

A domain function that refuses an action raises a ``DomainError`` *before* it changes
anything (validate, then write). A view that catches one and answers normally (a flash
and a redirect, a form error) calls ``refuse()`` in its ``except`` branch,
so nothing the request flushed before the refusal is committed; the request boundary
commits only requests that were not refused. ``tests/test_refusals.py`` walks every such
branch and checks the database is unchanged afterwards.
"""

from __future__ import annotations

from typing import Any

from flask import g, has_request_context

from mooc.extensions import db


class DomainError(Exception):
    """An action the domain refuses; ``code`` is stable (views translate it), ``params``
    fill the message."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def refuse() -> None:
    """Doom this request's transaction: the action was refused, so nothing it flushed may
    commit (the request boundary rolls back, whatever the response's status).

    Call it in every view branch that catches a ``DomainError`` (or another refusal, such
    as mail that could not be sent) and still answers normally.
    """
    db.session.rollback()
    if has_request_context():
        g.rollback_only = True
