"""Every table of the server, collected so migrations see one metadata."""

from .auth.models import ApiClient, ServerKey
from .core.db import Base
from .core.feed_models import FeedEntry
from .core.idempotency import IdempotencyKey
from .events.models import Event
from .payments.models import Payment
from .products.models import Product
from .users.models import User
from .webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

metadata = Base.metadata

__all__ = [
    "ApiClient",
    "Event",
    "FeedEntry",
    "IdempotencyKey",
    "Payment",
    "Product",
    "ServerKey",
    "User",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "metadata",
]
