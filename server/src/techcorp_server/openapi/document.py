"""The OpenAPI 3.1 document, built from the operations the app serves.

Each `Operation` becomes one operation object with its parameters, its request
body and every response it can send. That includes the responses the
middleware adds to every operation: 429 and 500 always, 401 when a token is
required, and 400, 413 and 415 when a body or query is read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from ..core.pagination import MAX_LIMIT, PAGE_QUERY
from ..core.routing import Operation, QueryParam
from .components import (
    FORM_MEDIA_TYPE,
    JSON_MEDIA_TYPE,
    OAUTH_FORM_SCHEMA_NAME,
    TOKEN_PATH,
    common_header_refs,
    error_response,
    error_response_refs,
    error_responses,
    error_schemas,
    header_components,
    header_ref,
    oauth_form_schema,
    schema_ref,
    security_schemes,
)

OPENAPI_VERSION = "3.1.0"
API_VERSION = "2.0.0"

DESCRIPTION = (
    f"Authenticate with a bearer token from `POST {TOKEN_PATH}`. Every error is a "
    "JSON object with `error` and `message`. Requests are rate-limited per client "
    "IP, and every response carries the `X-RateLimit-*` headers. The WebSocket "
    "event stream at `/v2/events` is described by the AsyncAPI document at "
    "[/v2/asyncapi.json](/v2/asyncapi.json)."
)

# A Starlette path parameter: `{name}` or `{name:convertor}`.
_PATH_PARAMETER = re.compile(r"\{([^{}:]+)(?::([^{}]+))?\}")

_CONVERTOR_SCHEMAS: dict[str, dict[str, Any]] = {
    "str": {"type": "string"},
    "path": {"type": "string"},
    "int": {"type": "integer", "minimum": 0},
    "float": {"type": "number", "minimum": 0},
    "uuid": {"type": "string", "format": "uuid"},
}


def build_document(
    operations: Sequence[Operation], *, rate_limit: int = 100
) -> dict[str, Any]:
    """Build the document, with `rate_limit` as the `X-RateLimit-Limit` example.

    Raises `ValueError` when two operations share a method and path or an
    operation id, or when a model name clashes with a shared component.
    """
    schemas = ModelSchemas(operations)
    paths: dict[str, dict[str, Any]] = {}
    operation_ids: set[str] = set()
    for operation in operations:
        if operation.operation_id in operation_ids:
            raise ValueError(f"operation id {operation.operation_id!r} used twice")
        operation_ids.add(operation.operation_id)

        item = paths.setdefault(openapi_path(operation.path), {})
        method = operation.method.lower()
        if method in item:
            raise ValueError(f"{operation.method} {operation.path} declared twice")
        item[method] = _operation_object(operation, schemas)

    tags = dict.fromkeys(operation.tag for operation in operations)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "TechCorp API",
            "version": API_VERSION,
            "description": DESCRIPTION,
        },
        "servers": [{"url": "/"}],
        "tags": [{"name": tag} for tag in tags],
        "paths": paths,
        "components": {
            "schemas": schemas.components,
            "responses": error_responses(),
            "headers": header_components(rate_limit),
            "securitySchemes": security_schemes(),
        },
    }


def openapi_path(path: str) -> str:
    """Drop Starlette convertors: `/users/{id:str}` becomes `/users/{id}`."""
    return _PATH_PARAMETER.sub(r"{\1}", path)


def path_parameters(path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield the name and JSON schema of each parameter in a Starlette path."""
    for match in _PATH_PARAMETER.finditer(path):
        name, convertor = match.group(1), match.group(2) or "str"
        if convertor not in _CONVERTOR_SCHEMAS:
            raise ValueError(f"path {path!r} uses unknown convertor {convertor!r}")
        yield name, dict(_CONVERTOR_SCHEMAS[convertor])


class ModelSchemas:
    """The JSON schemas of the operations' pydantic models, by `$ref`.

    A model used both in requests and in responses gets two schemas when the
    two differ, named `Model-Input` and `Model-Output` by pydantic.
    """

    def __init__(self, operations: Sequence[Operation]) -> None:
        keys: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {}
        for operation in operations:
            if operation.request_model is not None:
                keys[(operation.request_model, "validation")] = None
            if operation.response_model is not None:
                keys[(operation.response_model, "serialization")] = None

        self.refs, definitions = models_json_schema(
            list(keys), ref_template="#/components/schemas/{model}"
        )
        self.components: dict[str, Any] = error_schemas()
        if any(operation.request_form for operation in operations):
            self.components[OAUTH_FORM_SCHEMA_NAME] = oauth_form_schema()
        for name, schema in definitions.get("$defs", {}).items():
            self._add(name, schema)

    def request(self, model: type[BaseModel]) -> dict[str, Any]:
        return dict(self.refs[(model, "validation")])

    def response(self, model: type[BaseModel]) -> dict[str, Any]:
        return dict(self.refs[(model, "serialization")])

    def page(self, model: type[BaseModel] | None) -> dict[str, Any]:
        """Return the list envelope of `model`, adding it on first use."""
        if model is None:
            return _page_envelope("item", {})

        item = self.response(model)
        item_name = item["$ref"].rsplit("/", 1)[1].removesuffix("-Output")
        name = f"{item_name}List"
        if name not in self.components:
            self._add(name, _page_envelope(item_name, item))
        return schema_ref(name)

    def _add(self, name: str, schema: dict[str, Any]) -> None:
        if name in self.components:
            raise ValueError(f"schema name {name!r} is used by two components")
        self.components[name] = schema


def _page_envelope(item_name: str, item: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "description": f"One page of {item_name} items, and where it sits.",
        "required": ["data", "page", "limit", "total"],
        "properties": {
            "data": {"type": "array", "items": item},
            "page": {"type": "integer", "minimum": 1, "description": "From 1."},
            "limit": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_LIMIT,
                "description": "Items per page.",
            },
            "total": {
                "type": "integer",
                "minimum": 0,
                "description": "Items on all pages together.",
            },
        },
    }


def _operation_object(operation: Operation, schemas: ModelSchemas) -> dict[str, Any]:
    document_operation: dict[str, Any] = {
        "operationId": operation.operation_id,
        "summary": operation.summary,
        "tags": [operation.tag],
    }
    if operation.description:
        document_operation["description"] = operation.description

    parameters = _parameters(operation)
    if parameters:
        document_operation["parameters"] = parameters

    if operation.request_model is not None or operation.request_form:
        document_operation["requestBody"] = _request_body(operation, schemas)

    document_operation["responses"] = _responses(operation, schemas)
    if operation.auth:
        document_operation["security"] = [{"bearerAuth": []}, {"oauth2": []}]
    else:
        document_operation["security"] = []
    return document_operation


def _query_parameters(operation: Operation) -> list[QueryParam]:
    query = list(operation.query)
    if operation.paginated:
        declared = {parameter.name for parameter in query}
        query += [
            parameter for parameter in PAGE_QUERY if parameter.name not in declared
        ]
    return query


IDEMPOTENCY_KEY_PARAMETER: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "A unique key, such as a UUID, that makes a retry of this "
    "request return the first response instead of acting again. Kept 24 hours "
    "by default.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}


def _parameters(operation: Operation) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": schema}
        for name, schema in path_parameters(operation.path)
    ]
    if operation.idempotent:
        parameters.append(IDEMPOTENCY_KEY_PARAMETER)
    for parameter in _query_parameters(operation):
        parameters.append(
            {
                "name": parameter.name,
                "in": "query",
                "required": parameter.required,
                "description": parameter.description,
                "schema": dict(parameter.schema),
            }
        )
    return parameters


def _request_body(operation: Operation, schemas: ModelSchemas) -> dict[str, Any]:
    content: dict[str, Any] = {}
    if operation.request_model is not None:
        content[JSON_MEDIA_TYPE] = {"schema": schemas.request(operation.request_model)}
    if operation.request_form:
        content[FORM_MEDIA_TYPE] = {"schema": schema_ref(OAUTH_FORM_SCHEMA_NAME)}
    return {"required": True, "content": content}


def _error_statuses(operation: Operation) -> set[int]:
    statuses = {*operation.errors, HTTPStatus.TOO_MANY_REQUESTS.value}
    statuses.add(HTTPStatus.INTERNAL_SERVER_ERROR.value)
    if operation.auth:
        statuses.add(HTTPStatus.UNAUTHORIZED.value)
    if operation.request_model is not None or operation.request_form:
        statuses.add(HTTPStatus.BAD_REQUEST.value)
        statuses.add(HTTPStatus.REQUEST_ENTITY_TOO_LARGE.value)
        statuses.add(HTTPStatus.UNSUPPORTED_MEDIA_TYPE.value)
    if operation.query or operation.paginated:
        statuses.add(HTTPStatus.BAD_REQUEST.value)
    statuses.discard(operation.status_code)
    return statuses


def _responses(operation: Operation, schemas: ModelSchemas) -> dict[str, Any]:
    responses = {str(operation.status_code): _success_response(operation, schemas)}
    shared = error_response_refs()
    for status in sorted(_error_statuses(operation)):
        if status in shared:
            responses[str(status)] = dict(shared[status])
        else:
            responses[str(status)] = error_response(status, HTTPStatus(status).phrase)
    return responses


def _success_response(operation: Operation, schemas: ModelSchemas) -> dict[str, Any]:
    status = operation.status_code
    headers = common_header_refs()
    if operation.paginated:
        headers["Link"] = header_ref("Link")
    if status == HTTPStatus.CREATED:
        headers["Location"] = header_ref("Location")
    for header in operation.response_headers:
        headers[header.name] = {
            "description": header.description,
            "schema": dict(header.schema),
        }

    response: dict[str, Any] = {
        "description": HTTPStatus(status).phrase,
        "headers": headers,
    }
    if operation.paginated:
        response["content"] = {
            JSON_MEDIA_TYPE: {"schema": schemas.page(operation.response_model)}
        }
    elif operation.response_model is not None:
        response["content"] = {
            JSON_MEDIA_TYPE: {"schema": schemas.response(operation.response_model)}
        }
    return response
