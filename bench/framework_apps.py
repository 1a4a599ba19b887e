"""The three apps compared when the web framework was chosen.

Each returns the same pre-rendered page of 20 products for
`GET /v2/products`: a bare ASGI app (`bare_app.app`), a Starlette route, and
a FastAPI route that declares the list's query parameters as the real
endpoint would. FastAPI is not a dependency of the server, so that app is
built only when FastAPI is installed.
"""

from __future__ import annotations

import importlib
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bare_app import BODY

MEDIA_TYPE = "application/json"


async def _starlette_list(request: Request) -> Response:
    return Response(BODY, media_type=MEDIA_TYPE)


starlette_app = Starlette(routes=[Route("/v2/products", _starlette_list)])


def fastapi_app() -> Any:
    """Build the FastAPI app; raises ImportError when FastAPI is missing."""
    fastapi = importlib.import_module("fastapi")
    app = fastapi.FastAPI()
    query = fastapi.Query

    async def list_products(
        page: int = query(1, ge=1),
        limit: int = query(20, ge=1, le=100),
        category: str | None = None,
    ) -> Response:
        return Response(BODY, media_type=MEDIA_TYPE)

    app.get("/v2/products")(list_products)
    return app
