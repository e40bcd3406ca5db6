"""Every outgoing Stripe call goes through here.

One `stripe.StripeClient` per app (key and base address from config, the SDK's pinned API
version, network retries, timeouts). Every create carries an idempotency key derived from
a local record id, so a retried request can never create a second object at Stripe.
Stripe's exceptions become the domain errors in `app.billing.errors`.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import stripe
from flask import current_app

from app.billing.errors import (
    BillingDisabled,
    BillingError,
    CardDeclined,
    StripeRejected,
    StripeUnavailable,
)

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 20
NETWORK_RETRIES = 2
# The longest one call can take, retries included (the SDK's back-off is under 2 s a retry).
REQUEST_BUDGET_SECONDS = TIMEOUT_SECONDS * (NETWORK_RETRIES + 1) + 2 * NETWORK_RETRIES


def client() -> stripe.StripeClient:
    """The app's Stripe client, built once per app."""
    app = current_app._get_current_object()
    cached = app.extensions.get("stripe_client")
    if cached is not None:
        return cached
    if not app.config["BILLING_ENABLED"]:
        raise BillingDisabled()
    base = app.config["STRIPE_API_BASE"]
    addresses = {"api": base, "files": base, "connect": base} if base else None
    cached = stripe.StripeClient(
        app.config["STRIPE_SECRET_KEY"],
        base_addresses=addresses,
        max_network_retries=NETWORK_RETRIES,
        http_client=stripe.RequestsClient(timeout=TIMEOUT_SECONDS),
    )
    app.extensions["stripe_client"] = cached
    return cached


def livemode() -> bool:
    """Whether our key is a live-mode key (events of the other mode are ignored)."""
    return current_app.config["STRIPE_SECRET_KEY"].startswith(("sk_live_", "rk_live_"))


@contextmanager
def translated_errors(action: str) -> Iterator[None]:
    """Turn Stripe's exceptions into domain errors, logging the detail operators need.

    Each error carries the customer's sentence and, for operators' commands, a sentence of
    their own: what was asked of Stripe and the error Stripe gave.
    """
    try:
        yield
    except stripe.CardError as exc:
        log.info("stripe: %s declined: %s", action, exc.user_message)
        raise CardDeclined(exc.user_message or None,
                           operator_message=for_operators(action, exc)) from exc
    except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as exc:
        log.warning("stripe: %s failed, provider unavailable: %s", action, exc)
        raise StripeUnavailable(operator_message=for_operators(action, exc)) from exc
    except stripe.StripeError as exc:
        log.error("stripe: %s rejected: %s", action, exc)
        raise StripeRejected(operator_message=for_operators(action, exc)) from exc


def for_operators(action: str, exc: stripe.StripeError) -> str:
    """One line: the request, then Stripe's error type (and code) and message.

    "Stripe request failed: create webhook endpoint: invalid_request_error (url_invalid): …"
    """
    error = exc.error  # Stripe's error object, when Stripe answered at all
    if error is not None and error.type:
        kind = error.type + (f" ({error.code})" if error.code else "")
        message = error.message or exc.user_message or ""
    elif isinstance(exc, stripe.APIConnectionError):
        # The SDK's own text is a paragraph for customers of Stripe; the cause is enough.
        cause = type(exc.__cause__).__name__ if exc.__cause__ else "network error"
        address = current_app.config["STRIPE_API_BASE"] or "https://api.stripe.com"
        kind, message = "APIConnectionError", f"no answer from {address} ({cause})"
    else:
        kind, message = type(exc).__name__, exc.user_message or str(exc)
    return f"Stripe request failed: {action}: {kind}: {' '.join(str(message).split())}"


def _options(idempotency_key: str | None) -> dict:
    return {"idempotency_key": idempotency_key} if idempotency_key else {}


# --- catalog -------------------------------------------------------------------------

def prices_by_lookup_key(lookup_keys: list[str]) -> dict[str, Any]:
    with translated_errors("list prices"):
        result = client().v1.prices.list(params={
            "lookup_keys": lookup_keys, "limit": 100, "expand": ["data.product"]})
    return {price.lookup_key: price for price in result.data}


def create_product(name: str, description: str, catalog_key: str, idempotency_key: str):
    with translated_errors("create product"):
        return client().v1.products.create(
            params={"name": name, "description": description,
                    "metadata": {"catalog_key": catalog_key}},
            options=_options(idempotency_key))


def update_product(product_id: str, **fields):
    with translated_errors("update product"):
        return client().v1.products.update(product_id, params=fields)


def create_price(params: dict, idempotency_key: str):
    with translated_errors("create price"):
        return client().v1.prices.create(params=params, options=_options(idempotency_key))


# --- checkout ------------------------------------------------------------------------

def create_checkout_session(params: dict, idempotency_key: str):
    with translated_errors("create checkout session"):
        return client().v1.checkout.sessions.create(params=params,
                                                    options=_options(idempotency_key))


def retrieve_checkout_session(session_id: str, expand: list[str] | None = None):
    with translated_errors(f"retrieve checkout session {session_id}"):
        return client().v1.checkout.sessions.retrieve(
            session_id, params={"expand": expand} if expand else None)


def expire_checkout_session(session_id: str):
    with translated_errors(f"expire checkout session {session_id}"):
        return client().v1.checkout.sessions.expire(session_id)


# --- refunds -------------------------------------------------------------------------

def create_refund(payment_intent_id: str, idempotency_key: str, reason: str | None = None):
    params: dict[str, Any] = {"payment_intent": payment_intent_id}
    if reason:
        params["metadata"] = {"reason": reason[:500]}
    with translated_errors(f"refund {payment_intent_id}"):
        return client().v1.refunds.create(params=params, options=_options(idempotency_key))


# --- payments ------------------------------------------------------------------------

def _missing_is_none(retrieve, object_id: str):
    try:
        return retrieve(object_id)
    except stripe.InvalidRequestError as exc:
        if exc.code == "resource_missing":
            return None
        raise


def retrieve_payment_intent(payment_intent_id: str):
    """The payment intent, or None if Stripe has none by that id."""
    with translated_errors(f"retrieve payment intent {payment_intent_id}"):
        return _missing_is_none(client().v1.payment_intents.retrieve, payment_intent_id)


def retrieve_charge(charge_id: str):
    """The charge, or None if Stripe has none by that id."""
    with translated_errors(f"retrieve charge {charge_id}"):
        return _missing_is_none(client().v1.charges.retrieve, charge_id)


# --- events and webhook endpoints ------------------------------------------------------

def iter_events(created_gte: int, types: list[str] | None = None):
    """Events created since `created_gte` (newest first), following pagination."""
    params: dict[str, Any] = {"created": {"gte": created_gte}, "limit": 100}
    if types:
        params["types"] = types
    with translated_errors("list events"):
        page = client().v1.events.list(params=params)
        yield from page.auto_paging_iter()


def create_webhook_endpoint(url: str, enabled_events: list[str]):
    """The endpoint, in the SDK's pinned API version, with its signing secret."""
    with translated_errors("create webhook endpoint"):
        return client().v1.webhook_endpoints.create(params={
            "url": url, "enabled_events": enabled_events,
            # Events come in the endpoint's version: pin the one the SDK (and so every
            # handler reading those events) is written for, not the account's default.
            "api_version": stripe.api_version,
            "description": "Billing app webhooks (flask billing webhook-setup)"})


__all__ = ["BillingError", "client", "livemode"]
