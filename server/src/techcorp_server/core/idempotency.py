"""`Idempotency-Key`: a retried POST returns the first response instead of acting twice.

An operation declared with `idempotent=True` accepts the header. The first
request with a key runs and its response is stored for
`idempotency_key_seconds`; a later request with the same key and the same
method, path and body gets that response again, with `Idempotent-Replayed:
true`. The same key with a different request is a 409. Keys are scoped to
the calling user, so two users never see each other's responses.

Concurrent requests with one key run once: the first takes the key, and the
others wait for its response (up to `WAIT_SECONDS`, else 409). Only
responses below 400 are stored. After an error the key is released, so the
client can correct the request and send it again with the same key.

The endpoint runs inside one `Database.shared_transaction`, which every
write of the endpoint joins. Its response is stored for the key in the same
transaction before it commits, so no crash can leave the effect committed
and the key free for a retry to run it again.

A request without the header costs one header lookup.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson
from sqlalchemy import Integer, LargeBinary, String, Text, delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column
from starlette.requests import Request
from starlette.responses import Response

from .db import Base, Database, UTCDateTime, utc_now
from .errors import BadRequestError, ConflictError
from .handlers import log_background_failure

logger = logging.getLogger(__name__)

HEADER = "idempotency-key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
LOCK_SECONDS = 60.0
"""How long a started request holds its key. A process that dies holding
one leaves it for this long, then a retry may run the request again."""
WAIT_SECONDS = 10.0
"""How long a concurrent duplicate waits for the first request's response."""
POLL_SECONDS = 0.02
PURGE_INTERVAL_SECONDS = 3600.0
REPLAYED_HEADERS = ("content-type", "location")

Endpoint = Callable[[Request], Awaitable[Response]]


class IdempotencyKey(Base):
    """A key sent with a POST, and the response to replay for it."""

    __tablename__ = "idempotency_keys"

    # The calling user's id: keys of different users never collide.
    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH), primary_key=True)
    # SHA-256 of method, path and body, to tell a retry from a new request.
    fingerprint: Mapped[str] = mapped_column(String(64))
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    headers: Mapped[str | None] = mapped_column(Text, default=None)
    body: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status_code: int
    headers: dict[str, str]
    body: bytes

    def replay(self) -> Response:
        headers = {**self.headers, REPLAYED_HEADER: "true"}
        return Response(self.body, status_code=self.status_code, headers=headers)


class _InProgress(Exception):
    """Another request holds the key right now."""


class KeyAlreadyCompleted(Exception):
    """Another request with the key stored its response first.

    Raised inside the effect's transaction, so the effect rolls back, and
    the request returns the stored response instead.
    """


def _stored_fields(response: Response) -> dict[str, object]:
    headers = {
        name: response.headers[name]
        for name in REPLAYED_HEADERS
        if name in response.headers
    }
    return {
        "status_code": response.status_code,
        "headers": orjson.dumps(headers).decode(),
        "body": bytes(response.body),
        "locked_until": None,
    }


@dataclass(slots=True)
class IdempotencyClaim:
    """The key a running request holds, for storing its response in the
    request's write transaction."""

    scope: str
    key: str
    request_fingerprint: str
    key_seconds: float
    stored: bool = False

    async def store_in(self, session: AsyncSession, response: Response) -> None:
        """Store `response` for the key within `session`'s transaction.

        Raises `KeyAlreadyCompleted` when a request that took the key over
        after this one's lock expired has already stored its response.
        """
        row = await session.get(
            IdempotencyKey, (self.scope, self.key), with_for_update=True
        )
        if row is not None and row.status_code is not None:
            raise KeyAlreadyCompleted
        fields = _stored_fields(response)
        if row is None:
            # The key expired and was purged while the request ran.
            now = utc_now()
            row = IdempotencyKey(
                scope=self.scope,
                key=self.key,
                fingerprint=self.request_fingerprint,
                created_at=now,
                expires_at=now + timedelta(seconds=self.key_seconds),
            )
            session.add(row)
        for name, value in fields.items():
            setattr(row, name, value)
        self.stored = True


def fingerprint(request: Request, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.url.path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _check_key(key: str) -> None:
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isascii():
        raise BadRequestError(
            f"The Idempotency-Key header must be 1 to {MAX_KEY_LENGTH} ASCII "
            "characters, such as a UUID.",
            details=[{"field": "Idempotency-Key", "message": "Invalid key."}],
        )


def _mismatch() -> ConflictError:
    return ConflictError(
        "This Idempotency-Key was used with a different request. Use a new key "
        "for a new request."
    )


class IdempotencyStore:
    """The stored keys and responses, shared by every server process."""

    def __init__(self, database: Database, *, key_seconds: float) -> None:
        self.database = database
        self.key_seconds = key_seconds
        # Set when a request of this process that holds a key finishes, so
        # local duplicates wake at once instead of at the next poll.
        self._finished: dict[tuple[str, str], asyncio.Event] = {}
        self._purging: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Delete expired keys now and then every `PURGE_INTERVAL_SECONDS`."""
        self._purging = asyncio.create_task(self._purge_loop(), name="idempotency")

    async def stop(self) -> None:
        if self._purging is not None:
            self._purging.cancel()
            await asyncio.gather(self._purging, return_exceptions=True)
            self._purging = None

    async def _purge_loop(self) -> None:
        while True:
            try:
                purged = await self.purge_expired()
            except Exception as exc:
                log_background_failure(
                    logger, "deleting expired idempotency keys failed", exc
                )
            else:
                if purged:
                    logger.info(
                        "expired idempotency keys deleted", extra={"count": purged}
                    )
            await asyncio.sleep(PURGE_INTERVAL_SECONDS)

    async def begin(
        self, scope: str, key: str, request_fingerprint: str
    ) -> StoredResponse | None:
        """Take the key, or return the response stored for it.

        Waits while another request holds the key. Raises `ConflictError`
        when the key belongs to a different request, or is still held after
        `WAIT_SECONDS`.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_SECONDS
        while True:
            try:
                stored = await self._take(scope, key, request_fingerprint)
            except (_InProgress, IntegrityError):
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise ConflictError(
                        "A request with this Idempotency-Key is still in "
                        "progress. Retry in a few seconds."
                    ) from None
                await self._wait_for_holder(scope, key, remaining)
                continue
            if stored is None:
                self._finished[(scope, key)] = asyncio.Event()
            return stored

    async def _wait_for_holder(self, scope: str, key: str, remaining: float) -> None:
        finished = self._finished.get((scope, key))
        if finished is None:
            # The holder is another process: poll the database.
            await asyncio.sleep(min(POLL_SECONDS, remaining))
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(remaining):
                await finished.wait()

    def finish(self, scope: str, key: str) -> None:
        """Wake this process's requests waiting for the key."""
        finished = self._finished.pop((scope, key), None)
        if finished is not None:
            finished.set()

    async def _take(
        self, scope: str, key: str, request_fingerprint: str
    ) -> StoredResponse | None:
        now = utc_now()
        async with self.database.transaction() as session:
            row = await session.get(IdempotencyKey, (scope, key), with_for_update=True)
            if row is not None and row.expires_at <= now:
                await session.delete(row)
                await session.flush()
                row = None
            if row is None:
                session.add(
                    IdempotencyKey(
                        scope=scope,
                        key=key,
                        fingerprint=request_fingerprint,
                        locked_until=now + timedelta(seconds=LOCK_SECONDS),
                        created_at=now,
                        expires_at=now + timedelta(seconds=self.key_seconds),
                    )
                )
                return None
            if row.fingerprint != request_fingerprint:
                raise _mismatch()
            if row.status_code is not None and row.body is not None:
                headers = orjson.loads(row.headers or "{}")
                return StoredResponse(row.status_code, headers, row.body)
            if row.locked_until is not None and row.locked_until > now:
                raise _InProgress
            row.locked_until = now + timedelta(seconds=LOCK_SECONDS)
            return None

    async def complete(self, claim: IdempotencyClaim, response: Response) -> None:
        if not claim.stored:
            async with self.database.transaction() as session:
                row = await session.get(IdempotencyKey, (claim.scope, claim.key))
                if row is not None and row.status_code is None:
                    for name, value in _stored_fields(response).items():
                        setattr(row, name, value)
        self.finish(claim.scope, claim.key)

    async def release(self, scope: str, key: str) -> None:
        """Free the key for a new attempt, unless a response is stored for it."""
        async with self.database.transaction() as session:
            await session.execute(
                delete(IdempotencyKey).where(
                    IdempotencyKey.scope == scope,
                    IdempotencyKey.key == key,
                    IdempotencyKey.status_code.is_(None),
                )
            )
        self.finish(scope, key)

    async def purge_expired(self) -> int:
        """Delete expired keys; return how many there were."""
        async with self.database.transaction() as session:
            result = await session.execute(
                delete(IdempotencyKey).where(IdempotencyKey.expires_at <= utc_now())
            )
        count: int = getattr(result, "rowcount", 0) or 0
        return count


def idempotent(endpoint: Endpoint) -> Endpoint:
    """Wrap an authenticated POST endpoint so it honours `Idempotency-Key`."""

    async def with_idempotency_key(request: Request) -> Response:
        key = request.headers.get(HEADER)
        if key is None:
            return await endpoint(request)
        _check_key(key)

        store: IdempotencyStore = request.app.state.idempotency
        scope: str = request.scope["state"]["principal"].user_id
        body = await request.body()
        request_fingerprint = fingerprint(request, body)
        stored = await store.begin(scope, key, request_fingerprint)
        if stored is not None:
            return stored.replay()

        claim = IdempotencyClaim(scope, key, request_fingerprint, store.key_seconds)
        try:
            response = await _run_storing_response(endpoint, request, store, claim)
        except KeyAlreadyCompleted:
            store.finish(scope, key)
            return await _replay_stored(store, claim)
        except BaseException:
            await asyncio.shield(store.release(scope, key))
            raise
        if response.status_code < 400:
            await store.complete(claim, response)
        else:
            await store.release(scope, key)
        return response

    return with_idempotency_key


async def _run_storing_response(
    endpoint: Endpoint,
    request: Request,
    store: IdempotencyStore,
    claim: IdempotencyClaim,
) -> Response:
    """Run the endpoint, storing its response in the transaction of its writes.

    An endpoint that wrote nothing has its response stored by `complete`.
    """
    async with store.database.shared_transaction() as shared:
        response = await endpoint(request)
        if response.status_code < 400 and shared.session is not None:
            await claim.store_in(shared.session, response)
    return response


async def _replay_stored(store: IdempotencyStore, claim: IdempotencyClaim) -> Response:
    stored = await store.begin(claim.scope, claim.key, claim.request_fingerprint)
    if stored is None:
        # The stored response expired in between, so this request now
        # holds a fresh key that nothing will complete.
        await store.release(claim.scope, claim.key)
        raise ConflictError(
            "A request with this Idempotency-Key completed while this one ran. "
            "Retry to get its response."
        )
    return stored.replay()
