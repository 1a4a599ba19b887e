"""The Python client for the TechCorp API v2.

from techcorp import TechCorp

client = TechCorp(client_id="your_id", client_secret="your_secret")
for product in client.products.list(category="electronics"):
    print(product.name, product.price)
"""

from . import webhooks
from ._base import DEFAULT_TIMEOUT, NOT_GIVEN, NotGiven, RequestOptions
from ._client import AsyncTechCorp, TechCorp
from ._errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    TechCorpError,
)
from ._retries import DEFAULT_MAX_RETRIES, RetryPolicy
from ._version import __version__
from .pagination import AsyncPage, AsyncPageRequest, SyncPage
from .stream import (
    AsyncEventStream,
    EventStream,
    EventStreamError,
    ReconnectPolicy,
    StreamClosedError,
    StreamHandshakeError,
)
from .webhooks import WebhookVerificationError

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "NOT_GIVEN",
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncEventStream",
    "AsyncPage",
    "AsyncPageRequest",
    "AsyncTechCorp",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "EventStream",
    "EventStreamError",
    "InternalServerError",
    "NotFoundError",
    "NotGiven",
    "PermissionDeniedError",
    "RateLimitError",
    "ReconnectPolicy",
    "RequestOptions",
    "RetryPolicy",
    "StreamClosedError",
    "StreamHandshakeError",
    "SyncPage",
    "TechCorp",
    "TechCorpError",
    "WebhookVerificationError",
    "__version__",
    "webhooks",
]
