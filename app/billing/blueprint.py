"""The billing blueprint: the actions of /settings/billing (card_routes, details_routes)."""

from flask import Blueprint

bp = Blueprint("billing", __name__)
