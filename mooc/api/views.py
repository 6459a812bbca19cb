"""/api/v1/ (JSON, bearer tokens, RFC 9457 problems) and /account/tokens (the pages where a
person makes and revokes their tokens, and an administrator a service account's)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from pydantic import BaseModel

from mooc.api import data, openapi, schemas, tokens
from mooc.api.problems import problem
from mooc.auth.access import public
from mooc.auth.models import Permission, User
from mooc.config import public_url, settings
from mooc.errors import refuse
from mooc.i18n import gettext as _
from mooc.params import parse_int
from mooc.reports.queries import OutOfScope
from mooc.roster.queries import unit_choices

bp = Blueprint("api", __name__, url_prefix="/api/v1")
pages = Blueprint("api_tokens", __name__, template_folder="templates")


def api_view(function: Callable[..., BaseModel], documented: type[BaseModel]) -> Callable[..., Response]:
    """Authenticate the bearer token, count it against its minute, run the view as the token's
    reader, and answer its model as JSON, or a problem. The model must be the one the OpenAPI
    document names (``documented``): pydantic validated it as that when it was built."""
    @public  # no session: the token is the credential
    @wraps(function)
    def wrapped(*args: Any, **kwargs: Any) -> Response:
        header = request.headers.get("Authorization", "")
        scheme, _space, secret = header.partition(" ")
        try:
            if scheme.lower() != "bearer" or not secret:
                raise tokens.Unauthorised()
            reader, token = tokens.reader_of(secret.strip())
        except tokens.Unauthorised:
            return problem(401, "Unauthorized", "Send a valid token: Authorization: Bearer mooc_...",
                           **{"WWW-Authenticate": 'Bearer realm="mooc"'})
        wait = tokens.over_limit(token, settings().api_rate_per_minute)
        if wait:
            return problem(429, "Too Many Requests",
                           f"At most {settings().api_rate_per_minute} requests a minute per token.",
                           **{"Retry-After": str(wait)})
        try:
            model = function(reader, *args, **kwargs)
        except data.BadParameter as bad:
            return problem(400, "Bad Request", str(bad))
        except data.Forbidden:
            return problem(403, "Forbidden", "This token's account does not read reports.")
        except OutOfScope:
            return problem(404, "Not Found", "No such unit in this token's scope.")
        if type(model) is not documented:  # a 500 (problem JSON), never an undocumented answer
            raise TypeError(f"{request.path} answered {type(model).__name__}, not {documented.__name__}")
        response = Response(model.model_dump_json(), mimetype="application/json")
        response.headers["Cache-Control"] = "no-store"
        return response
    return wrapped


def api_route(path: str) -> Callable[[Callable[..., BaseModel]], Callable[..., Response]]:
    """A GET under /api/v1 registered from its row of ``openapi.ROUTES``: one table says what
    the API has, what each answer is, and what the document says of it."""
    documented = openapi.route(path).model

    def register(function: Callable[..., BaseModel]) -> Callable[..., Response]:
        view = api_view(function, documented)
        bp.add_url_rule(path, view_func=view, methods=["GET"])
        return view
    return register


def _page_args() -> tuple[str | None, int, Any]:
    return (request.args.get("cursor"), data.parse_limit(request.args.get("limit")),
            data.parse_since(request.args.get("updated_since")))


@api_route("/units")
def units(reader: User) -> BaseModel:
    if "updated_since" in request.args:
        raise data.BadParameter(data.UNITS_WHOLE)
    return schemas.UnitList(data=data.units(reader))


@api_route("/people")
def people(reader: User) -> BaseModel:
    return data.people(reader, *_page_args())


@api_route("/enrolments")
def enrolments(reader: User) -> BaseModel:
    return data.enrolments(reader, *_page_args())


@api_route("/completions")
def completions(reader: User) -> BaseModel:
    return data.completions(reader, *_page_args())


@api_route("/certificates")
def certificates(reader: User) -> BaseModel:
    return data.certificates(reader, *_page_args())


def _id_arg(name: str) -> int | None:
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    value = parse_int(raw, low=1)
    if value is None:
        raise data.BadParameter(f"{name}: a unit id (a whole number)")
    return value


@api_route("/dashboard")
def dashboard(reader: User) -> BaseModel:
    return data.dashboard(reader, _id_arg("unit"), _id_arg("course"))


@bp.get("/openapi.json")
@public
def openapi_document() -> Response:
    return jsonify(openapi.document(public_url() + "/api/v1"))


# --- the token pages -----------------------------------------------------------------------------

REFUSALS = {
    "bad_name": lambda: _("Give the token a name (at most 100 characters)."),
    "bad_days": lambda: _("A token lasts from 1 to %(n)d days.", n=tokens.MAX_DAYS),
    "too_many": lambda: _("You already have %(n)d tokens: revoke one first.", n=tokens.MAX_PER_PERSON),
    "not_allowed": lambda: _("Only an administrator makes service tokens."),
    "not_yours": lambda: _("This token is not yours to revoke."),
}


def _tokens_page(made: tokens.Made | None = None) -> str:
    admin = current_user.can(Permission.MANAGE_ACCOUNTS)
    return render_template("api/tokens.html", tokens=tokens.listed(current_user), made=made, admin=admin,
                           units=unit_choices(current_user) if admin else [], max_days=tokens.MAX_DAYS,
                           api_url=public_url() + "/api/v1")


@pages.get("/account/tokens")
def tokens_page() -> str:
    return _tokens_page()


def _days() -> int:
    return parse_int(request.form.get("days"), low=0, high=10_000) or 0


@pages.post("/account/tokens")
def create_token() -> Any:
    try:
        made = tokens.create_personal(current_user, request.form.get("name", "")[:200], _days())
    except tokens.TokenRefused as refused:
        refuse()
        flash(REFUSALS[refused.code](), "warning")
        return redirect(url_for("api_tokens.tokens_page"))
    return _tokens_page(made)  # the secret, shown this once


@pages.post("/account/tokens/service")
def create_service_token() -> Any:
    if not current_user.can(Permission.MANAGE_ACCOUNTS):
        abort(403)
    unit_id = parse_int(request.form.get("unit"), low=1)
    try:
        made = tokens.create_service(current_user, request.form.get("name", "")[:200], _days(), unit_id)
    except tokens.TokenRefused as refused:
        refuse()
        flash(REFUSALS[refused.code](), "warning")
        return redirect(url_for("api_tokens.tokens_page"))
    return _tokens_page(made)


@pages.post("/account/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int) -> Any:
    try:
        tokens.revoke(current_user, token_id)
    except tokens.TokenRefused:
        refuse()
        abort(404)
    flash(_("Done: the token no longer works."), "success")
    return redirect(url_for("api_tokens.tokens_page"))
