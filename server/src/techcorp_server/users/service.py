"""Users: listing, creation, changes and deletion, with the role rules.

Who may change what:

| change                      | admin | member         |
|-----------------------------|-------|----------------|
| create or delete a user     | yes   | no             |
| a user's email              | any   | only their own |
| a user's role               | yes   | no             |

A member may still send their current role back unchanged, so a client can
`PUT` the user it fetched after editing the email.

Whatever the caller, the last admin can be neither demoted nor deleted, so
the API always keeps someone who can manage it.
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ..auth.passwords import PasswordHasher
from ..auth.principal import Principal, require_admin
from ..core.changes import ChangeLog
from ..core.db import Database, isoformat, retry_on_conflict, utc_now
from ..core.errors import BadRequestError, ConflictError, ForbiddenError, NotFoundError
from ..core.http import validate
from ..core.ids import new_id
from ..core.pagination import PageRequest
from ..core.text import shorten
from .models import User
from .schemas import UserCreate, UserUpdate


class Authentication(Protocol):
    """The part of the auth service that user changes depend on."""

    @property
    def passwords(self) -> PasswordHasher: ...

    def invalidate_user(self, user_id: str) -> None:
        """Forget what is cached about a user's role or existence."""


def email_key(email: str) -> str:
    """Return the form of an email that uniqueness is checked on."""
    return email.lower()


def user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "role": user.role,
        "created_at": isoformat(user.created_at),
        "updated_at": isoformat(user.updated_at),
    }


class UserService:
    def __init__(
        self,
        database: Database,
        auth: Authentication,
        changes: ChangeLog | None = None,
    ) -> None:
        self.database = database
        self.auth = auth
        self.changes = changes or ChangeLog(database)

    async def list_page(self, page: PageRequest) -> tuple[list[dict[str, Any]], int]:
        """Return one page of users, newest first, and the total number of users."""
        query = select(User).order_by(User.id.desc())
        async with self.database.read() as session:
            total = await session.scalar(select(func.count()).select_from(User))
            users = await session.scalars(query.offset(page.offset).limit(page.limit))
            return [user_json(user) for user in users], total or 0

    async def get(self, user_id: str) -> dict[str, Any]:
        async with self.database.read() as session:
            user = await session.get(User, user_id)
        if user is None:
            raise _user_not_found(user_id)
        return user_json(user)

    async def create(self, *, email: str, password: str, role: str) -> dict[str, Any]:
        """Create a user, checking the fields exactly as `POST /v2/users` does.

        Raises `BadRequestError` for an invalid field and `ConflictError` when
        another user has the same email in any letter case. Callers outside a
        request, such as the CLI, get the same checks.
        """
        fields = validate(
            UserCreate, {"email": email, "password": password, "role": role}
        )

        # Hashing costs about 0.1 s of CPU, so a taken email fails before it.
        async with self.database.read() as session:
            await _ensure_email_free(session, fields.email)
        password_hash = await self.auth.passwords.hash(fields.password)

        now = utc_now()
        user = User(
            id=new_id("usr"),
            email=fields.email,
            email_key=email_key(fields.email),
            password_hash=password_hash,
            role=fields.role,
            created_at=now,
            updated_at=now,
        )
        async with self.changes.transaction() as transaction:
            transaction.session.add(user)
            await _flush_unique_email(transaction.session, fields.email)
            created = user_json(user)
            transaction.record("user.created", created)
        return created

    async def update(
        self, actor: Principal, user_id: str, changes: UserUpdate
    ) -> dict[str, Any]:
        """Change a user's email and/or role, as far as `actor` is allowed to."""
        if changes.email is None and changes.role is None:
            raise BadRequestError(
                "Nothing to change. Give 'email', 'role' or both.",
                details=[{"field": "body", "message": "No field to change."}],
            )
        _authorize_update(actor, user_id)
        return await retry_on_conflict(lambda: self._update(actor, user_id, changes))

    async def _update(
        self, actor: Principal, user_id: str, changes: UserUpdate
    ) -> dict[str, Any]:
        async with self.changes.transaction() as transaction:
            session = transaction.session
            user = await _get_for_update(session, user_id)
            before = user_json(user)
            new_role = changes.role if changes.role != user.role else None
            if new_role is not None and not actor.is_admin:
                raise ForbiddenError("Only an admin can change a user's role.")
            if new_role is not None and user.role == "admin":
                await _ensure_another_admin(session, user.id, "demoted")

            if changes.email is not None and changes.email != user.email:
                await _ensure_email_free(session, changes.email, owner_id=user.id)
                user.email = changes.email
                user.email_key = email_key(changes.email)
            if new_role is not None:
                user.role = new_role
            if session.is_modified(user):
                user.updated_at = utc_now()
                await _flush_unique_email(session, user.email)
                transaction.record("user.updated", user_json(user), before)

        if new_role is not None:
            self.auth.invalidate_user(user.id)
        return user_json(user)

    async def delete(self, actor: Principal, user_id: str) -> None:
        """Delete a user and, through the foreign key, its API clients."""
        require_admin(actor, "delete users")
        await retry_on_conflict(lambda: self._delete(user_id))

    async def _delete(self, user_id: str) -> None:
        async with self.changes.transaction() as transaction:
            session = transaction.session
            user = await _get_for_update(session, user_id)
            if user.role == "admin":
                await _ensure_another_admin(session, user.id, "deleted")
            deleted = user_json(user)
            await session.delete(user)
            transaction.record("user.deleted", deleted)

        self.auth.invalidate_user(user_id)


def _authorize_update(actor: Principal, user_id: str) -> None:
    # The role is checked once the user is read: a member may send back the
    # role they already have, as a client that edits what it fetched does.
    if not actor.is_admin and user_id != actor.user_id:
        raise ForbiddenError("A member can change only their own email.")


def _user_not_found(user_id: str) -> NotFoundError:
    return NotFoundError(f"No user has the id {shorten(user_id)!r}.")


def _email_taken(email: str) -> ConflictError:
    return ConflictError(
        f"A user with the email {email!r} already exists. Emails are unique "
        "regardless of letter case.",
        details=[{"field": "email", "message": "Already taken."}],
    )


async def _get_for_update(session: AsyncSession, user_id: str) -> User:
    # FOR UPDATE matters on PostgreSQL. On SQLite the write transaction
    # already holds the database lock (BEGIN IMMEDIATE).
    user = await session.scalar(
        select(User).where(User.id == user_id).with_for_update()
    )
    if user is None:
        raise _user_not_found(user_id)
    return user


async def _ensure_email_free(
    session: AsyncSession, email: str, owner_id: str | None = None
) -> None:
    query = select(User.id).where(User.email_key == email_key(email))
    if owner_id is not None:
        query = query.where(User.id != owner_id)
    if await session.scalar(query.limit(1)) is not None:
        raise _email_taken(email)


async def _flush_unique_email(session: AsyncSession, email: str) -> None:
    # The unique index on email_key settles a race between two writers that
    # both passed the check above.
    try:
        await session.flush()
    except IntegrityError as exc:
        raise _email_taken(email) from exc


async def _ensure_another_admin(
    session: AsyncSession, user_id: str, outcome: str
) -> None:
    """Raise `ConflictError` unless an admin other than `user_id` exists.

    Locking every admin row makes two transactions that each remove a
    different admin run one after the other on PostgreSQL, so the second one
    reads the first one's change and stops.
    """
    admins = await session.scalars(
        select(User.id).where(User.role == "admin").with_for_update()
    )
    if not any(admin_id != user_id for admin_id in admins):
        raise ConflictError(
            f"User {user_id!r} is the last admin and cannot be {outcome}. "
            "Make another user an admin first."
        )
