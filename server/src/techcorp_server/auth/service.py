"""Authentication: issuing tokens, checking callers, and managing API clients."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from sqlalchemy import func, select
from starlette.requests import Request

from ..core.changes import Change, ChangeListener
from ..core.db import Database
from ..core.errors import (
    BadRequestError,
    ForbiddenError,
    NotFoundError,
    UnauthorizedError,
)
from ..core.http import header_value
from ..core.ids import new_id
from ..core.pagination import PageRequest
from ..core.text import has_control_character, shorten
from ..settings import Settings
from ..users.models import User
from .client_secrets import SecretHasher, generate_secret, secret_hint
from .keys import client_secret_key, configured_key_ring, stored_key_ring
from .models import ApiClient
from .passwords import PasswordHasher
from .principal import ROLES, Principal, Role
from .tokens import Claims, InvalidTokenError, TokenService

logger = logging.getLogger(__name__)

CachedT = TypeVar("CachedT")

REALM = "techcorp"
BEARER_CHALLENGE = f'Bearer realm="{REALM}"'
INVALID_TOKEN_CHALLENGE = f'Bearer realm="{REALM}", error="invalid_token"'
BASIC_CHALLENGE = f'Basic realm="{REALM}"'
BOOTSTRAP_ADMIN_EMAIL = "bootstrap-admin@example.com"
CALLER_CACHE_ENTRIES = 50_000


@dataclass(frozen=True, slots=True)
class _ClientRecord:
    user_id: str
    secret_hash: str


@dataclass(frozen=True, slots=True)
class _RememberedCaller:
    principal: Principal
    generation: int
    valid_until: float
    """`time.monotonic()` after which the caller is looked up again."""


def _bearer_token(header: str | None) -> str:
    if not header:
        raise UnauthorizedError(
            "Missing access token; send 'Authorization: Bearer <token>'.",
            headers={"WWW-Authenticate": BEARER_CHALLENGE},
        )
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        # RFC 6750 section 3.1: no error code when no bearer token came.
        raise UnauthorizedError(
            "The Authorization header must be 'Bearer <token>'.",
            headers={"WWW-Authenticate": BEARER_CHALLENGE},
        )
    return token


def _fresh_entry(
    cache: dict[str, tuple[float, Any]], key: str
) -> tuple[float, Any] | None:
    """Return the cached `(valid_until, value)` of `key` unless it has expired."""
    entry = cache.get(key)
    if entry is not None and entry[0] > time.monotonic():
        return entry
    return None


def invalid_client(*, basic: bool) -> UnauthorizedError:
    # One message for an unknown client and a wrong secret, so a caller
    # cannot learn which client ids exist.
    message = "Client authentication failed: unknown client or wrong secret."
    headers = {"WWW-Authenticate": BASIC_CHALLENGE if basic else BEARER_CHALLENGE}
    return UnauthorizedError(
        message,
        code="invalid_client",
        headers=headers,
        extra={"error_description": message},
    )


def invalid_grant() -> UnauthorizedError:
    message = "Login failed: unknown email or wrong password."
    return UnauthorizedError(
        message,
        code="invalid_grant",
        headers={"WWW-Authenticate": BEARER_CHALLENGE},
        extra={"error_description": message},
    )


class AuthService(ChangeListener):
    """Tokens, the caller of each request, and the API clients of users.

    The role of each user and the owner of each client are cached in memory
    and dropped by `invalidate_user` and `invalidate_client` when they change,
    so a role change or a deletion applies from the next request on.
    """

    def __init__(self, settings: Settings, database: Database) -> None:
        self._settings = settings
        self._database = database
        self.passwords = PasswordHasher()
        self._tokens: TokenService | None = None
        self._secrets: SecretHasher | None = None
        # Changes made through this process invalidate these caches at once.
        # Changes made elsewhere (the CLI, another server process) are seen
        # when an entry expires, after `auth_cache_seconds` at most.
        self._cache_seconds = settings.auth_cache_seconds
        self._roles: dict[str, tuple[float, Any]] = {}
        self._clients: dict[str, tuple[float, Any]] = {}
        self._callers: dict[str, _RememberedCaller] = {}
        self._lookups: dict[tuple[str, int], asyncio.Task[Principal]] = {}
        # Bumped on every invalidation. A lookup that began before a change
        # committed must not cache what it read, or the old role would stay.
        self._generation = 0

    async def start(self) -> None:
        """Load the signing keys and create the bootstrap client if asked."""
        configured = self._settings.jwt_secret
        if configured is not None:
            key_ring = configured_key_ring(configured.get_secret_value())
        else:
            key_ring = await stored_key_ring(self._database)
        self._tokens = TokenService(key_ring, self._settings.token_ttl_seconds)
        self._secrets = SecretHasher(await client_secret_key(self._database))
        await self._ensure_bootstrap_client()

    @property
    def tokens(self) -> TokenService:
        if self._tokens is None:
            raise RuntimeError("AuthService.start() has not run")
        return self._tokens

    @property
    def secrets(self) -> SecretHasher:
        if self._secrets is None:
            raise RuntimeError("AuthService.start() has not run")
        return self._secrets

    # Issuing tokens

    def _grant(self, principal: Principal) -> dict[str, Any]:
        token = self.tokens.issue(
            subject=principal.user_id,
            role=principal.role,
            client_id=principal.client_id,
        )
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": self.tokens.ttl_seconds,
        }

    async def token_for_client(
        self, client_id: str, client_secret: str, *, basic: bool = False
    ) -> dict[str, Any]:
        record = await self._client_record(client_id)
        stored_hash = record.secret_hash if record else None
        if not self.secrets.verify(stored_hash, client_secret) or record is None:
            raise invalid_client(basic=basic)
        role = await self._role_of(record.user_id)
        if role is None:
            raise invalid_client(basic=basic)
        principal = Principal(user_id=record.user_id, role=role, client_id=client_id)
        return self._grant(principal)

    async def token_for_user(self, email: str, password: str) -> dict[str, Any]:
        statement = select(User.id, User.role, User.password_hash).where(
            User.email_key == email.strip().lower()
        )
        user = await self._database.run_read(
            lambda connection: connection.execute(statement).first()
        )
        password_hash = user.password_hash if user else None
        if not await self.passwords.verify(password_hash, password) or user is None:
            raise invalid_grant()
        return self._grant(Principal(user_id=user.id, role=cast(Role, user.role)))

    # Authenticating requests

    async def authenticate_request(self, request: Request) -> Principal:
        """Return the caller of a request, or raise 401 with a challenge.

        The caller of a token is remembered for `auth_cache_seconds` (never
        past the token's expiry), and forgotten at once when this process
        changes a user or a client. Requests with the same token that arrive
        while its caller is being looked up share that lookup, so an expiring
        entry does not send every waiting request to the database at once.
        """
        token = _bearer_token(header_value(request.scope, b"authorization"))
        return await self.authenticate_token(token)

    async def authenticate_token(self, token: str) -> Principal:
        """Return the caller of a bearer token, or raise 401 with a challenge."""
        remembered = self._callers.get(token)
        if (
            remembered is not None
            and remembered.generation == self._generation
            and remembered.valid_until > time.monotonic()
        ):
            return remembered.principal

        key = (token, self._generation)
        lookup = self._lookups.get(key)
        if lookup is None:
            lookup = asyncio.create_task(self._look_up_caller(token))
            self._lookups[key] = lookup
            lookup.add_done_callback(lambda done: self._finish_lookup(key, done))
        # A caller that goes away must not cancel the lookup others await.
        return await asyncio.shield(lookup)

    async def _look_up_caller(self, token: str) -> Principal:
        generation = self._generation
        principal = await self._verified_principal(token)
        seconds_left = min(self._cache_seconds, self.tokens.seconds_left(token))
        if generation == self._generation:
            if len(self._callers) >= CALLER_CACHE_ENTRIES:
                self._callers.clear()
            self._callers[token] = _RememberedCaller(
                principal, generation, time.monotonic() + seconds_left
            )
        return principal

    def _finish_lookup(
        self, key: tuple[str, int], lookup: asyncio.Task[Principal]
    ) -> None:
        del self._lookups[key]
        if not lookup.cancelled():
            # Mark a rejected token's error as retrieved when no request
            # awaited it, so asyncio does not log it as never retrieved.
            lookup.exception()

    async def _verified_principal(self, token: str) -> Principal:
        try:
            claims = self.tokens.verify(token)
        except InvalidTokenError as exc:
            raise UnauthorizedError(
                "The access token is invalid or expired; get a new one from "
                "POST /v2/auth/token.",
                headers={"WWW-Authenticate": INVALID_TOKEN_CHALLENGE},
            ) from exc

        principal = await self._current_principal(claims)
        if principal is None:
            raise UnauthorizedError(
                "The access token's user or client no longer exists.",
                headers={"WWW-Authenticate": INVALID_TOKEN_CHALLENGE},
            )
        return principal

    async def _current_principal(self, claims: Claims) -> Principal | None:
        role = await self._role_of(claims.subject)
        if role is None:
            return None
        if claims.client_id is not None:
            record = await self._client_record(claims.client_id)
            if record is None or record.user_id != claims.subject:
                return None
        return Principal(user_id=claims.subject, role=role, client_id=claims.client_id)

    async def _role_of(self, user_id: str) -> Role | None:
        # Checked before anything is built: most calls end here.
        cached = _fresh_entry(self._roles, user_id)
        if cached is not None:
            role: Role | None = cached[1]
            return role

        async def read_role() -> Role | None:
            statement = select(User.role).where(User.id == user_id)
            role = await self._database.run_read(
                lambda connection: connection.scalar(statement)
            )
            return role if role in ROLES else None

        # A missing user is remembered too, so a deleted user's tokens do not
        # reach the database on every request.
        return await self._read_and_remember(
            self._roles, user_id, read_role, keep_none=True
        )

    async def _client_record(self, client_id: str) -> _ClientRecord | None:
        cached = _fresh_entry(self._clients, client_id)
        if cached is not None:
            record: _ClientRecord | None = cached[1]
            return record

        async def read_client() -> _ClientRecord | None:
            statement = select(ApiClient.user_id, ApiClient.secret_hash).where(
                ApiClient.id == client_id
            )
            row = await self._database.run_read(
                lambda connection: connection.execute(statement).first()
            )
            if row is None:
                return None
            return _ClientRecord(user_id=row.user_id, secret_hash=row.secret_hash)

        return await self._read_and_remember(self._clients, client_id, read_client)

    async def _read_and_remember(
        self,
        cache: dict[str, tuple[float, Any]],
        key: str,
        read: Callable[[], Awaitable[CachedT | None]],
        *,
        keep_none: bool = False,
    ) -> CachedT | None:
        """Read a value that is missing or expired in `cache`, and remember it.

        A read that began before an invalidation is not remembered, or the
        old value would outlive the change.
        """
        generation = self._generation
        value = await read()
        if generation == self._generation and (value is not None or keep_none):
            self._remember(cache, key, value)
        return value

    def _remember(
        self, cache: dict[str, tuple[float, Any]], key: str, value: Any
    ) -> None:
        if len(cache) >= CALLER_CACHE_ENTRIES:
            cache.clear()
        cache[key] = (time.monotonic() + self._cache_seconds, value)

    def committed(self, changes: Sequence[Change]) -> None:
        # The user service invalidates its own writes. This covers the
        # writes of other processes, so a demoted or deleted user loses
        # access everywhere within one poll of the change feed.
        for change in changes:
            if change.type in ("user.updated", "user.deleted"):
                self.invalidate_user(change.data["id"])

    def invalidate_user(self, user_id: str) -> None:
        """Forget what is cached about a user whose role changed or who left."""
        self._generation += 1
        self._roles.pop(user_id, None)
        for client_id, (_, record) in list(self._clients.items()):
            if record.user_id == user_id:
                del self._clients[client_id]

    def invalidate_client(self, client_id: str) -> None:
        self._generation += 1
        self._clients.pop(client_id, None)

    # API clients

    async def create_client(
        self,
        *,
        user_id: str,
        name: str = "",
        client_id: str | None = None,
        secret: str | None = None,
    ) -> tuple[ApiClient, str]:
        """Create a client for a user; return it with its secret, shown once."""
        name = name.strip()
        if has_control_character(name):
            raise BadRequestError(
                "The client name must not contain control characters.",
                details=[{"field": "name", "message": "Control character."}],
            )
        secret = secret or generate_secret()
        client = ApiClient(
            id=client_id or new_id("cli"),
            user_id=user_id,
            name=name,
            secret_hash=self.secrets.hash(secret),
            secret_hint=secret_hint(secret),
        )
        async with self._database.transaction() as session:
            if await session.get(User, user_id) is None:
                raise BadRequestError(
                    f"No user has the id {shorten(user_id)!r}.",
                    details=[{"field": "user_id", "message": "Unknown user."}],
                )
            session.add(client)
        logger.info(
            "client created", extra={"client_id": client.id, "user_id": user_id}
        )
        return client, secret

    async def list_clients(
        self, principal: Principal, page: PageRequest
    ) -> tuple[list[ApiClient], int]:
        statement = select(ApiClient)
        count = select(func.count()).select_from(ApiClient)
        if not principal.is_admin:
            statement = statement.where(ApiClient.user_id == principal.user_id)
            count = count.where(ApiClient.user_id == principal.user_id)
        statement = (
            statement.order_by(ApiClient.created_at.desc(), ApiClient.id.desc())
            .offset(page.offset)
            .limit(page.limit)
        )
        async with self._database.read() as session:
            clients = list((await session.scalars(statement)).all())
            total = await session.scalar(count) or 0
        return clients, total

    async def delete_client(self, principal: Principal, client_id: str) -> None:
        async with self._database.transaction() as session:
            client = await session.get(ApiClient, client_id)
            if client is None:
                raise NotFoundError(f"No API client has the id {shorten(client_id)!r}.")
            if not principal.is_admin and client.user_id != principal.user_id:
                raise ForbiddenError("Members can delete only their own API clients.")
            await session.delete(client)
        self.invalidate_client(client_id)
        logger.info("client deleted", extra={"client_id": client_id})

    # Bootstrap

    async def _ensure_bootstrap_client(self) -> None:
        client_id = self._settings.bootstrap_client_id
        configured = self._settings.bootstrap_client_secret
        if not client_id or configured is None:
            return
        secret = configured.get_secret_value()
        record = await self._client_record(client_id)
        if record is not None:
            if not self.secrets.verify(record.secret_hash, secret):
                logger.warning(
                    "bootstrap client exists with another secret; kept unchanged",
                    extra={"client_id": client_id},
                )
            return

        user_id = await self._bootstrap_admin()
        await self.create_client(
            user_id=user_id, name="bootstrap", client_id=client_id, secret=secret
        )
        logger.info("bootstrap client created", extra={"client_id": client_id})

    async def _bootstrap_admin(self) -> str:
        async with self._database.read() as session:
            existing = await session.scalar(
                select(User).where(User.email_key == BOOTSTRAP_ADMIN_EMAIL)
            )
        if existing is not None:
            return existing.id

        # The password is random and never shown, because the admin acts
        # through its client.
        password_hash = await self.passwords.hash(secrets.token_urlsafe(32))
        user = User(
            id=new_id("usr"),
            email=BOOTSTRAP_ADMIN_EMAIL,
            email_key=BOOTSTRAP_ADMIN_EMAIL,
            password_hash=password_hash,
            role="admin",
        )
        async with self._database.transaction() as session:
            session.add(user)
        return user.id
