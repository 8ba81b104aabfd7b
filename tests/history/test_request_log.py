"""One log line per request, plain or JSON; Django's 4xx warnings are not repeated."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from typing import Any

import pytest
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.utils.log import log_response

from history.request_log import REQUEST_FIELDS, JsonFormatter
from tests.conftest import bearer
from tests.helpers import manage_py

GRAPHQL = "/graphql/"


def request_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "requests"]


def test_a_bad_request_is_logged_once(
    db: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)

    response = Client().post(GRAPHQL, "not json", content_type="application/json")

    assert response.status_code == 400
    assert [(r.name, r.levelname) for r in caplog.records] == [("requests", "WARNING")]
    (line,) = caplog.records
    request_id = response["X-Request-ID"]
    assert line.getMessage().startswith("POST /graphql/ 400 ")
    assert line.getMessage().endswith(
        f"ms operation=- user=anonymous request_id={request_id}"
    )


def test_a_line_names_the_operation_the_user_and_the_request(
    reader: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)

    response = Client().post(
        GRAPHQL,
        {"query": "query WhoAmI { me { username } }"},
        content_type="application/json",
        headers={**bearer(reader), "X-Request-ID": "trace-1"},
    )

    assert response.status_code == 200
    (line,) = request_lines(caplog)
    fields = line.request_fields  # type: ignore[attr-defined]
    assert set(fields) == set(REQUEST_FIELDS)
    assert fields["duration_ms"] >= 0
    assert {k: v for k, v in fields.items() if k != "duration_ms"} == {
        "method": "POST",
        "path": "/graphql/",
        "status": 200,
        "operation": "WhoAmI",
        "user": "reader",
        "request_id": "trace-1",
    }


@pytest.mark.parametrize(
    ("body", "operation"),
    [
        ({"query": "{ me { username } }"}, "anonymous"),
        (
            {
                "query": "query A { me { id } } query B { me { id } }",
                "operationName": "B",
            },
            "B",
        ),
        ({"query": "{ me { id } }", "operationName": "bad\nname"}, "invalid"),
        ({"query": "mutation Logout { logout }"}, "Logout"),
    ],
    ids=["anonymous", "operation-name", "invalid-name", "mutation"],
)
def test_the_operation_is_named_safely(
    db: None, caplog: pytest.LogCaptureFixture, body: dict[str, str], operation: str
) -> None:
    caplog.set_level(logging.INFO)

    Client().post(GRAPHQL, body, content_type="application/json")

    (line,) = request_lines(caplog)
    assert line.request_fields["operation"] == operation  # type: ignore[attr-defined]


def test_control_characters_in_the_path_cannot_forge_a_line(
    db: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)

    Client().get("/graphql/%0Aforged INFO requests GET / 200")

    (line,) = request_lines(caplog)
    assert "\n" not in line.getMessage()
    assert line.getMessage().startswith("GET /graphql/\\nforged ")


def test_a_server_error_keeps_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    request = RequestFactory().get("/anything/")
    try:
        raise RuntimeError("boom")
    except RuntimeError as error:
        for status in (400, 404, 500):
            log_response(
                "%s",
                request.path,
                response=HttpResponse(status=status),
                request=request,
                exception=error,
            )

    assert [(r.name, r.levelname) for r in caplog.records] == [
        ("django.request", "ERROR")
    ]
    assert caplog.records[0].exc_info is not None


def test_the_json_formatter_writes_one_object_per_line(
    db: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    Client().post(GRAPHQL, "{}", content_type="application/json")
    (line,) = request_lines(caplog)

    text = JsonFormatter().format(line)

    assert "\n" not in text
    entry = json.loads(text)
    assert entry["level"] == "WARNING"
    assert entry["logger"] == "requests"
    assert entry["status"] == 400
    assert entry["path"] == "/graphql/"
    assert entry["message"].startswith("POST /graphql/ 400 ")
    assert set(REQUEST_FIELDS) <= set(entry)


def test_the_json_formatter_keeps_a_traceback() -> None:
    try:
        raise ValueError("broken")
    except ValueError:
        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info()
        )

    entry = json.loads(JsonFormatter().format(record))

    assert entry["message"] == "failed"
    assert "ValueError: broken" in entry["exception"]


def run_shell(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return manage_py("shell", "-c", code, env={"DATABASE_URL": "", **env})


def test_log_format_json_switches_every_line_to_json() -> None:
    result = run_shell(
        "import logging; logging.getLogger('requests').warning('hello')",
        LOG_FORMAT="json",
    )

    (line,) = result.stderr.splitlines()
    entry = json.loads(line)
    assert (entry["logger"], entry["level"], entry["message"]) == (
        "requests",
        "WARNING",
        "hello",
    )


def test_an_unknown_log_format_is_refused_clearly() -> None:
    result = run_shell("pass", LOG_FORMAT="xml")

    assert result.returncode != 0
    assert "LOG_FORMAT must be plain or json, not 'xml'." in result.stderr
