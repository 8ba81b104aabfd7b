"""GraphiQL served from this app alone: its page and its vendored assets.

strawberry's own GraphiQL page loads React and GraphiQL from a public CDN and
stays on "Loading..." without internet. This page loads the same libraries from
`schema/static/graphiql/` (see the README there), served by `graphiql_asset` at
`/graphql/static/<name>` whatever `DEBUG` is, and forbids any other origin with
a Content-Security-Policy.
"""

from __future__ import annotations

import mimetypes
from functools import cache
from pathlib import Path

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_safe

ASSET_DIR = Path(__file__).resolve().parent / "static" / "graphiql"

# What the page loads, by role; the names carry the versions, so a file never
# changes under its name and browsers may cache it for good.
GRAPHIQL_ASSETS = {
    "react": "react-18.2.0.production.min.js",
    "react_dom": "react-dom-18.2.0.production.min.js",
    "graphiql": "graphiql-3.8.3.min.js",
    "graphiql_css": "graphiql-3.8.3.min.css",
    "explorer": "graphiql-plugin-explorer-1.0.2.umd.js",
    "explorer_css": "graphiql-plugin-explorer-1.0.2.css",
    "setup": "graphiql-setup.js",
}
# Only our own files run; GraphiQL sets styles inline, and its icons are data URLs.
GRAPHIQL_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
}
ONE_YEAR = 365 * 24 * 60 * 60


@cache
def asset_names() -> frozenset[str]:
    """The files `graphiql_asset` serves: those in the asset directory."""
    return frozenset(path.name for path in ASSET_DIR.iterdir() if path.is_file())


def graphiql_page(request: HttpRequest) -> HttpResponse:
    """GraphiQL's HTML page, loading only same-origin assets.

    It sets the CSRF cookie; the page sends the cookie's value in the
    `X-CSRFToken` header of every request, with the session cookie.
    """
    assets = {
        role: reverse("graphiql-asset", kwargs={"name": name})
        for role, name in GRAPHIQL_ASSETS.items()
    }
    html = render_to_string(
        "schema/graphiql.html",
        {
            "assets": assets,
            "csrf_token": get_token(request),
            "csrf_cookie_name": settings.CSRF_COOKIE_NAME,
        },
    )
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = GRAPHIQL_CSP
    response["Cache-Control"] = "no-store"
    return response


@cache
def asset_content(name: str) -> bytes:
    """The bytes of one asset, read once: a few MB in all, and an ASGI server
    would otherwise stream each file through a thread."""
    return (ASSET_DIR / name).read_bytes()


@require_safe
def graphiql_asset(request: HttpRequest, name: str) -> HttpResponse:
    """One of GraphiQL's vendored files, with its content type.

    Raises:
        Http404: `name` is not a file of the asset directory, or GraphiQL is
            switched off (`GRAPHQL_IDE`).
    """
    if not settings.GRAPHQL_IDE or name not in asset_names():
        raise Http404("No such GraphiQL asset.")
    path = ASSET_DIR / name
    content_type = CONTENT_TYPES.get(path.suffix) or (
        mimetypes.guess_type(name)[0] or "application/octet-stream"
    )
    response = HttpResponse(asset_content(name), content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    # The versioned files never change; our setup script may, with the app.
    immutable = name in GRAPHIQL_ASSETS.values() and name != GRAPHIQL_ASSETS["setup"]
    response["Cache-Control"] = (
        f"public, max-age={ONE_YEAR}, immutable" if immutable else "no-cache"
    )
    return response
