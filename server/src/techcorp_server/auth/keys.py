"""Server secrets kept with the data: token signing keys and the secret-hash key.

When `TECHCORP_JWT_SECRET` is unset the server generates a signing key on its
first start and stores it in the `server_keys` table, so tokens survive a
restart and every process sharing the database signs with the same key. Keys
carry a `kid`, so a later key can be added while tokens of the old one are
still valid.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ..core.db import Database
from .models import ServerKey

JWT_PURPOSE = "jwt"
CLIENT_SECRET_PURPOSE = "client_secret"  # noqa: S105 - a label
GENERATED_KEY_BYTES = 32


class KeyRing:
    """The signing keys by `kid`, and the one new tokens are signed with."""

    def __init__(self, keys: dict[str, bytes], active_kid: str) -> None:
        if active_kid not in keys:
            raise ValueError(f"active key {active_kid!r} is not in the key ring")
        self._keys = keys
        self.active_kid = active_kid

    @property
    def active_key(self) -> bytes:
        return self._keys[self.active_kid]

    def get(self, kid: str) -> bytes | None:
        return self._keys.get(kid)


def kid_for_secret(secret: str) -> str:
    # A digest prefix names a configured key without revealing it, and stays
    # the same across restarts and processes.
    return "cfg-" + hashlib.sha256(secret.encode()).hexdigest()[:16]


def configured_key_ring(secret: str) -> KeyRing:
    kid = kid_for_secret(secret)
    return KeyRing({kid: secret.encode()}, kid)


async def stored_key_ring(database: Database) -> KeyRing:
    """Load the stored signing keys, generating the first one if needed."""
    rows = await _load_or_create(database, JWT_PURPOSE)
    keys = {row.kid: row.secret.encode() for row in rows}
    # The newest key signs; older ones still verify the tokens they signed.
    return KeyRing(keys, rows[-1].kid)


async def client_secret_key(database: Database) -> bytes:
    """Return the key of the client secret hash, generating it if needed."""
    rows = await _load_or_create(database, CLIENT_SECRET_PURPOSE)
    # The first key is the one every stored hash was made with.
    return rows[0].secret.encode()


async def _load_or_create(database: Database, purpose: str) -> list[ServerKey]:
    async with database.read() as session:
        rows = await _keys_for(session, purpose)
    if rows:
        return rows

    # The first key of a purpose has a fixed kid, so processes starting
    # together on an empty database cannot each create a different one: the
    # second insert fails on the primary key and that process reads the first.
    try:
        async with database.transaction() as session:
            session.add(_generate(purpose, kid=f"{purpose}-1"))
    except IntegrityError:
        pass
    async with database.read() as session:
        return await _keys_for(session, purpose)


async def _keys_for(session: AsyncSession, purpose: str) -> list[ServerKey]:
    statement = (
        select(ServerKey)
        .where(ServerKey.purpose == purpose)
        .order_by(ServerKey.created_at, ServerKey.kid)
    )
    return list((await session.scalars(statement)).all())


def _generate(purpose: str, kid: str) -> ServerKey:
    return ServerKey(
        kid=kid,
        purpose=purpose,
        secret=secrets.token_urlsafe(GENERATED_KEY_BYTES),
    )
