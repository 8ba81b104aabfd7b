"""Small views of the project wiring."""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """Answer a CSRF failure as a GraphQL error rather than an HTML page."""
    body = {
        "errors": [
            {
                "message": (
                    "CSRF verification failed: send the csrftoken cookie's value in "
                    "the X-CSRFToken header, or authenticate with a bearer token."
                ),
                "extensions": {"code": "CSRF_FAILED", "reason": reason},
            }
        ]
    }
    return HttpResponse(json.dumps(body), status=403, content_type="application/json")


def _error(message: str, code: str, status: int) -> HttpResponse:
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return HttpResponse(
        json.dumps(body), status=status, content_type="application/json"
    )


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A request Django refused before any view (a Host header not in
    `DJANGO_ALLOWED_HOSTS`, say), answered as a GraphQL error."""
    return _error("Bad request.", "BAD_REQUEST", 400)


def server_error(request: HttpRequest) -> HttpResponse:
    """An unexpected error outside GraphQL, answered as a GraphQL error (the
    traceback is logged)."""
    return _error("Unexpected error.", "INTERNAL_SERVER_ERROR", 500)
