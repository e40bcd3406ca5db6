"""What every feature shares about paying: the gateway (every Stripe call), the Stripe
customer (BillingInfo), its billing details and its cards (PaymentMethod).

Its blueprint holds the actions of `/settings/billing`; the page itself is the settings
feature's, which composes them."""

from flask import Blueprint

bp = Blueprint("billing", __name__)

from app.billing import card_routes, details_routes  # noqa: E402,F401
