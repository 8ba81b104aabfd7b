"""GraphQL over HTTP: media types and status codes, requests that cannot run,
and production mode (masked errors, no suggestions, introspection and GraphiQL
switched off)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client

from products import services
from tests.conftest import bearer
from tests.helpers import gid, post_body

pytestmark = pytest.mark.django_db

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
COUNT = "{ products { totalCount } }"
COUNTED = {"products": {"totalCount": 0}}

# What the test client answers (an HttpResponse with the test client's extras).
Response = Any


def post(
    body: Any,
    *,
    accept: str | None = None,
    content_type: str = JSON,
    headers: dict[str, str] | None = None,
) -> Response:
    """POST `body` (JSON-encoded unless it is already text) to the endpoint."""
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    all_headers = {**({"Accept": accept} if accept else {}), **(headers or {})}
    return post_body(data, content_type=content_type, headers=all_headers)


def get(params: dict[str, str], *, accept: str | None = None) -> Response:
    headers = {"Accept": accept} if accept else {}
    response: Response = Client().get("/graphql/", params, headers=headers)
    return response


def answer_of(response: Response) -> dict[str, Any]:
    """The JSON answer without its `extensions` (the query cost)."""
    answer: dict[str, Any] = json.loads(response.content)
    answer.pop("extensions", None)
    return answer


def media_type(response: Response) -> str:
    return response["Content-Type"].split(";")[0].strip()


def codes(answer: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in answer["errors"]]


# -- media types and status codes ---------------------------------------------------

# A document that does not parse, and one that parses but does not validate.
UNPARSEABLE = "{ products { totalCount }"
INVALID = "{ products { totalCont } }"


@pytest.mark.parametrize(
    "accept",
    [
        GRAPHQL_RESPONSE,
        f"{GRAPHQL_RESPONSE}, {JSON};q=0.9",
        f"{JSON};q=0.9, {GRAPHQL_RESPONSE}",
    ],
)
def test_the_graphql_response_media_type_is_answered_when_accepted(
    accept: str,
) -> None:
    response = post({"query": COUNT}, accept=accept)

    assert response.status_code == 200
    assert media_type(response) == GRAPHQL_RESPONSE
    assert answer_of(response) == {"data": COUNTED}


@pytest.mark.parametrize("accept", [JSON, "*/*", None])
def test_json_is_answered_to_json_clients_and_by_default(accept: str | None) -> None:
    response = post({"query": COUNT}, accept=accept)

    assert response.status_code == 200
    assert media_type(response) == JSON
    assert answer_of(response) == {"data": COUNTED}


@pytest.mark.parametrize(
    ("query", "code", "message"),
    [
        (
            UNPARSEABLE,
            "GRAPHQL_PARSE_FAILED",
            "Syntax Error: Expected Name, found <EOF>.",
        ),
        (
            INVALID,
            "GRAPHQL_VALIDATION_FAILED",
            "Cannot query field 'totalCont' on type 'ProductConnection'.",
        ),
    ],
)
def test_a_document_that_cannot_run_is_a_400_without_data(
    query: str, code: str, message: str
) -> None:
    response = post({"query": query}, accept=GRAPHQL_RESPONSE)

    assert response.status_code == 400
    assert media_type(response) == GRAPHQL_RESPONSE
    answer = answer_of(response)
    assert "data" not in answer
    assert [(e["message"], e["extensions"]["code"]) for e in answer["errors"]] == [
        (message, code)
    ]


@pytest.mark.parametrize(
    ("query", "code"),
    [(UNPARSEABLE, "GRAPHQL_PARSE_FAILED"), (INVALID, "GRAPHQL_VALIDATION_FAILED")],
)
def test_json_clients_get_200_and_null_data_for_a_document_that_cannot_run(
    query: str, code: str
) -> None:
    response = post({"query": query}, accept=JSON)

    assert response.status_code == 200
    assert media_type(response) == JSON
    answer = answer_of(response)
    assert answer["data"] is None
    assert codes(answer) == [code]


def test_a_document_over_a_limit_is_a_400_for_graphql_response_clients(
    settings: Any,
) -> None:
    settings.GRAPHQL_MAX_NODES = 10
    query = "{ products(first: 11) { totalCount } }"

    strict = post({"query": query}, accept=GRAPHQL_RESPONSE)
    legacy = post({"query": query}, accept=JSON)

    assert (strict.status_code, legacy.status_code) == (400, 200)
    assert "data" not in answer_of(strict)
    assert answer_of(legacy)["data"] is None
    assert codes(answer_of(strict)) == codes(answer_of(legacy)) == ["TOO_MANY_NODES"]


def test_an_error_during_execution_is_a_200_with_data() -> None:
    """Once execution has begun, the answer is a GraphQL response with `data`."""
    response = post(
        {"query": '{ node(id: "not-a-global-id") { id } }'}, accept=GRAPHQL_RESPONSE
    )

    assert response.status_code == 200
    assert media_type(response) == GRAPHQL_RESPONSE
    answer = answer_of(response)
    assert answer["data"] == {"node": None}
    assert codes(answer) == ["BAD_USER_INPUT"]


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        pytest.param(
            "query($n: Int!) { products(first: $n) { totalCount } }",
            {},
            id="missing",
        ),
        pytest.param(
            "query($n: Int!) { products(first: $n) { totalCount } }",
            {"n": "many"},
            id="wrong-type",
        ),
    ],
)
def test_variables_that_cannot_be_coerced_are_a_400_without_data(
    query: str, variables: dict[str, Any]
) -> None:
    """Invalid variables are a request error (the GraphQL specification): the
    operation never starts, so there is no `data`, and GraphQL over HTTP says
    `application/graphql-response+json` answers it with a 400."""
    response = post({"query": query, "variables": variables}, accept=GRAPHQL_RESPONSE)

    answer = answer_of(response)
    assert (response.status_code, "data" in answer) == (400, False), answer
    assert len(answer["errors"]) == 1
    assert answer["errors"][0]["extensions"]["code"]


# -- requests that cannot be read ---------------------------------------------------


def assert_bad_request(response: Response, status: int, message: str | None) -> None:
    """A 4xx answer in the GraphQL error format, with a code to branch on (and
    `message`, unless it is None)."""
    assert response.status_code == status, response.content
    assert media_type(response) == JSON
    answer = json.loads(response.content)
    assert answer == {
        "errors": [
            {
                "message": answer["errors"][0]["message"]
                if message is None
                else message,
                "extensions": {"code": "BAD_REQUEST"},
            }
        ]
    }
    assert answer["errors"][0]["message"].strip()


@pytest.mark.parametrize("accept", [JSON, GRAPHQL_RESPONSE])
@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param({}, "No GraphQL query found in the request", id="no-query"),
        pytest.param(
            {"query": None}, "No GraphQL query found in the request", id="null-query"
        ),
        pytest.param(
            {"query": ""}, "No GraphQL query found in the request", id="empty-query"
        ),
        pytest.param(
            {"variables": {"n": 1}},
            "No GraphQL query found in the request",
            id="only-variables",
        ),
        pytest.param(
            {"query": 5},
            "The GraphQL operation's `query` must be a string or null, if provided.",
            id="query-not-a-string",
        ),
        pytest.param(
            {"query": COUNT, "variables": [1]},
            "The GraphQL operation's `variables` must be an object or null, "
            "if provided.",
            id="variables-not-an-object",
        ),
        pytest.param(
            "query=%7B%20products%20%7B%20totalCount%20%7D%20%7D",
            "Unable to parse request body as JSON",
            id="form-body-as-json",
        ),
        # Bytes that are not UTF-8 (the second looks like UTF-16 to `json`).
        pytest.param(b'{"query": "\xc3\x28"}', None, id="invalid-utf-8"),
        pytest.param(b"\xff\xfe{", None, id="utf-16-bom"),
        pytest.param(
            [{"query": COUNT}], "Batching is not enabled", id="batch-not-enabled"
        ),
    ],
)
def test_a_request_that_cannot_be_read_is_a_400_with_a_code(
    body: Any, message: str | None, accept: str
) -> None:
    assert_bad_request(post(body, accept=accept), 400, message)


@pytest.mark.parametrize(
    "content_type",
    ["application/xml", "text/plain", "application/x-www-form-urlencoded"],
)
def test_a_body_of_another_content_type_is_a_400_with_a_code(content_type: str) -> None:
    response = post("query=%7B%7D", content_type=content_type)

    assert_bad_request(response, 400, "Unsupported content type")


def test_an_unknown_operation_name_is_a_400_with_a_code() -> None:
    response = post(
        {"query": "query A { products { totalCount } }", "operationName": "B"}
    )

    assert_bad_request(response, 400, 'Unknown operation named "B".')


@pytest.mark.parametrize("accept", [JSON, GRAPHQL_RESPONSE])
def test_a_mutation_over_get_is_a_405_allowing_post(accept: str) -> None:
    response = get({"query": "mutation { logout }"}, accept=accept)

    assert_bad_request(response, 405, "mutations are not allowed when using GET")
    assert response["Allow"] == "POST"


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_other_methods_are_a_405_naming_the_allowed_ones(method: str) -> None:
    client = Client(raise_request_exception=False)
    response = getattr(client, method)("/graphql/", "{}", content_type=JSON)

    assert_bad_request(response, 405, "GraphQL only supports GET and POST requests.")
    # RFC 9110 (15.5.6): a 405 answer MUST list the allowed methods.
    assert response.get("Allow") == "GET, POST"


def test_a_get_without_a_query_is_a_400_with_a_code() -> None:
    assert_bad_request(
        get({}, accept=JSON), 400, "No GraphQL query found in the request"
    )


# -- queries over GET ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "expected_type"), [(JSON, JSON), (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE)]
)
def test_queries_work_over_get(accept: str, expected_type: str) -> None:
    services.product_create(
        data={"name": "Lamp", "price": Decimal("20.00")}, actor=None, reason="new"
    )

    response = get(
        {
            "query": "query($n: Int) { products(first: $n)"
            " { edges { node { name } } } }",
            "variables": json.dumps({"n": 1}),
        },
        accept=accept,
    )

    assert response.status_code == 200
    assert media_type(response) == expected_type
    assert answer_of(response) == {
        "data": {"products": {"edges": [{"node": {"name": "Lamp"}}]}}
    }


def test_an_invalid_query_over_get_is_a_400_for_graphql_response_clients() -> None:
    response = get({"query": INVALID}, accept=GRAPHQL_RESPONSE)

    assert response.status_code == 400
    answer = answer_of(response)
    assert "data" not in answer
    assert codes(answer) == ["GRAPHQL_VALIDATION_FAILED"]


# -- production mode: masked errors -------------------------------------------------

AS_OF = "query($id: ID!, $at: DateTime!) { productAsOf(id: $id, at: $at) { name } }"
INTERNAL_DETAIL = "connection to 10.0.0.7 lost; password=hunter2"


@pytest.fixture
def failing_selector(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the time-travel selector fail the way a bug or an outage would."""

    def explode(**kwargs: Any) -> Any:
        raise RuntimeError(INTERNAL_DETAIL)

    monkeypatch.setattr("history.selectors.history_as_of", explode)


def as_of_variables() -> dict[str, str]:
    product = services.product_create(
        data={"name": "Lamp", "price": Decimal("20.00")}, actor=None, reason="new"
    )
    return {"id": gid("Product", product.pk), "at": "2030-01-01T00:00:00Z"}


def test_an_unexpected_error_is_masked_and_logged_in_production(
    editor: Any,
    failing_selector: None,
    settings: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings.DEBUG = False
    variables = as_of_variables()

    with caplog.at_level(logging.ERROR):
        response = post(
            {"query": AS_OF, "variables": variables},
            headers={**bearer(editor), "X-Request-ID": "req-7f3a"},
        )

    assert response.status_code == 200
    assert response["X-Request-ID"] == "req-7f3a"
    assert answer_of(response) == {
        "data": {"productAsOf": None},
        "errors": [
            {
                "message": "Unexpected error; quote request id req-7f3a when "
                "reporting it.",
                "locations": [{"line": 1, "column": AS_OF.index("productAsOf") + 1}],
                "path": ["productAsOf"],
                "extensions": {
                    "code": "INTERNAL_SERVER_ERROR",
                    "requestId": "req-7f3a",
                },
            }
        ],
    }
    assert "hunter2" not in response.content.decode()
    assert "RuntimeError" not in response.content.decode()
    # The operator sees everything: the exception with its traceback.
    logged = [r for r in caplog.records if r.exc_info and r.exc_info[1] is not None]
    assert [type(r.exc_info[1]) for r in logged if r.exc_info] == [RuntimeError]
    assert INTERNAL_DETAIL in caplog.text
    assert "Traceback (most recent call last)" in caplog.text
    assert "in explode" in caplog.text


def test_a_masked_error_quotes_the_generated_request_id(
    editor: Any, failing_selector: None, settings: Any
) -> None:
    settings.DEBUG = False

    response = post(
        {"query": AS_OF, "variables": as_of_variables()},
        # Not a well-formed request id: the server makes its own.
        headers={**bearer(editor), "X-Request-ID": "bad id\twith spaces"},
    )

    request_id = response["X-Request-ID"]
    assert request_id
    assert request_id != "bad id\twith spaces"
    error = answer_of(response)["errors"][0]
    assert error["message"] == (
        f"Unexpected error; quote request id {request_id} when reporting it."
    )
    assert error["extensions"] == {
        "code": "INTERNAL_SERVER_ERROR",
        "requestId": request_id,
    }


def test_an_unexpected_error_is_shown_in_debug_mode(
    editor: Any, failing_selector: None, settings: Any
) -> None:
    settings.DEBUG = True

    response = post(
        {"query": AS_OF, "variables": as_of_variables()}, headers=bearer(editor)
    )

    error = answer_of(response)["errors"][0]
    assert (error["message"], error["extensions"]) == (
        INTERNAL_DETAIL,
        {"code": "INTERNAL_SERVER_ERROR"},
    )


def test_expected_errors_are_not_masked_in_production(settings: Any) -> None:
    settings.DEBUG = False

    answer = answer_of(post({"query": "{ products(first: 101) { totalCount } }"}))

    assert [(e["message"], e["extensions"]) for e in answer["errors"]] == [
        ("Argument 'first' cannot be higher than 100.", {"code": "BAD_USER_INPUT"})
    ]


# -- production mode: no field suggestions ------------------------------------------

SUGGESTING = [
    pytest.param("{ products { totalCont } }", {}, id="field"),
    pytest.param("{ products(frist: 1) { totalCount } }", {}, id="argument"),
    pytest.param(
        '{ products(filters: {nme: {exact: "Lamp"}}) { totalCount } }',
        {},
        id="input-field",
    ),
    pytest.param(
        "{ products(ordering: [{name: ASCC}]) { totalCount } }", {}, id="enum"
    ),
    pytest.param(
        "query($f: ProductFiltr) { products(filters: $f) { totalCount } }",
        {},
        id="type",
    ),
    pytest.param(
        "query($f: ProductFilter) { products(filters: $f) { totalCount } }",
        {"f": {"nme": {"exact": "Lamp"}}},
        id="input-field-in-variables",
    ),
]


@pytest.mark.parametrize(("query", "variables"), SUGGESTING)
def test_no_suggestions_in_production(
    settings: Any, query: str, variables: dict[str, Any]
) -> None:
    settings.DEBUG = False

    answer = answer_of(post({"query": query, "variables": variables}))

    assert answer["errors"], answer
    for error in answer["errors"]:
        assert "Did you mean" not in error["message"], error
        assert error["extensions"]["code"]


@pytest.mark.parametrize(("query", "variables"), SUGGESTING)
def test_suggestions_in_debug_mode(
    settings: Any, query: str, variables: dict[str, Any]
) -> None:
    settings.DEBUG = True

    answer = answer_of(post({"query": query, "variables": variables}))

    assert any("Did you mean" in error["message"] for error in answer["errors"]), answer


# -- production mode: introspection and GraphiQL switched off -----------------------

# Runs in a fresh interpreter: the schema and the URLs are built at import, from
# the settings of the environment. No database is touched.
PROBE = textwrap.dedent(
    """
    import json

    import django

    django.setup()

    from django.test import Client

    from schema.root import schema

    def run(query):
        result = schema.execute_sync(query)
        return {
            "data": result.data,
            "errors": [error.message for error in result.errors or []],
        }

    client = Client()
    page = client.get("/graphql/", headers={"Accept": "text/html"})
    over_http = client.post(
        "/graphql/",
        {"query": "{ __schema { queryType { name } } }"},
        content_type="application/json",
        headers={"Accept": "application/graphql-response+json"},
    )
    print(json.dumps({
        "schema": run("{ __schema { types { name } } }"),
        "type": run('{ __type(name: "Product") { name } }'),
        "typename": run("{ __typename }"),
        "http": {"status": over_http.status_code, "body": over_http.json()},
        "graphiql": {
            "status": page.status_code,
            "type": page["Content-Type"],
            "body": page.content.decode(),
        },
    }))
    """
)


def probe(**environment: str) -> dict[str, Any]:
    """What a server started with `environment` answers."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "1",
        "DATABASE_URL": "sqlite://:memory:",
        **environment,
    }
    completed = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=django_settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


@pytest.fixture(scope="module")
def switched_off() -> dict[str, Any]:
    return probe(GRAPHQL_INTROSPECTION="0", GRAPHQL_IDE="0")


@pytest.fixture(scope="module")
def switched_on() -> dict[str, Any]:
    return probe(GRAPHQL_INTROSPECTION="1", GRAPHQL_IDE="1")


def test_introspection_can_be_switched_off(switched_off: dict[str, Any]) -> None:
    assert switched_off["schema"]["data"] is None
    assert switched_off["schema"]["errors"][0] == (
        "GraphQL introspection has been disabled, but the requested query "
        "contained the field '__schema'."
    )
    assert switched_off["type"]["data"] is None
    assert "'__type'" in switched_off["type"]["errors"][0]
    # __typename is not introspection of the schema: clients rely on it.
    assert switched_off["typename"] == {"data": {"__typename": "Query"}, "errors": []}
    http = switched_off["http"]
    assert http["status"] == 400
    assert "data" not in http["body"]
    assert {e["extensions"]["code"] for e in http["body"]["errors"]} == {
        "GRAPHQL_VALIDATION_FAILED"
    }


def test_introspection_is_answered_when_switched_on(
    switched_on: dict[str, Any],
) -> None:
    types = {t["name"] for t in switched_on["schema"]["data"]["__schema"]["types"]}
    assert {"Product", "HistoricalProduct", "Query", "Mutation"} <= types
    assert switched_on["schema"]["errors"] == []
    assert switched_on["type"] == {
        "data": {"__type": {"name": "Product"}},
        "errors": [],
    }
    http = switched_on["http"]
    assert http["status"] == 200
    assert http["body"]["data"] == {"__schema": {"queryType": {"name": "Query"}}}


def test_graphiql_can_be_switched_off(switched_off: dict[str, Any]) -> None:
    page = switched_off["graphiql"]
    assert page["status"] == 404
    assert not page["type"].startswith("text/html")
    assert "GraphiQL" not in page["body"]
    assert json.loads(page["body"])["errors"][0]["extensions"]["code"]


def test_graphiql_is_served_when_switched_on(switched_on: dict[str, Any]) -> None:
    page = switched_on["graphiql"]
    assert page["status"] == 200
    assert page["type"].startswith("text/html")
    assert "GraphiQL" in page["body"]
