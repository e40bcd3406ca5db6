"""The billing blueprint with its routes, for create_app."""

from app.billing import card_routes, details_routes  # noqa: F401  (they register on bp)
from app.billing.blueprint import bp

__all__ = ["bp"]
