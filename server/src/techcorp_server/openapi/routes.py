"""Routes that serve the OpenAPI document and the offline Swagger UI docs.

Every body is rendered or read once, when the routes are built, and served
from memory with an `ETag`. The docs page loads its scripts, styles and
images from this server only, so it works without internet access.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from importlib.resources import files

import orjson
import swagger_ui_bundle
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core.routing import Operation
from ..settings import Settings
from .document import build_document
from .openapi30 import downgrade_document

DOCUMENT_PATH = "/v2/openapi.json"
DOCS_PATH = "/v2/docs"
DOCS_DOCUMENT_PATH = "/v2/docs/openapi-3.0.json"
ASSETS_PATH = "/v2/docs/assets"

JSON_MEDIA_TYPE = "application/json"
HTML_MEDIA_TYPE = "text/html; charset=utf-8"
JAVASCRIPT_MEDIA_TYPE = "text/javascript; charset=utf-8"
CSS_MEDIA_TYPE = "text/css; charset=utf-8"

# Scripts and styles come only from this origin, and the only images besides
# the favicons are the `data:` icons inside the Swagger UI stylesheet.
DOCS_CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)

DOCS_PAGE_HEADERS = {
    "Content-Security-Policy": DOCS_CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
}

# The files of the Swagger UI distribution that the docs page loads.
SWAGGER_UI_ASSETS = {
    "swagger-ui-bundle.js": JAVASCRIPT_MEDIA_TYPE,
    "swagger-ui.css": CSS_MEDIA_TYPE,
    "index.css": CSS_MEDIA_TYPE,
    "favicon-16x16.png": "image/png",
    "favicon-32x32.png": "image/png",
}

OWN_ASSETS = {"docs.js": JAVASCRIPT_MEDIA_TYPE}


class StaticBody:
    """A response body fixed when the routes are built, served with an `ETag`."""

    def __init__(
        self, body: bytes, media_type: str, headers: Mapping[str, str] | None = None
    ) -> None:
        self.body = body
        self.media_type = media_type
        self.etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
        # `no-cache` makes browsers revalidate, so a new server version's
        # document or assets are never served stale from a cache.
        self.headers = {
            "ETag": self.etag,
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
            **(headers or {}),
        }

    async def respond(self, request: Request) -> Response:
        if etag_matches(request.headers.get("if-none-match"), self.etag):
            return Response(status_code=304, headers=self.headers)
        return Response(self.body, media_type=self.media_type, headers=self.headers)


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Compare `If-None-Match` weakly with `etag` (RFC 9110 section 13.1.2)."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    candidates = (tag.strip().removeprefix("W/") for tag in if_none_match.split(","))
    return etag in candidates


def build_routes(operations: Sequence[Operation], settings: Settings) -> list[Route]:
    """Build the document of `operations` and the routes that serve it."""
    document = build_document(operations, rate_limit=settings.rate_limit_per_minute)
    bodies = {
        DOCUMENT_PATH: StaticBody(orjson.dumps(document), JSON_MEDIA_TYPE),
        DOCS_DOCUMENT_PATH: StaticBody(
            orjson.dumps(downgrade_document(document)), JSON_MEDIA_TYPE
        ),
        DOCS_PATH: StaticBody(
            _read_own_asset("docs.html"), HTML_MEDIA_TYPE, DOCS_PAGE_HEADERS
        ),
    }
    for name, media_type in SWAGGER_UI_ASSETS.items():
        content = (swagger_ui_bundle.swagger_ui_path / name).read_bytes()
        bodies[f"{ASSETS_PATH}/{name}"] = StaticBody(content, media_type)
    for name, media_type in OWN_ASSETS.items():
        bodies[f"{ASSETS_PATH}/{name}"] = StaticBody(_read_own_asset(name), media_type)

    return [
        Route(path, body.respond, methods=["GET"], include_in_schema=False)
        for path, body in bodies.items()
    ]


def _read_own_asset(name: str) -> bytes:
    return (files("techcorp_server.openapi") / "static" / name).read_bytes()
