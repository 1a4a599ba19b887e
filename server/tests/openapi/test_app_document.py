"""The served OpenAPI document and docs of the real app, over both transports."""

from __future__ import annotations

from typing import Any

import httpx
from openapi_spec_validator import (
    OpenAPIV30SpecValidator,
    OpenAPIV31SpecValidator,
    validate,
)

from techcorp_server.app import api_operations
from techcorp_server.openapi.document import openapi_path

from ..utils.api import assert_error
from .page_links import page_urls

RATE_LIMIT_HEADERS = (
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "RateLimit",
    "RateLimit-Policy",
)


def resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


async def served_document(api: httpx.AsyncClient) -> dict[str, Any]:
    response = await api.get("/v2/openapi.json")
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


async def test_document_needs_no_token(api: httpx.AsyncClient) -> None:
    response = await api.get("/v2/openapi.json")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert "X-RateLimit-Limit" in response.headers
    assert "X-Request-Id" in response.headers


async def test_document_is_valid_openapi_31(api: httpx.AsyncClient) -> None:
    document = await served_document(api)

    validate(document, cls=OpenAPIV31SpecValidator)
    assert document["openapi"] == "3.1.0"
    assert document["info"]["version"] == "2.0.0"
    assert document["servers"] == [{"url": "/"}]


async def test_every_operation_documented(api: httpx.AsyncClient) -> None:
    document = await served_document(api)

    for operation in api_operations():
        label = f"{operation.method} {operation.path}"
        item = document["paths"][openapi_path(operation.path)]
        documented = item[operation.method.lower()]
        responses = documented["responses"]

        assert documented["operationId"] == operation.operation_id, label
        assert documented["tags"] == [operation.tag], label
        assert str(operation.status_code) in responses, label
        for status in [*operation.errors, 429, 500]:
            assert str(status) in responses, (label, status)


async def test_every_operation_has_security(api: httpx.AsyncClient) -> None:
    document = await served_document(api)

    for operation in api_operations():
        label = f"{operation.method} {operation.path}"
        item = document["paths"][openapi_path(operation.path)]
        documented = item[operation.method.lower()]

        if operation.auth:
            unauthorized = resolve(document, documented["responses"]["401"])
            assert documented["security"] == [{"bearerAuth": []}, {"oauth2": []}]
            assert "WWW-Authenticate" in unauthorized["headers"], label
        else:
            assert documented["security"] == [], label


async def test_every_response_has_rate_limit_headers(api: httpx.AsyncClient) -> None:
    document = await served_document(api)

    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                headers = resolve(document, response)["headers"]
                missing = [name for name in RATE_LIMIT_HEADERS if name not in headers]
                assert not missing, (method, path, status, missing)
            rate_limited = resolve(document, operation["responses"]["429"])
            assert "Retry-After" in rate_limited["headers"], (method, path)


async def test_token_operation_documents_form(api: httpx.AsyncClient) -> None:
    document = await served_document(api)
    token = document["paths"]["/v2/auth/token"]["post"]
    oauth2 = document["components"]["securitySchemes"]["oauth2"]

    assert set(token["requestBody"]["content"]) == {
        "application/json",
        "application/x-www-form-urlencoded",
    }
    assert oauth2["flows"]["clientCredentials"]["tokenUrl"] == "/v2/auth/token"


async def test_documented_security_matches_server(api: httpx.AsyncClient) -> None:
    """Each operation documented as needing a token rejects a request without one."""
    for operation in api_operations():
        if not operation.auth:
            continue
        path = openapi_path(operation.path)
        for name in operation.path.split("{")[1:]:
            path = path.replace("{" + name.split("}")[0] + "}", "missing")

        response = await api.request(operation.method, path)

        assert_error(response, 401, "unauthorized")
        assert response.headers["www-authenticate"].startswith("Bearer")


async def test_docs_page_and_assets_load(api: httpx.AsyncClient) -> None:
    page = await api.get("/v2/docs")
    urls = page_urls(page.text)

    assert page.status_code == 200
    assert "://" not in page.text
    assert "content-security-policy" in page.headers
    assert urls
    for url in urls:
        assert url.startswith("/v2/"), url
        response = await api.get(url)
        assert response.status_code == 200, url
        assert response.content, url


async def test_docs_rendition_is_valid_openapi_30(api: httpx.AsyncClient) -> None:
    response = await api.get("/v2/docs/openapi-3.0.json")
    document = response.json()

    assert response.status_code == 200
    validate(document, cls=OpenAPIV30SpecValidator)
    assert set(document["paths"]) == set((await served_document(api))["paths"])


async def test_unlisted_swagger_ui_file_not_served(api: httpx.AsyncClient) -> None:
    for name in ["index.html", "swagger-initializer.js", "oauth2-redirect.html"]:
        response = await api.get(f"/v2/docs/assets/{name}")
        assert_error(response, 404, "not_found")


async def test_docs_page_rejects_post(api: httpx.AsyncClient) -> None:
    response = await api.post("/v2/docs")

    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["allow"]
