"""Every module that registers Stripe event handlers, imported once at start-up.

Each feature keeps its handlers beside its service functions; adding a feature's handlers
means adding its module here, never touching the webhook endpoint.
"""

from app.billing import expiring as _expiring_cards  # noqa: F401
from app.billing import handlers as _billing  # noqa: F401
from app.history import handlers as _history  # noqa: F401
from app.subscriptions import handlers as _subscriptions  # noqa: F401
from app.upgrades import handlers as _upgrades  # noqa: F401
