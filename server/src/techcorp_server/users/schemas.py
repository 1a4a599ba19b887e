"""Request and response bodies of the users endpoints."""

from __future__ import annotations

from typing import Annotated, Any

from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError

from ..auth.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from ..auth.principal import Role
from ..core.schemas import optional_field
from ..core.text import reject_control_characters

MAX_EMAIL_LENGTH = 254
"""Maximum length of an email address, as email-validator derives it from RFC 5321."""


def _normalize_email(value: str) -> str:
    # The domain is case-insensitive and is lower-cased here, but the local
    # part is kept as written. Uniqueness ignores case separately.
    try:
        address = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise PydanticCustomError(
            "invalid_email", "Not a valid email address: {reason}", {"reason": exc}
        ) from exc
    return address.normalized


Email = Annotated[
    str,
    Field(max_length=MAX_EMAIL_LENGTH),
    AfterValidator(_normalize_email),
    WithJsonSchema(
        {"type": "string", "format": "email", "maxLength": MAX_EMAIL_LENGTH}
    ),
]
# Spaces are allowed because NIST SP 800-63B (revision 3, section 5.1.1.2)
# recommends accepting every printing character and the space. A control
# character such as NUL cannot be typed into a password field, so one in a
# request is a client bug.
Password = Annotated[
    str,
    Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH),
    AfterValidator(reject_control_characters),
]


class UserCreate(BaseModel):
    """The body of `POST /v2/users`."""

    model_config = ConfigDict(extra="forbid")

    email: Email
    password: Password
    role: Role


class UserUpdate(BaseModel):
    """The body of `PUT` and `PATCH /v2/users/{id}`: the fields to change."""

    model_config = ConfigDict(extra="forbid")

    email: Email | None = optional_field(Email)
    role: Role | None = optional_field(Role)

    @field_validator("email", "role", mode="before")
    @classmethod
    def _reject_null(cls, value: Any) -> Any:
        if value is None:
            raise PydanticCustomError(
                "null_value", "Must not be null. Leave the field out to keep its value."
            )
        return value


class UserPublic(BaseModel):
    """A user as the API returns it, without the password or its hash."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(examples=["usr_01J9Z6V3Q8G2N5X7W4K1M0P3RT"])
    email: str = Field(examples=["user@example.com"])
    role: Role
    created_at: str = Field(description="ISO 8601 UTC timestamp.")
    updated_at: str = Field(description="ISO 8601 UTC timestamp.")
