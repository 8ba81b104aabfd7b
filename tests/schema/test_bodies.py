"""Request bodies the endpoint cannot read: each is a 4xx JSON error with a
code (and the limit it broke), never a 500, and never logged as an error."""

from __future__ import annotations

import json
import logging
from typing import Any, cast

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.asgi import get_asgi_application
from django.test import AsyncClient, Client
from django.test.client import FakePayload

from config.asgi import BodyLimit
from schema.context import MAX_JSON_DEPTH
from tests.helpers import post_body

pytestmark = pytest.mark.django_db

MIB = 2**20
QUERY = b'{"query": "{ __typename }"}'


def nested(depth: int, inner: bytes = b"1") -> bytes:
    return b"[" * depth + inner + b"]" * depth


def padded(size: int) -> bytes:
    """A valid GraphQL request of exactly `size` bytes."""
    head = b'{"query": "{ __typename }", "pad": "'
    return head + b"a" * (size - len(head) - 2) + b'"}'


def assert_refused(response: Any, status: int, code: str, message: str) -> None:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == {
        "errors": [{"message": message, "extensions": {"code": code}}]
    }


TOO_LARGE = (
    "The request body is larger than the limit of 1048576 bytes "
    "(GRAPHQL_MAX_BODY_BYTES)."
)
TOO_DEEP = f"The request's JSON nests deeper than the limit of {MAX_JSON_DEPTH}."
NOT_JSON = "Unable to parse request body as JSON"


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code", "message"),
    [
        pytest.param(
            b"[" * 50_000,
            "application/json",
            400,
            "BAD_REQUEST",
            TOO_DEEP,
            id="50000-brackets",
        ),
        pytest.param(
            nested(50_000),
            "application/json",
            400,
            "BAD_REQUEST",
            TOO_DEEP,
            id="50000-nested-arrays",
        ),
        pytest.param(
            b'{"query": "{ __typename }", "variables": {"a": '
            + nested(MAX_JSON_DEPTH)
            + b"}}",
            "application/json",
            400,
            "BAD_REQUEST",
            TOO_DEEP,
            id="deep-variables",
        ),
        pytest.param(
            b'{"query": "{ __typename }", "extensions": '
            + b'{"a":' * 5_000
            + b"1"
            + b"}" * 5_000
            + b"}",
            "application/json",
            400,
            "BAD_REQUEST",
            TOO_DEEP,
            id="deep-extensions",
        ),
        pytest.param(
            padded(20 * MIB),
            "application/json",
            413,
            "BODY_TOO_LARGE",
            TOO_LARGE,
            id="20-mib",
        ),
        pytest.param(
            padded(MIB + 1),
            "application/json",
            413,
            "BODY_TOO_LARGE",
            TOO_LARGE,
            id="one-byte-over",
        ),
        pytest.param(
            b'{"query": "\xff\xfe"}',
            "application/json",
            400,
            "BAD_REQUEST",
            NOT_JSON,
            id="bad-utf-8",
        ),
        pytest.param(
            QUERY,
            "application/json; charset=foo-bar",
            400,
            "BAD_REQUEST",
            "Unsupported charset 'foo-bar': the body must be UTF-8.",
            id="unknown-charset",
        ),
        pytest.param(
            QUERY,
            "application/json; charset=utf-16",
            400,
            "BAD_REQUEST",
            "Unsupported charset 'utf-16': the body must be UTF-8.",
            id="other-charset",
        ),
        pytest.param(
            QUERY,
            "text/plain",
            400,
            "BAD_REQUEST",
            "Unsupported content type",
            id="wrong-content-type",
        ),
        pytest.param(
            b'--x\r\nContent-Disposition: form-data; name="query"\r\n\r\n{}\r\n',
            "multipart/form-data; boundary=x",
            400,
            "BAD_REQUEST",
            "Unsupported content type",
            id="multipart",
        ),
        pytest.param(
            b"",
            "application/json",
            400,
            "BAD_REQUEST",
            "The request body is empty: send a JSON object with a `query`.",
            id="empty",
        ),
        pytest.param(
            b"",
            None,
            400,
            "BAD_REQUEST",
            "Unsupported content type",
            id="empty-without-content-type",
        ),
    ],
)
def test_an_unreadable_body_is_a_json_error_with_a_code(
    body: bytes, content_type: str | None, status: int, code: str, message: str
) -> None:
    assert_refused(post_body(body, content_type=content_type), status, code, message)


def test_a_body_at_the_limit_is_read() -> None:
    response = post_body(padded(MIB))

    assert response.status_code == 200
    assert response.json()["data"] == {"__typename": "Query"}


def test_json_nested_up_to_the_limit_is_read() -> None:
    variables = b'{"a": ' + nested(MAX_JSON_DEPTH - 2) + b"}"
    response = post_body(
        b'{"query": "{ __typename }", "variables": ' + variables + b"}"
    )

    assert response.status_code == 200
    assert response.json()["data"] == {"__typename": "Query"}


def test_the_body_limit_is_a_setting(settings: Any) -> None:
    settings.GRAPHQL_MAX_BODY_BYTES = 100

    assert post_body(padded(100)).status_code == 200
    assert_refused(
        post_body(padded(101)),
        413,
        "BODY_TOO_LARGE",
        "The request body is larger than the limit of 100 bytes "
        "(GRAPHQL_MAX_BODY_BYTES).",
    )


def test_a_body_longer_than_its_content_length_is_refused_as_read() -> None:
    """Over ASGI a body may be longer than its Content-Length says (or have
    none, when chunked): Django measures it as it reads it."""
    request = AsyncClient(raise_request_exception=False).request
    response = async_to_sync(request)(
        method="POST",
        path="/graphql/",
        query_string="",
        headers=[(b"host", b"testserver"), (b"content-type", b"application/json")],
        _body_file=FakePayload(padded(2 * MIB)),
    )

    assert_refused(response, 413, "BODY_TOO_LARGE", TOO_LARGE)


def test_a_lower_django_limit_is_the_limit_named(settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100

    assert_refused(
        post_body(padded(101)),
        413,
        "BODY_TOO_LARGE",
        "The request body is larger than the limit of 100 bytes "
        "(GRAPHQL_MAX_BODY_BYTES).",
    )


def test_a_content_length_that_is_not_a_number_is_refused() -> None:
    assert_refused(
        post_body(QUERY, CONTENT_LENGTH="abc"),
        400,
        "BAD_REQUEST",
        "The Content-Length header is not a number.",
    )


def test_a_huge_query_string_is_refused() -> None:
    response = Client().get(
        "/graphql/",
        {"query": "{ __typename }" + " " * MIB},
        headers={"Accept": "application/json"},
    )

    assert_refused(
        response,
        414,
        "URI_TOO_LONG",
        "The query string is longer than the limit of 1048576 bytes "
        "(GRAPHQL_MAX_BODY_BYTES): send the query in a POST body.",
    )


def test_a_query_string_with_too_many_parameters_is_refused() -> None:
    params = "&".join(f"p{i}=1" for i in range(1001))

    response = Client().get(
        f"/graphql/?query=%7B__typename%7D&{params}",
        headers={"Accept": "application/json"},
    )

    assert_refused(
        response,
        400,
        "BAD_REQUEST",
        "The query string has more parameters than the limit of 1000.",
    )


@pytest.mark.parametrize("name", ["variables", "extensions"])
def test_deeply_nested_json_in_a_query_string_is_refused(name: str) -> None:
    response = Client().get(
        "/graphql/",
        {"query": "{ __typename }", name: "[" * 50_000},
        headers={"Accept": "application/json"},
    )

    assert_refused(response, 400, "BAD_REQUEST", TOO_DEEP)


def test_unreadable_bodies_log_no_error(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        post_body(b"[" * 50_000)
        post_body(padded(20 * MIB))
        post_body(b'{"query": "\xff"}')
        post_body(QUERY, content_type="application/json; charset=foo-bar")
        post_body(b'{"variables": ' + nested(50_000) + b"}")

    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    # Each is answered as a client error: the request log's one 4xx line.
    assert [(r.name, r.levelname) for r in caplog.records] == [
        ("requests", "WARNING")
    ] * 5


def test_an_oversized_body_is_not_read_past_the_limit(settings: Any) -> None:
    """Served by the ASGI application: a 64 MiB upload in 64 KiB chunks is read
    no further than the limit before it is refused."""
    chunk = b" " * (64 * 1024)
    chunks = 1024
    consumed = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal consumed
        consumed += 1
        if consumed > chunks:
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": chunk, "more_body": consumed < chunks}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql/",
        "raw_path": b"/graphql/",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    application = BodyLimit(get_asgi_application())  # the setting's limit

    async_to_sync(application)(scope, receive, send)

    start, *body = sent
    assert start["status"] == 413
    answer = json.loads(b"".join(m.get("body", b"") for m in body))
    assert answer["errors"][0]["extensions"]["code"] == "BODY_TOO_LARGE"
    # 1 MiB and one byte: 17 chunks of 64 KiB, not 1024.
    assert consumed == settings.GRAPHQL_MAX_BODY_BYTES // len(chunk) + 1


def test_an_unknown_host_is_a_json_error_and_no_logged_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO):
        response = post_body(QUERY, HTTP_HOST="evil.example")

    assert_refused(response, 400, "BAD_REQUEST", "Bad request.")
    # Django reports it on a logger of its own, which the settings route nowhere
    # (pytest's capture still sees it); nothing else is logged as an error.
    security = "django.security.DisallowedHost"
    assert [r.name for r in caplog.records if r.levelno >= logging.ERROR] == [security]
    loggers = cast(dict[str, Any], settings.LOGGING)["loggers"]
    assert loggers[security] == {"handlers": [], "propagate": False}
