"""Password hashing with argon2id, run in worker threads.

A hash takes tens of milliseconds of CPU by design, so it never runs on the
event loop, where it would stall every other request.
"""

from __future__ import annotations

import anyio.to_thread
from argon2 import PasswordHasher as Argon2Hasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
"""Longer passwords are rejected so a request cannot buy minutes of hashing."""


class PasswordHasher:
    def __init__(self) -> None:
        # argon2-cffi's defaults follow RFC 9106's second recommended option
        # (argon2id, t=3, m=64 MiB, p=4).
        self._hasher = Argon2Hasher()
        self._dummy_hash = self._hasher.hash("not-a-real-password")

    async def hash(self, password: str) -> str:
        return await anyio.to_thread.run_sync(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Check a password; with no hash, spend the same time and fail.

        Comparing against a dummy hash when the user does not exist keeps the
        response time from telling which emails are registered.
        """
        target = password_hash if password_hash is not None else self._dummy_hash
        try:
            await anyio.to_thread.run_sync(self._hasher.verify, target, password)
        except (VerificationError, InvalidHashError):
            return False
        return password_hash is not None
