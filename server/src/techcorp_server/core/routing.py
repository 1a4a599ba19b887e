"""Operations: each endpoint declared once, for both routing and OpenAPI.

A domain module makes an `OperationRouter`, decorates its endpoints with
`router.get(...)`, `router.post(...)` and so on, and the app assembly turns
every router into Starlette routes. The same declarations feed the OpenAPI
document, so the docs cannot drift from what is served.

Endpoints are plain `async def endpoint(request) -> Response`. An operation
declared with `auth=True` runs the app's authenticator first, and the
endpoint reads the caller from `request.state.principal` (stored in the
scope's state directly, which is cheaper than through `request.state`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ExceptionHandler, Receive, Scope, Send

from . import idempotency
from .errors import NotFoundError

Endpoint = Callable[[Request], Awaitable[Response]]


class Authenticator(Protocol):
    async def __call__(self, request: Request) -> Any: ...


@dataclass(frozen=True)
class QueryParam:
    """A query parameter as the OpenAPI document describes it."""

    name: str
    schema: dict[str, Any]
    description: str
    required: bool = False


@dataclass(frozen=True)
class ResponseHeader:
    name: str
    description: str
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "string"})


@dataclass
class Operation:
    method: str
    path: str
    endpoint: Endpoint
    summary: str
    tag: str
    operation_id: str
    auth: bool = True
    description: str = ""
    request_model: type[BaseModel] | None = None
    request_form: bool = False
    response_model: type[BaseModel] | None = None
    status_code: int = 200
    paginated: bool = False
    query: Sequence[QueryParam] = ()
    errors: Sequence[int] = ()
    response_headers: Sequence[ResponseHeader] = ()
    idempotent: bool = False
    """Honour an `Idempotency-Key` header (see `core.idempotency`)."""


class OperationRouter:
    """The operations of one domain, sharing a path prefix and a tag."""

    def __init__(self, prefix: str, tag: str) -> None:
        self.prefix = prefix
        self.tag = tag
        self.operations: list[Operation] = []

    def operation(
        self, method: str, path: str, **options: Any
    ) -> Callable[[Endpoint], Endpoint]:
        def register(endpoint: Endpoint) -> Endpoint:
            self.operations.append(
                Operation(
                    method=method,
                    path=self.prefix + path,
                    endpoint=endpoint,
                    tag=self.tag,
                    operation_id=options.pop("operation_id", endpoint.__name__),
                    **options,
                )
            )
            return endpoint

        return register

    def get(self, path: str, **options: Any) -> Callable[[Endpoint], Endpoint]:
        return self.operation("GET", path, **options)

    def post(self, path: str, **options: Any) -> Callable[[Endpoint], Endpoint]:
        return self.operation("POST", path, **options)

    def put(self, path: str, **options: Any) -> Callable[[Endpoint], Endpoint]:
        return self.operation("PUT", path, **options)

    def patch(self, path: str, **options: Any) -> Callable[[Endpoint], Endpoint]:
        return self.operation("PATCH", path, **options)

    def delete(self, path: str, **options: Any) -> Callable[[Endpoint], Endpoint]:
        return self.operation("DELETE", path, **options)


def _with_authentication(operation: Operation) -> Endpoint:
    endpoint = operation.endpoint
    if operation.idempotent:
        if not operation.auth:
            raise ValueError("Idempotency-Key needs a caller to scope keys to")
        endpoint = idempotency.idempotent(endpoint)
    if not operation.auth:
        return endpoint

    async def authenticated(request: Request) -> Response:
        authenticate: Authenticator = request.app.state.authenticator
        principal = await authenticate(request)
        request.scope.setdefault("state", {})["principal"] = principal
        return await endpoint(request)

    return authenticated


def build_routes(
    operations: Sequence[Operation], *, first: Sequence[str] = ()
) -> list[Route]:
    """Make one Starlette route per path, dispatching on the method.

    One route per path (not per operation) lets Starlette reject a wrong
    method with 405 and an `Allow` header listing every method of the path.
    Starlette tries routes in order, each with a regular expression, so the
    paths in `first` (the most requested ones) are placed ahead.
    """
    by_path: dict[str, dict[str, Endpoint]] = {}
    for operation in operations:
        methods = by_path.setdefault(operation.path, {})
        if operation.method in methods:
            raise ValueError(f"{operation.method} {operation.path} declared twice")
        methods[operation.method] = _with_authentication(operation)

    ordered = [path for path in first if path in by_path]
    ordered += [path for path in by_path if path not in ordered]
    return [
        Route(path, _MethodDispatch(by_path[path]), methods=list(by_path[path]))
        for path in ordered
    ]


class _MethodDispatch:
    """The ASGI app of one path: picks the operation by method.

    Being an ASGI app rather than a function, it skips Starlette's per-route
    request/response wrapper; exceptions still reach the app's handlers.
    """

    def __init__(self, methods: dict[str, Endpoint]) -> None:
        if "GET" in methods:
            methods.setdefault("HEAD", methods["GET"])
        self.methods = methods

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.respond(scope, receive, send)
        await response(scope, receive, send)

    async def respond(self, scope: Scope, receive: Receive, send: Send) -> Response:
        """Run the operation of the request's method and return its response."""
        raw_path: bytes = scope.get("raw_path") or b""
        if b"%2" in raw_path and b"%2f" in raw_path.lower():
            # The route matched the decoded path, where an encoded slash in an
            # id became a separator, so the request named another resource.
            requested_path = raw_path.decode("latin-1")
            raise NotFoundError(f"No route matches {scope['method']} {requested_path}.")
        return await self.methods[scope["method"]](Request(scope, receive, send))


class FixedPathRoutes:
    """A table of the operations on paths without parameters, in front of Starlette.

    Starlette's router tries each route's regular expression in turn, and its
    two exception layers each wrap `send` in a closure. For a path such as
    `/v2/products` one dictionary lookup replaces all of that, and exceptions
    are turned into responses here with the same handlers. Every other
    request (a path with parameters, a method the path lacks, a WebSocket)
    goes to the Starlette app unchanged.
    """

    def __init__(
        self, app: Starlette, handlers: Mapping[Any, ExceptionHandler]
    ) -> None:
        self.app = app
        self._handlers = handlers
        self._routes: dict[str, tuple[Route, _MethodDispatch]] = {}
        for route in app.router.routes:
            if (
                isinstance(route, Route)
                and not route.param_convertors
                and isinstance(route.app, _MethodDispatch)
            ):
                self._routes[route.path] = (route, route.app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        entry = self._routes.get(scope["path"]) if scope["type"] == "http" else None
        if (
            entry is None
            or scope["method"] not in entry[1].methods
            or scope.get("root_path")
        ):
            await self.app(scope, receive, send)
            return
        route, dispatch = entry

        # What Starlette's application and router would have set.
        scope["app"] = self.app
        scope["router"] = self.app.router
        scope["route"] = route
        scope["endpoint"] = route.endpoint
        scope["path_params"] = {}
        unhandled: Exception | None = None
        try:
            response = await dispatch.respond(scope, receive, send)
        except Exception as exc:
            handler = self._handler_for(exc)
            response = await handler(Request(scope, receive, send), exc)
            if handler is self._handlers[Exception]:
                # Starlette sends the 500 and raises again, so that the
                # request context logs the exception with its traceback.
                unhandled = exc
        await response(scope, receive, send)
        if unhandled is not None:
            raise unhandled

    def _handler_for(self, exc: Exception) -> Any:
        for cls in type(exc).__mro__:
            handler = self._handlers.get(cls)
            if handler is not None:
                return handler
        return self._handlers[Exception]
