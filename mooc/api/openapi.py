"""The OpenAPI 3.1 document of /api/v1/, generated from the pydantic models every answer is
built through (schemas.py) and the routes' own table (ROUTES): one source for what the API
says it returns and what it does return."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from mooc.api import schemas

PAGE_PARAMETERS = [
    {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "the next_cursor of the page before; absent: the first page"},
    {"name": "limit", "in": "query", "required": False,
     "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}},
    {"name": "updated_since", "in": "query", "required": False,
     "schema": {"type": "string", "format": "date-time"},
     "description": "only rows changed at or after this moment (ISO 8601; UTC without an offset)"},
]


@dataclass(frozen=True)
class Route:
    path: str
    summary: str
    model: type[BaseModel]
    parameters: list[dict[str, Any]] = field(default_factory=list)


ROUTES = [
    Route("/units", "The units the token may read, all at once (the tree: parent_id; no "
          "updated_since: the tree is small, read it whole)", schemas.UnitList),
    Route("/people", "People on the roster, within the token's scope", schemas.PersonPage, PAGE_PARAMETERS),
    Route("/enrolments", "Enrolments (one per person, course and cycle) with their status",
          schemas.EnrolmentPage, PAGE_PARAMETERS),
    Route("/completions", "Course cycles completed (exemptions are not), with their certificate's code",
          schemas.CompletionPage, PAGE_PARAMETERS),
    Route("/certificates", "Certificates, with their public verification address",
          schemas.CertificatePage, PAGE_PARAMETERS),
    Route("/dashboard", "Completion by unit, as the dashboard shows it (people counted once)",
          schemas.Dashboard, [
              {"name": "unit", "in": "query", "required": False, "schema": {"type": "integer"},
               "description": "a unit's sub-units; absent: the top of the token's scope"},
              {"name": "course", "in": "query", "required": False, "schema": {"type": "integer"}},
          ]),
]


def route(path: str) -> Route:
    """The documented route of ``path`` (views.py registers each view from it)."""
    return next(r for r in ROUTES if r.path == path)


PROBLEMS = {"400": "A parameter the API cannot use",
            "401": "No token, or one that is unknown, expired or revoked",
            "403": "The token may not read this", "404": "Outside the token's scope, or no such path",
            "405": "A method other than GET (the API only reads)",
            "429": "Too many requests for this token this minute (see Retry-After)",
            "500": "An error of the server (logged)"}


def document(server_url: str) -> dict[str, Any]:
    models: list[type[BaseModel]] = [route.model for route in ROUTES] + [schemas.Problem]
    _keys, definitions = models_json_schema([(model, "serialization") for model in models],
                                            ref_template="#/components/schemas/{model}")
    paths: dict[str, Any] = {}
    for route in ROUTES:
        name = route.model.__name__
        paths[route.path] = {"get": {
            "summary": route.summary, "operationId": route.path.strip("/"),
            "parameters": route.parameters,
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {
                    "schema": {"$ref": f"#/components/schemas/{_ref(name)}"}}}},
                **{code: {"description": text, "content": {"application/problem+json": {
                    "schema": {"$ref": "#/components/schemas/Problem"}}}} for code, text in PROBLEMS.items()},
            },
        }}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Training platform read API", "version": "1.0.0",
                 "description": "Read-only (every endpoint is a GET; a token can do nothing else): "
                                "units, people, enrolments, completions, certificates and the "
                                "dashboard, with the scope of the token's owner (or service account)."},
        "servers": [{"url": server_url}],
        "security": [{"bearer": []}],
        "components": {"schemas": definitions.get("$defs", {}),
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": paths,
    }


def _ref(name: str) -> str:
    """pydantic names a generic model's schema ``Page_Person_``: the same rule, for the ref."""
    return name.replace("[", "_").replace("]", "_").replace(".", "_")
