"""The version-history page at `/` and its assets.

The page is static: everything it shows comes from the GraphQL API at
`/graphql/`. Its assets are served by `web_asset` from `web/static/web/`, in
development and in production alike, so the page works with `DJANGO_DEBUG` off
and without a `collectstatic` step or a CDN. Only the files in `ASSETS` are
served; anything else is a 404.
"""

from __future__ import annotations

from pathlib import Path

from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_safe

ASSET_DIR = Path(__file__).resolve().parent / "static" / "web"

# The files the page loads, and their content types.
ASSETS = {
    "app.js": "text/javascript; charset=utf-8",
    "api.js": "text/javascript; charset=utf-8",
    "diff.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
}

# Everything comes from this origin; the page runs no inline script or style.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def _secured(response: HttpResponseBase) -> HttpResponseBase:
    response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response["Referrer-Policy"] = "same-origin"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_safe
@ensure_csrf_cookie
def web_index(request: HttpRequest) -> HttpResponseBase:
    """The page; it sets the `csrftoken` cookie the API's session login needs."""
    response = render(request, "web/index.html")
    response["Cache-Control"] = "no-cache"
    return _secured(response)


@require_safe
def web_asset(request: HttpRequest, name: str) -> HttpResponseBase:
    """One of the page's assets, by name; revalidated on every load."""
    content_type = ASSETS.get(name)
    if content_type is None:
        raise Http404("No such asset.")
    # A few kilobytes read whole: a streamed file response would be iterated
    # synchronously under ASGI, which Django warns about on every request.
    response = HttpResponse((ASSET_DIR / name).read_bytes(), content_type=content_type)
    response["Cache-Control"] = "no-cache"
    return _secured(response)
