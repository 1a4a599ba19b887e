"""The `/v2/users` endpoints."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ..auth.principal import principal_of, require_admin
from ..core.http import json_response, read_model
from ..core.pagination import PAGE_QUERY, envelope, page_request, request_link_header
from ..core.routing import OperationRouter
from .schemas import UserCreate, UserPublic, UserUpdate
from .service import UserService

router = OperationRouter("/v2/users", "Users")

UPDATE_DESCRIPTION = (
    "Changes `email`, `role` or both, and a field left out keeps its value. "
    "A member can change only their own email, and only an admin can change "
    "a role. A member may send back their current role unchanged. The last "
    "admin cannot be demoted (409)."
)


def users_of(request: Request) -> UserService:
    users: UserService = request.app.state.users
    return users


@router.get(
    "",
    summary="List users",
    description="Users newest first, one page at a time.",
    response_model=UserPublic,
    paginated=True,
    query=PAGE_QUERY,
    errors=(400, 401),
)
async def list_users(request: Request) -> Response:
    page = page_request(request.query_params)
    users, total = await users_of(request).list_page(page)
    return json_response(
        envelope(users, page, total),
        headers={"Link": request_link_header(request, page, total)},
    )


@router.get(
    "/{user_id}",
    summary="Get a user",
    response_model=UserPublic,
    errors=(401, 404),
)
async def get_user(request: Request) -> Response:
    user = await users_of(request).get(request.path_params["user_id"])
    return json_response(user)


@router.post(
    "",
    summary="Create a user",
    description="Requires the admin role. Emails are unique regardless of case.",
    request_model=UserCreate,
    response_model=UserPublic,
    status_code=201,
    idempotent=True,
    errors=(400, 401, 403, 409, 415),
)
async def create_user(request: Request) -> Response:
    require_admin(principal_of(request), "create users")
    body = await read_model(request, UserCreate)

    user = await users_of(request).create(
        email=body.email, password=body.password, role=body.role
    )
    location = f"{router.prefix}/{user['id']}"
    return json_response(user, status_code=201, headers={"Location": location})


@router.put(
    "/{user_id}",
    summary="Update a user",
    description=UPDATE_DESCRIPTION,
    request_model=UserUpdate,
    response_model=UserPublic,
    errors=(400, 401, 403, 404, 409, 415),
)
@router.patch(
    "/{user_id}",
    operation_id="patch_user",
    summary="Update a user (PATCH)",
    description=UPDATE_DESCRIPTION,
    request_model=UserUpdate,
    response_model=UserPublic,
    errors=(400, 401, 403, 404, 409, 415),
)
async def update_user(request: Request) -> Response:
    changes = await read_model(request, UserUpdate)
    user = await users_of(request).update(
        principal_of(request), request.path_params["user_id"], changes
    )
    return json_response(user)


@router.delete(
    "/{user_id}",
    summary="Delete a user",
    description="Requires the admin role. The last admin cannot be deleted (409).",
    status_code=204,
    errors=(401, 403, 404, 409),
)
async def delete_user(request: Request) -> Response:
    await users_of(request).delete(
        principal_of(request), request.path_params["user_id"]
    )
    return Response(status_code=204)
