"""Hand-made operations that cover every feature of the document builder."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field
from starlette.requests import Request
from starlette.responses import Response

from techcorp_server.core.routing import Operation, QueryParam, ResponseHeader


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    client_id: str
    client_secret: str


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    password: str = Field(min_length=8)
    role: Literal["admin", "member"]


class UserPublic(BaseModel):
    id: str
    email: str
    role: Literal["admin", "member"]
    nickname: str | None = None
    created_at: datetime


class ProductCreate(BaseModel):
    name: str
    price: Decimal = Field(gt=0, decimal_places=2, examples=["99.99"])
    category: str


async def endpoint(request: Request) -> Response:
    return Response(status_code=204)


def sample_operations() -> list[Operation]:
    return [
        Operation(
            method="POST",
            path="/v2/auth/token",
            endpoint=endpoint,
            summary="Get an access token",
            tag="auth",
            operation_id="create_token",
            auth=False,
            request_model=TokenRequest,
            request_form=True,
            response_model=TokenResponse,
            errors=(401,),
        ),
        Operation(
            method="GET",
            path="/v2/users",
            endpoint=endpoint,
            summary="List users",
            tag="users",
            operation_id="list_users",
            response_model=UserPublic,
            paginated=True,
        ),
        Operation(
            method="POST",
            path="/v2/users",
            endpoint=endpoint,
            summary="Create a user",
            description="Admins only. Emails are unique regardless of case.",
            tag="users",
            operation_id="create_user",
            request_model=UserCreate,
            response_model=UserPublic,
            status_code=201,
            errors=(403, 409),
        ),
        Operation(
            method="GET",
            path="/v2/users/{id}",
            endpoint=endpoint,
            summary="Get a user",
            tag="users",
            operation_id="get_user",
            response_model=UserPublic,
            errors=(404,),
        ),
        Operation(
            method="DELETE",
            path="/v2/users/{id}",
            endpoint=endpoint,
            summary="Delete a user",
            tag="users",
            operation_id="delete_user",
            status_code=204,
            errors=(403, 404, 409),
        ),
        Operation(
            method="GET",
            path="/v2/products",
            endpoint=endpoint,
            summary="List products",
            tag="products",
            operation_id="list_products",
            auth=False,
            paginated=True,
            query=(
                QueryParam("category", {"type": "string"}, "Only this category."),
                QueryParam("limit", {"type": "integer", "maximum": 50}, "Per page."),
            ),
        ),
        Operation(
            method="POST",
            path="/v2/products",
            endpoint=endpoint,
            summary="Create a product",
            tag="products",
            operation_id="create_product",
            request_model=ProductCreate,
            status_code=201,
            errors=(403, 418),
            response_headers=(
                ResponseHeader(
                    "Idempotency-Replayed", "Whether the response is a replay."
                ),
            ),
        ),
        Operation(
            method="GET",
            path="/v2/products/{number:int}/reviews",
            endpoint=endpoint,
            summary="List reviews of a product",
            tag="products",
            operation_id="list_reviews",
        ),
    ]
