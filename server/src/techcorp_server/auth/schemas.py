from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from ..core.text import reject_control_characters

MAX_CLIENT_NAME_LENGTH = 200

ClientName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=MAX_CLIENT_NAME_LENGTH),
    AfterValidator(reject_control_characters),
]


class ClientCredentialsRequest(BaseModel):
    """The token request of the published document: a client id and secret."""

    model_config = ConfigDict(extra="forbid")

    client_id: str = Field(min_length=1, max_length=128)
    client_secret: str = Field(min_length=1, max_length=512)
    grant_type: Literal["client_credentials"] | None = None


class PasswordLoginRequest(BaseModel):
    """A user's token request with email and password."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=1024)
    grant_type: Literal["password"] | None = None


class TokenRequest(BaseModel):
    """Either credentials form; the OpenAPI document shows both."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"client_id": "your_id", "client_secret": "your_secret"}]
        }
    )

    client_id: str | None = None
    client_secret: str | None = None
    email: str | None = None
    password: str | None = None
    grant_type: Literal["client_credentials", "password"] | None = None


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int = Field(description="Seconds until the token expires.")


class ClientCreate(BaseModel):
    """A new API client; members may create clients only for themselves."""

    model_config = ConfigDict(extra="forbid")

    name: ClientName = ""
    user_id: str | None = Field(
        default=None,
        max_length=40,
        description="The user the client acts as; defaults to the caller.",
    )


class ClientPublic(BaseModel):
    id: str
    name: str
    user_id: str
    secret_hint: str = Field(description="The first characters of the secret.")
    created_at: str


class ClientCreated(ClientPublic):
    client_secret: str = Field(description="Shown once; store it now.")
