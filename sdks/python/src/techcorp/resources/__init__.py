"""The API's resources, each as a sync and an async class."""

from .auth import AsyncAuth, Auth
from .clients import AsyncClients, Clients
from .events import AsyncEvents, Events
from .payments import AsyncPayments, Payments
from .products import AsyncProducts, Products
from .search import AsyncSearch, Search
from .system import AsyncSystem, System
from .users import AsyncUsers, Users
from .webhooks import AsyncDeliveries, AsyncWebhooks, Deliveries, Webhooks

__all__ = [
    "AsyncAuth",
    "AsyncClients",
    "AsyncDeliveries",
    "AsyncEvents",
    "AsyncPayments",
    "AsyncProducts",
    "AsyncSearch",
    "AsyncSystem",
    "AsyncUsers",
    "AsyncWebhooks",
    "Auth",
    "Clients",
    "Deliveries",
    "Events",
    "Payments",
    "Products",
    "Search",
    "System",
    "Users",
    "Webhooks",
]
