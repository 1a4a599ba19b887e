"""The document and docs routes, served by a Starlette app of their own."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import orjson
import pytest
import swagger_ui_bundle
from openapi_spec_validator import OpenAPIV30SpecValidator, validate
from starlette.applications import Starlette

from techcorp_server.openapi.document import build_document
from techcorp_server.openapi.routes import build_routes, etag_matches
from techcorp_server.settings import Settings

from .operations import sample_operations
from .page_links import page_urls

SETTINGS = Settings.model_validate({"rate_limit_per_minute": 250})


@pytest.fixture(scope="module")
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = Starlette(routes=build_routes(sample_operations(), SETTINGS))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver"
    ) as client:
        yield client


async def test_document_served_as_built(client: httpx.AsyncClient) -> None:
    response = await client.get("/v2/openapi.json")
    expected = build_document(sample_operations(), rate_limit=250)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.content == orjson.dumps(expected)
    assert response.headers["cache-control"] == "no-cache"


async def test_document_revalidates_with_etag(client: httpx.AsyncClient) -> None:
    first = await client.get("/v2/openapi.json")
    etag = first.headers["etag"]

    for if_none_match in [etag, f"W/{etag}", f'"other", {etag}', "*"]:
        again = await client.get(
            "/v2/openapi.json", headers={"If-None-Match": if_none_match}
        )
        assert again.status_code == 304, if_none_match
        assert again.content == b""
        assert again.headers["etag"] == etag

    stale = await client.get("/v2/openapi.json", headers={"If-None-Match": '"old"'})
    assert stale.status_code == 200
    assert stale.content == first.content


async def test_document_answers_head(client: httpx.AsyncClient) -> None:
    response = await client.head("/v2/openapi.json")

    assert response.status_code == 200
    assert response.headers["etag"]


async def test_docs_page_loads_only_local_urls(client: httpx.AsyncClient) -> None:
    response = await client.get("/v2/docs")
    urls = page_urls(response.text)

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "://" not in response.text
    assert urls
    for url in urls:
        assert url.startswith("/v2/"), url
        assert not url.startswith("//"), url


async def test_docs_page_content_security_policy(client: httpx.AsyncClient) -> None:
    response = await client.get("/v2/docs")
    policy = response.headers["content-security-policy"]
    directives = dict(
        directive.strip().split(" ", 1) for directive in policy.split(";")
    )

    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "http" not in policy
    assert "unsafe-eval" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_docs_assets_load(client: httpx.AsyncClient) -> None:
    page = await client.get("/v2/docs")
    expected_types = {
        ".js": "text/javascript; charset=utf-8",
        ".css": "text/css; charset=utf-8",
        ".png": "image/png",
    }

    for url in page_urls(page.text):
        if url == "/v2/openapi.json":
            continue
        response = await client.get(url)
        suffix = url[url.rindex(".") :]
        assert response.status_code == 200, url
        assert response.headers["content-type"] == expected_types[suffix], url
        assert response.content, url


async def test_swagger_ui_served_from_package(client: httpx.AsyncClient) -> None:
    response = await client.get("/v2/docs/assets/swagger-ui-bundle.js")
    packaged = (swagger_ui_bundle.swagger_ui_path / "swagger-ui-bundle.js").read_bytes()

    assert response.content == packaged


async def test_docs_script_loads_openapi30_document(client: httpx.AsyncClient) -> None:
    script = await client.get("/v2/docs/assets/docs.js")
    rendition = await client.get("/v2/docs/openapi-3.0.json")
    document = rendition.json()

    assert "://" not in script.text
    assert '"/v2/docs/openapi-3.0.json"' in script.text
    assert "validatorUrl: null" in script.text
    assert rendition.status_code == 200
    assert document["openapi"] == "3.0.3"
    validate(document, cls=OpenAPIV30SpecValidator)
    assert set(document["paths"]) == set(build_document(sample_operations())["paths"])


@pytest.mark.parametrize(
    ("if_none_match", "matches"),
    [
        (None, False),
        ("", False),
        ('"abc"', True),
        ('W/"abc"', True),
        ('"x", "abc"', True),
        (" * ", True),
        ('"abcd"', False),
        ("abc", False),
    ],
)
def test_etag_matches(if_none_match: str | None, matches: bool) -> None:
    assert etag_matches(if_none_match, '"abc"') is matches
