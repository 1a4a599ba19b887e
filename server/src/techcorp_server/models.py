"""Every table of the server, collected so migrations see one metadata."""

from .auth.models import ApiClient, ServerKey
from .core.db import Base
from .core.feed_models import FeedEntry
from .products.models import Product
from .users.models import User

metadata = Base.metadata

__all__ = ["ApiClient", "FeedEntry", "Product", "ServerKey", "User", "metadata"]
