"""The links of a page, each built once per process (``url_for`` in templates).

Werkzeug builds a link by matching the route's converters and quoting its values: about 10 µs
a link, and the trainee's home has 35, a report page more. A link within the site is a pure
function of the route (the code), its values and the request's script root, so it is kept
(``mooc.caching``) under exactly those. Nothing the database owns is in a link; a course's key
or a unit's id is one of its values, and a new value is a new key.

Built as Flask builds them (``current_app.url_for``) whenever the answer could depend on more:
outside a request (mails build absolute links), an endpoint relative to the blueprint (".x"),
Flask's own options (``_external``, ``_anchor``, ...), or values that cannot be a key (a list).
"""

from __future__ import annotations

from typing import Any

from flask import current_app, has_request_context, request

from mooc.caching import KeptCache, app_cache

CACHE = "mooc.url_cache"
SIZE = 8192


def kept_url_for(endpoint: str, /, **values: Any) -> str:
    if endpoint[:1] == "." or not has_request_context() or any(name[:1] == "_" for name in values):
        return current_app.url_for(endpoint, **values)
    # In the given order (it is the query string's), with each value's type: True and 1 are
    # equal keys, not equal links.
    key = (request.script_root, endpoint, *((name, type(value), value) for name, value in values.items()))
    try:
        hash(key)
    except TypeError:
        return current_app.url_for(endpoint, **values)
    return app_cache(CACHE, lambda: KeptCache(SIZE)).get(key, lambda: current_app.url_for(endpoint, **values))
