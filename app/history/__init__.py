"""Billing history: every payment and refund of a user, kept locally from Stripe's events so
the page never calls Stripe; the receipt of each invoice, and its e-mail."""

from flask import Blueprint

bp = Blueprint("history", __name__)
