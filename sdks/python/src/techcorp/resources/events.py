"""`client.events`: the WebSocket event stream, with the client's own token."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Final

from .._errors import APIConnectionError, InternalServerError, RateLimitError
from ..stream import TRANSIENT_ERRORS, AsyncEventStream, EventStream, ReconnectPolicy

if TYPE_CHECKING:
    from .._client import AsyncTechCorp, TechCorp

# A token request that failed for one of these may succeed on a later
# attempt, so the stream keeps reconnecting instead of ending.
STREAM_RETRYABLE_ERRORS: Final[tuple[type[Exception], ...]] = (
    *TRANSIENT_ERRORS,
    APIConnectionError,
    InternalServerError,
    RateLimitError,
)


class Events:
    def __init__(self, client: TechCorp) -> None:
        self._client = client

    def stream(
        self,
        *,
        events: Collection[str] | None = None,
        product_ids: Collection[str] | None = None,
        category: str | None = None,
        last_event_id: str | None = None,
        reconnect: ReconnectPolicy | None = None,
    ) -> EventStream:
        """Open the event stream as a blocking iterator of typed messages.

        The arguments are those of `techcorp.stream.EventStream`. The
        connection opens on the first iteration, with a token from this
        client, which it refreshes when the server reports it expired.
        """
        return EventStream(
            self._client.base_url,
            self._client.tokens,
            events=events,
            product_ids=product_ids,
            category=category,
            last_event_id=last_event_id,
            reconnect=reconnect,
            transient_errors=STREAM_RETRYABLE_ERRORS,
        )


class AsyncEvents:
    def __init__(self, client: AsyncTechCorp) -> None:
        self._client = client

    def stream(
        self,
        *,
        events: Collection[str] | None = None,
        product_ids: Collection[str] | None = None,
        category: str | None = None,
        last_event_id: str | None = None,
        reconnect: ReconnectPolicy | None = None,
    ) -> AsyncEventStream:
        """Open the event stream as an async iterator of typed messages.

        The arguments are those of `techcorp.stream.AsyncEventStream`.
        """
        return AsyncEventStream(
            self._client.base_url,
            self._client.tokens,
            events=events,
            product_ids=product_ids,
            category=category,
            last_event_id=last_event_id,
            reconnect=reconnect,
            transient_errors=STREAM_RETRYABLE_ERRORS,
        )
