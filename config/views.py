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
