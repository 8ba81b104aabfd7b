"""The per-request GraphQL context: the viewer and their permissions."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import sync_to_async
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse, UnreadablePostError
from django.http.response import HttpResponseBase
from django.middleware.csrf import get_token
from strawberry.django.views import AsyncGraphQLView, TemporalHttpResponse
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.ides import GraphQL_IDE
from strawberry.http.parse_content_type import parse_content_type
from strawberry.types import ExecutionResult, Info

from history.diff import READ_WORD_DIFFS
from history.request_log import OPERATION_ATTRIBUTE
from schema import cache as response_cache
from schema.budget import database_budget
from schema.errors import REQUEST_ERROR_ATTRIBUTE, RequestErrorCode
from schema.graphiql import graphiql_page
from schema.loaders import Loaders


@dataclass
class Viewer:
    """Who is asking, with their permissions loaded once per request."""

    user: Any
    permissions: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_authenticated(self) -> bool:
        return bool(self.user.is_authenticated)

    @property
    def is_staff(self) -> bool:
        return bool(self.user.is_authenticated and self.user.is_staff)

    def has_perm(self, permission: str) -> bool:
        """Whether the viewer holds `permission` (superusers hold them all)."""
        if not self.user.is_active:
            return False
        return bool(self.user.is_superuser) or permission in self.permissions


@dataclass
class Context:
    """What every resolver sees as `info.context`."""

    request: HttpRequest
    response: HttpResponse
    viewer: Viewer
    loaders: Loaders = field(default_factory=Loaders)
    # Word-level diffs the request may still compute when read (see
    # `history.diff.READ_WORD_DIFFS`).
    word_diffs_left: int = field(default_factory=lambda: READ_WORD_DIFFS)


async def load_viewer(request: HttpRequest) -> Viewer:
    """Resolve the request's user and load their permissions in one query."""
    user = await request.auser()
    if user is None or not user.is_authenticated:
        return Viewer(user=AnonymousUser())
    if user.is_superuser or not user.is_active:
        return Viewer(user=user)
    permissions = await sync_to_async(user.get_all_permissions)()
    return Viewer(user=user, permissions=frozenset(permissions))


def viewer_of(info: Info[Any, Any]) -> Viewer:
    """The viewer of the request being resolved."""
    viewer: Viewer = info.context.viewer
    return viewer


def refresh_viewer(info: Info[Any, Any], user: Any) -> None:
    """Point the context at a user who just logged in or out."""
    info.context.viewer = Viewer(
        user=user,
        permissions=frozenset(user.get_all_permissions())
        if user.is_authenticated
        else frozenset(),
    )


class GraphQLView(AsyncGraphQLView[Context, None]):
    """The GraphQL endpoint, with a `Context` carrying the viewer.

    Requests it cannot even read (a body that is not a JSON object, an unknown
    content type or charset, JSON nested deeper than `MAX_JSON_DEPTH`) get a 4xx
    answer in the GraphQL error format, never a 500; a body (or a GET's query
    string) over `GRAPHQL_MAX_BODY_BYTES` is a 413 (414) naming the limit.
    A GET (GraphiQL in a browser) sets the CSRF cookie that session requests
    send back in `X-CSRFToken`. GraphiQL is served while `GRAPHQL_IDE` is on,
    read per request.
    """

    # The response cache's entry of this request's operation, set while it runs
    # (Django builds a view instance per request).
    cache_entry: response_cache.Entry | None = None
    cache_sub_response: HttpResponse | None = None

    @property
    def graphql_ide(self) -> GraphQL_IDE | None:
        return "graphiql" if settings.GRAPHQL_IDE else None

    @graphql_ide.setter
    def graphql_ide(self, value: GraphQL_IDE | None) -> None:
        """strawberry's `__init__` assigns its argument; the setting wins."""

    async def render_graphql_ide(self, request: HttpRequest) -> HttpResponse:
        """Our GraphiQL page, whose assets are all served by this app."""
        return graphiql_page(request)

    async def get_context(
        self, request: HttpRequest, response: HttpResponse
    ) -> Context:
        return Context(
            request=request, response=response, viewer=await load_viewer(request)
        )

    async def execute_operation(
        self,
        request: HttpRequest,
        request_adapter: AsyncHTTPRequestAdapter,
        request_data: GraphQLRequestData | list[GraphQLRequestData],
        context: Context,
        root_value: None,
        sub_response: TemporalHttpResponse,
    ) -> Any:
        """Answer a query from the response cache (`schema.cache`) when it
        holds the answer; otherwise run it, noting where to store it."""
        if isinstance(request_data, GraphQLRequestData):
            entry = await response_cache.lookup(
                schema=self.schema, data=request_data, viewer=context.viewer
            )
            if entry is not None and entry.body is not None:
                return response_cache.CachedResult(entry.body)
            self.cache_entry = entry
            self.cache_sub_response = sub_response
        return await super().execute_operation(
            request=request,
            request_adapter=request_adapter,
            request_data=request_data,
            context=context,
            root_value=root_value,
            sub_response=sub_response,
        )

    async def process_result(
        self, request: HttpRequest, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        if isinstance(result, response_cache.CachedResult):
            return response_cache.EncodedAnswer({}, result.body)  # type: ignore[return-value]
        answer = await super().process_result(request, result)
        entry = self.cache_entry
        if entry is None or not response_cache.storable(
            result, self.cache_sub_response
        ):
            return answer
        encoded = self.encode_json(answer)
        body = encoded.encode() if isinstance(encoded, str) else encoded
        await response_cache.store(entry, body)
        return response_cache.EncodedAnswer(dict(answer), body)  # type: ignore[return-value]

    def encode_json(self, data: object) -> str | bytes:
        if isinstance(data, response_cache.EncodedAnswer):
            return data.body
        return super().encode_json(data)

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        data = await super().parse_http_body(request)
        setattr(self.request, OPERATION_ATTRIBUTE, operation_label(data))
        return data

    def parse_json(self, data: str | bytes) -> Any:
        if len(data) > body_limit():
            raise body_too_large()
        if not data.strip():
            raise HTTPException(
                400, "The request body is empty: send a JSON object with a `query`."
            )
        try:
            decoded = self.decode_json(data)
        except RecursionError as error:  # the decoder recursed as deep as it may
            raise too_deep() from error
        except ValueError as error:  # bad JSON, or bytes that are not UTF-8
            raise HTTPException(400, "Unable to parse request body as JSON") from error
        if not isinstance(decoded, dict | list):
            raise HTTPException(400, "The request body must be a JSON object.")
        if nests_deeper_than(data, decoded, MAX_JSON_DEPTH):
            raise too_deep()
        return decoded

    def create_response(
        self,
        response_data: Any,
        sub_response: HttpResponse,
    ) -> HttpResponseBase:
        """Answer in `application/graphql-response+json` to clients that accept
        it, as the GraphQL-over-HTTP specification says: a document that could
        not be parsed or validated gets a 400 and no `data`. `application/json`
        clients keep getting 200 answers."""
        response = super().create_response(response_data, sub_response)
        if not accepts_graphql_response(self.request):
            return response
        if getattr(self.request, REQUEST_ERROR_ATTRIBUTE, False):
            response_data = {k: v for k, v in response_data.items() if k != "data"}
            assert isinstance(response, HttpResponse)
            response.content = self.encode_json(response_data)
            response.status_code = 400
        response["Content-Type"] = GRAPHQL_RESPONSE_TYPE
        return response

    async def dispatch(  # type: ignore[override]
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        if request.method == "GET":
            get_token(request)
        try:
            refuse_unreadable(request)
            with database_budget(settings.DATABASE_REQUEST_BUDGET_MS):
                return await self.run(request=request)
        except RequestDataTooBig:  # a body longer than its Content-Length said
            return refusal(body_too_large())
        except TooManyFieldsSent:
            return request_error(
                "The query string has more parameters than the limit of "
                f"{settings.DATA_UPLOAD_MAX_NUMBER_FIELDS}.",
                status=400,
            )
        except UnreadablePostError:  # the client went away while sending it
            return request_error("The request body could not be read.", status=400)
        except HTTPException as error:
            if request.method == "GET" and "mutations are not allowed" in error.reason:
                # GraphQL over HTTP: a mutation sent with GET is 405.
                response = request_error(error.reason, status=405)
                response["Allow"] = "POST"
                return response
            response = refusal(error)
            if error.status_code == 405:
                response["Allow"] = "GET, POST"
            return response


GRAPHQL_RESPONSE_TYPE = "application/graphql-response+json"
# The start of a named operation in a document; only the first characters of a
# document are searched, so the cost stays small whatever its size.
NAMED_OPERATION = re.compile(r"\b(?:query|mutation|subscription)\s+([_A-Za-z]\w{0,99})")
OPERATION_SEARCH_CHARS = 2000
GRAPHQL_NAME = re.compile(r"[_A-Za-z]\w{0,99}")
# How deep the JSON of a request may nest (objects and arrays): GraphQL
# variables need a few levels; far deeper only exhausts the decoder's stack.
MAX_JSON_DEPTH = 64
UTF_8 = {"utf-8", "utf8"}


class RequestRefused(HTTPException):
    """An HTTP-level refusal with its own `extensions.code`."""

    def __init__(self, status_code: int, reason: str, *, code: str) -> None:
        super().__init__(status_code, reason)
        self.code = code


def operation_label(data: GraphQLRequestData | list[GraphQLRequestData]) -> str:
    """What the request log calls an operation: its `operationName`, else the
    name of the document's first named operation, else `anonymous`; a batch's
    labels joined by commas."""
    if isinstance(data, list):
        return ",".join(operation_label(item) for item in data[:10])
    name = data.operation_name
    if isinstance(name, str) and GRAPHQL_NAME.fullmatch(name):
        return name
    if name is not None:
        return "invalid"
    named = NAMED_OPERATION.search((data.query or "")[:OPERATION_SEARCH_CHARS])
    return named.group(1) if named else "anonymous"


def body_limit() -> int:
    """The largest body read, in bytes: `GRAPHQL_MAX_BODY_BYTES`, which is
    Django's `DATA_UPLOAD_MAX_MEMORY_SIZE` too unless that was set lower."""
    django_limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    limit: int = settings.GRAPHQL_MAX_BODY_BYTES
    return limit if django_limit is None else min(limit, django_limit)


def body_too_large() -> RequestRefused:
    limit = body_limit()
    return RequestRefused(
        413,
        f"The request body is larger than the limit of {limit} bytes "
        "(GRAPHQL_MAX_BODY_BYTES).",
        code=RequestErrorCode.BODY_TOO_LARGE.value,
    )


def too_deep() -> HTTPException:
    return HTTPException(
        400, f"The request's JSON nests deeper than the limit of {MAX_JSON_DEPTH}."
    )


def refuse_unreadable(request: HttpRequest) -> None:
    """Refuse, before any work, a request too large to read or in a charset
    other than UTF-8.

    Raises:
        HTTPException: 413 for a body over `GRAPHQL_MAX_BODY_BYTES` by its
            Content-Length, 414 for a query string over it, 400 for a bad
            Content-Length or charset.
    """
    limit = settings.GRAPHQL_MAX_BODY_BYTES
    if len(request.META.get("QUERY_STRING", "")) > limit:
        raise RequestRefused(
            414,
            f"The query string is longer than the limit of {limit} bytes "
            "(GRAPHQL_MAX_BODY_BYTES): send the query in a POST body.",
            code=RequestErrorCode.URI_TOO_LONG.value,
        )
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise HTTPException(400, "The Content-Length header is not a number.") from None
    if length > body_limit():
        raise body_too_large()
    _, params = parse_content_type(request.headers.get("Content-Type", ""))
    charset = params.get("charset")
    if charset is not None and charset.strip().lower() not in UTF_8:
        raise HTTPException(
            400, f"Unsupported charset {charset[:40]!r}: the body must be UTF-8."
        )


def nests_deeper_than(data: str | bytes, decoded: Any, limit: int) -> bool:
    """Whether decoded JSON nests more than `limit` objects and arrays deep.

    Bodies with no more than `limit` brackets (nearly all) cannot, and are not
    walked; the walk keeps its own stack, so it cannot exhaust Python's.
    """
    if isinstance(data, bytes):
        brackets = data.count(b"[") + data.count(b"{")
    else:
        brackets = data.count("[") + data.count("{")
    if brackets <= limit:
        return False
    stack: list[tuple[Any, int]] = [(decoded, 1)]
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value
        if depth > limit:
            return True
        stack.extend(
            (child, depth + 1) for child in children if isinstance(child, dict | list)
        )
    return False


def refusal(error: HTTPException) -> HttpResponse:
    """The GraphQL-format answer to a request refused at the HTTP level."""
    code = getattr(error, "code", RequestErrorCode.BAD_REQUEST.value)
    return request_error(error.reason, status=error.status_code, code=code)


def accepts_graphql_response(request: HttpRequest) -> bool:
    """Whether the client accepts the GraphQL response media type."""
    return GRAPHQL_RESPONSE_TYPE in request.headers.get("Accept", "")


def request_error(
    message: str, *, status: int, code: str = "BAD_REQUEST"
) -> HttpResponse:
    """A GraphQL-format error answer for a request that could not be executed."""
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return HttpResponse(
        json.dumps(body), status=status, content_type="application/json"
    )
