"""The OpenAPI document built from hand-made operations."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest
from openapi_spec_validator import (
    OpenAPIV30SpecValidator,
    OpenAPIV31SpecValidator,
    validate,
)
from pydantic import BaseModel

from techcorp_server.core.routing import Operation
from techcorp_server.openapi.document import build_document
from techcorp_server.openapi.openapi30 import downgrade_document, downgrade_schema

from .operations import endpoint, sample_operations

RATE_LIMIT_HEADERS = (
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "RateLimit",
    "RateLimit-Policy",
)


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return build_document(sample_operations(), rate_limit=100)


def resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow a local `$ref` such as `#/components/responses/NotFound`."""
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def operation_of(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    operation: dict[str, Any] = document["paths"][path][method]
    return operation


def test_document_is_valid_openapi_31(document: dict[str, Any]) -> None:
    validate(document, cls=OpenAPIV31SpecValidator)

    assert document["openapi"] == "3.1.0"
    assert orjson.loads(orjson.dumps(document)) == document


def test_info_servers_and_tags(document: dict[str, Any]) -> None:
    assert document["info"]["version"] == "2.0.0"
    assert document["info"]["title"] == "TechCorp API"
    assert document["servers"] == [{"url": "/"}]
    assert document["tags"] == [
        {"name": "auth"},
        {"name": "users"},
        {"name": "products"},
    ]


def test_operation_fields(document: dict[str, Any]) -> None:
    operation = operation_of(document, "post", "/v2/users")

    assert operation["operationId"] == "create_user"
    assert operation["summary"] == "Create a user"
    assert (
        operation["description"] == "Admins only. Emails are unique regardless of case."
    )
    assert operation["tags"] == ["users"]
    assert "description" not in operation_of(document, "get", "/v2/users/{id}")


def test_every_operation_appears_once(document: dict[str, Any]) -> None:
    found = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
    }

    assert found == {
        ("POST", "/v2/auth/token"),
        ("GET", "/v2/users"),
        ("POST", "/v2/users"),
        ("GET", "/v2/users/{id}"),
        ("DELETE", "/v2/users/{id}"),
        ("GET", "/v2/products"),
        ("POST", "/v2/products"),
        ("GET", "/v2/products/{number}/reviews"),
    }


def test_path_parameters(document: dict[str, Any]) -> None:
    get_user = operation_of(document, "get", "/v2/users/{id}")
    reviews = operation_of(document, "get", "/v2/products/{number}/reviews")

    assert get_user["parameters"] == [
        {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
    ]
    assert reviews["parameters"][0]["name"] == "number"
    assert reviews["parameters"][0]["schema"] == {"type": "integer", "minimum": 0}


def test_paginated_operation_page_parameters(document: dict[str, Any]) -> None:
    parameters = operation_of(document, "get", "/v2/users")["parameters"]
    by_name = {parameter["name"]: parameter for parameter in parameters}

    assert set(by_name) == {"page", "limit"}
    assert by_name["page"]["in"] == "query"
    assert by_name["page"]["schema"]["minimum"] == 1
    assert by_name["limit"]["schema"]["maximum"] == 100
    assert by_name["limit"]["schema"]["default"] == 20


def test_declared_limit_overrides_page_default(
    document: dict[str, Any],
) -> None:
    parameters = operation_of(document, "get", "/v2/products")["parameters"]
    names = [parameter["name"] for parameter in parameters]
    limit = next(parameter for parameter in parameters if parameter["name"] == "limit")

    assert names == ["category", "limit", "page"]
    assert limit["schema"] == {"type": "integer", "maximum": 50}
    assert limit["description"] == "Per page."


def test_paginated_response_is_list_envelope(document: dict[str, Any]) -> None:
    response = operation_of(document, "get", "/v2/users")["responses"]["200"]
    schema = resolve(document, response["content"]["application/json"]["schema"])

    assert response["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/UserPublicList"
    }
    assert schema["required"] == ["data", "page", "limit", "total"]
    assert schema["properties"]["data"]["items"] == {
        "$ref": "#/components/schemas/UserPublic"
    }
    assert response["headers"]["Link"] == {"$ref": "#/components/headers/Link"}


def test_paginated_response_without_model(document: dict[str, Any]) -> None:
    response = operation_of(document, "get", "/v2/products")["responses"]["200"]
    schema = response["content"]["application/json"]["schema"]

    assert schema["properties"]["data"] == {"type": "array", "items": {}}
    assert "Link" in response["headers"]


def test_request_body_from_model(document: dict[str, Any]) -> None:
    body = operation_of(document, "post", "/v2/users")["requestBody"]
    schema = resolve(document, body["content"]["application/json"]["schema"])

    assert body["required"] is True
    assert list(body["content"]) == ["application/json"]
    assert schema["required"] == ["email", "password", "role"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["password"]["minLength"] == 8
    assert schema["properties"]["role"]["enum"] == ["admin", "member"]


def test_token_request_accepts_json_and_form(document: dict[str, Any]) -> None:
    body = operation_of(document, "post", "/v2/auth/token")["requestBody"]
    form = resolve(
        document, body["content"]["application/x-www-form-urlencoded"]["schema"]
    )

    assert set(body["content"]) == {
        "application/json",
        "application/x-www-form-urlencoded",
    }
    assert body["content"]["application/x-www-form-urlencoded"]["schema"] == {
        "$ref": "#/components/schemas/OAuthTokenForm"
    }
    assert form["properties"]["grant_type"]["enum"] == [
        "client_credentials",
        "password",
    ]
    assert {"client_id", "client_secret", "username", "password"} <= set(
        form["properties"]
    )


def test_response_model_schema(document: dict[str, Any]) -> None:
    response = operation_of(document, "get", "/v2/users/{id}")["responses"]["200"]
    schema = resolve(document, response["content"]["application/json"]["schema"])

    assert schema["required"] == ["id", "email", "role", "created_at"]
    assert schema["properties"]["created_at"]["format"] == "date-time"
    assert "password" not in schema["properties"]


def test_created_response_has_location(document: dict[str, Any]) -> None:
    responses = operation_of(document, "post", "/v2/users")["responses"]

    assert "200" not in responses
    assert responses["201"]["description"] == "Created"
    assert responses["201"]["headers"]["Location"] == {
        "$ref": "#/components/headers/Location"
    }


def test_no_content_response_has_no_body(document: dict[str, Any]) -> None:
    response = operation_of(document, "delete", "/v2/users/{id}")["responses"]["204"]

    assert response["description"] == "No Content"
    assert "content" not in response


def test_declared_response_header(document: dict[str, Any]) -> None:
    headers = operation_of(document, "post", "/v2/products")["responses"]["201"][
        "headers"
    ]

    assert headers["Idempotency-Replayed"] == {
        "description": "Whether the response is a replay.",
        "schema": {"type": "string"},
    }
    assert "Location" in headers


def test_declared_errors_appear(document: dict[str, Any]) -> None:
    responses = operation_of(document, "delete", "/v2/users/{id}")["responses"]

    assert responses["403"] == {"$ref": "#/components/responses/Forbidden"}
    assert responses["404"] == {"$ref": "#/components/responses/NotFound"}
    assert responses["409"] == {"$ref": "#/components/responses/Conflict"}


def test_error_outside_core_errors_uses_error_schema(document: dict[str, Any]) -> None:
    response = operation_of(document, "post", "/v2/products")["responses"]["418"]

    assert response["description"] == "I'm a Teapot"
    assert response["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }


def test_body_and_query_errors(document: dict[str, Any]) -> None:
    create_user = operation_of(document, "post", "/v2/users")["responses"]
    list_products = operation_of(document, "get", "/v2/products")["responses"]
    get_user = operation_of(document, "get", "/v2/users/{id}")["responses"]

    assert {"400", "413", "415"} <= set(create_user)
    assert "400" in list_products
    assert "413" not in list_products
    assert "400" not in get_user


def test_every_operation_has_429_and_500(document: dict[str, Any]) -> None:
    for item in document["paths"].values():
        for operation in item.values():
            responses = operation["responses"]
            assert responses["429"] == {"$ref": "#/components/responses/RateLimited"}
            assert responses["500"] == {"$ref": "#/components/responses/InternalError"}


def test_every_response_has_rate_limit_headers(document: dict[str, Any]) -> None:
    for item in document["paths"].values():
        for operation in item.values():
            for status, response in operation["responses"].items():
                headers = resolve(document, response)["headers"]
                missing = [name for name in RATE_LIMIT_HEADERS if name not in headers]
                assert not missing, (operation["operationId"], status, missing)
                assert "X-Request-Id" in headers


def test_rate_limited_response_has_retry_after(document: dict[str, Any]) -> None:
    response = document["components"]["responses"]["RateLimited"]
    example = response["content"]["application/json"]["example"]

    assert response["headers"]["Retry-After"] == {
        "$ref": "#/components/headers/Retry-After"
    }
    assert example["error"] == "rate_limited"
    assert document["components"]["headers"]["X-RateLimit-Limit"]["example"] == 100


def test_authenticated_operations(document: dict[str, Any]) -> None:
    for path, method in [("/v2/users", "get"), ("/v2/users/{id}", "delete")]:
        operation = operation_of(document, method, path)
        unauthorized = resolve(document, operation["responses"]["401"])

        assert operation["security"] == [{"bearerAuth": []}, {"oauth2": []}]
        assert "WWW-Authenticate" in unauthorized["headers"]


def test_public_operations_need_no_token(document: dict[str, Any]) -> None:
    list_products = operation_of(document, "get", "/v2/products")
    token = operation_of(document, "post", "/v2/auth/token")

    assert list_products["security"] == []
    assert "401" not in list_products["responses"]
    assert token["security"] == []
    assert token["responses"]["401"] == {"$ref": "#/components/responses/Unauthorized"}


def test_security_schemes(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]

    assert schemes["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "An access token from `POST /v2/auth/token`.",
    }
    assert schemes["oauth2"]["type"] == "oauth2"
    assert schemes["oauth2"]["flows"] == {
        "clientCredentials": {"tokenUrl": "/v2/auth/token", "scopes": {}}
    }


def test_error_schema(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    error = schemas["Error"]

    assert error["required"] == ["error", "message"]
    assert set(error["properties"]) == {
        "error",
        "message",
        "details",
        "request_id",
        "error_description",
    }
    assert error["properties"]["details"]["items"] == {
        "$ref": "#/components/schemas/ErrorDetail"
    }
    assert schemas["ErrorDetail"]["required"] == ["field", "message"]


def test_error_responses_name_their_code(document: dict[str, Any]) -> None:
    responses = document["components"]["responses"]

    for name, code in [
        ("BadRequest", "bad_request"),
        ("NotFound", "not_found"),
        ("PayloadTooLarge", "payload_too_large"),
        ("ServiceUnavailable", "service_unavailable"),
    ]:
        example = responses[name]["content"]["application/json"]["example"]
        assert example["error"] == code
        assert example["message"]


def test_same_method_and_path_rejected() -> None:
    operations = sample_operations()
    twin = copy.copy(operations[1])
    twin.operation_id = "list_users_again"

    with pytest.raises(ValueError, match="GET /v2/users declared twice"):
        build_document([*operations, twin])


def test_repeated_operation_id_rejected() -> None:
    operations = sample_operations()
    twin = copy.copy(operations[1])
    twin.method = "PUT"

    with pytest.raises(ValueError, match="operation id 'list_users' used twice"):
        build_document([*operations, twin])


def test_model_named_like_component_rejected() -> None:
    class Error(BaseModel):
        reason: str

    operation = Operation(
        method="GET",
        path="/v2/errors",
        endpoint=endpoint,
        summary="List errors",
        tag="errors",
        operation_id="list_errors",
        response_model=Error,
    )

    with pytest.raises(ValueError, match="'Error' is used by two components"):
        build_document([operation])


def test_unknown_path_convertor_rejected() -> None:
    operation = Operation(
        method="GET",
        path="/v2/things/{id:slug}",
        endpoint=endpoint,
        summary="Get a thing",
        tag="things",
        operation_id="get_thing",
    )

    with pytest.raises(ValueError, match="unknown convertor 'slug'"):
        build_document([operation])


def test_openapi30_rendition_is_valid(document: dict[str, Any]) -> None:
    original = copy.deepcopy(document)
    downgraded = downgrade_document(document)

    validate(downgraded, cls=OpenAPIV30SpecValidator)
    assert downgraded["openapi"] == "3.0.3"
    assert document == original


def test_openapi30_rendition_of_model_fields(document: dict[str, Any]) -> None:
    schemas = downgrade_document(document)["components"]["schemas"]
    nickname = schemas["UserPublic"]["properties"]["nickname"]
    token_type = schemas["TokenResponse"]["properties"]["token_type"]

    assert nickname["type"] == "string"
    assert nickname["nullable"] is True
    assert "anyOf" not in nickname
    assert token_type["enum"] == ["Bearer"]
    assert "const" not in token_type


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        (
            {"type": ["integer", "null"]},
            {"type": "integer", "nullable": True},
        ),
        (
            {"anyOf": [{"$ref": "#/components/schemas/User"}, {"type": "null"}]},
            {"allOf": [{"$ref": "#/components/schemas/User"}], "nullable": True},
        ),
        (
            {"anyOf": [{"type": "number"}, {"type": "string"}, {"type": "null"}]},
            {"anyOf": [{"type": "number"}, {"type": "string"}], "nullable": True},
        ),
        (
            {"type": "number", "exclusiveMinimum": 0},
            {"type": "number", "minimum": 0, "exclusiveMinimum": True},
        ),
        (
            {"type": "string", "examples": ["a", "b"]},
            {"type": "string", "example": "a"},
        ),
        (
            {"type": "array", "prefixItems": [{"type": "integer"}]},
            {"type": "array", "items": {"anyOf": [{"type": "integer"}]}},
        ),
        (
            {"type": "object", "propertyNames": {"pattern": "^a"}},
            {"type": "object"},
        ),
        (
            {"$ref": "#/components/schemas/User", "description": "The owner."},
            {
                "description": "The owner.",
                "allOf": [{"$ref": "#/components/schemas/User"}],
            },
        ),
        (
            {"type": "object", "properties": {"n": {"type": ["string", "null"]}}},
            {
                "type": "object",
                "properties": {"n": {"type": "string", "nullable": True}},
            },
        ),
    ],
)
def test_openapi30_schema_keywords(
    schema: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert downgrade_schema(schema) == expected
