"""The caller of a request, as established by its bearer token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from starlette.requests import Request

from ..core.errors import ForbiddenError

Role = Literal["admin", "member"]
ROLES: tuple[Role, ...] = ("admin", "member")


@dataclass(frozen=True, slots=True)
class Principal:
    """A user acting directly (password token) or through one of its clients."""

    user_id: str
    role: Role
    client_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def principal_of(request: Request) -> Principal:
    """Return the caller of an operation declared with `auth=True`."""
    principal: Principal = request.state.principal
    return principal


def require_admin(principal: Principal, action: str) -> None:
    """Raise 403 unless the caller is an admin; `action` completes the message."""
    if not principal.is_admin:
        raise ForbiddenError(f"Only an admin can {action}.")
