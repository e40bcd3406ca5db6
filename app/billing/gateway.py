"""Every outgoing Stripe call goes through here.

One `stripe.StripeClient` per app (key and base address from config, the SDK's pinned API
version, network retries, timeouts). Every create carries an idempotency key derived from
a local record id, so a retried request can never create a second object at Stripe.
Stripe's exceptions become the domain errors in `app.billing.errors`.
"""

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, Unpack, cast

import stripe
from flask import current_app
from stripe.params import (
    CustomerCreateParams,
    EventListParams,
    InvoiceCreatePreviewParams,
    PriceCreateParams,
    PriceListParams,
    ProductCreateParams,
    ProductUpdateParams,
    RefundCreateParams,
    SubscriptionUpdateParams,
    WebhookEndpointCreateParams,
)
from stripe.params.billing_portal import SessionCreateParams as PortalSessionCreateParams
from stripe.params.billing_portal import SessionCreateParamsFlowData as PortalFlowData
from stripe.params.checkout import SessionCreateParams as CheckoutSessionCreateParams
from stripe.params.checkout import SessionRetrieveParams as CheckoutSessionRetrieveParams

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
    app = current_app
    cached: stripe.StripeClient | None = app.extensions.get("stripe_client")
    if cached is not None:
        return cached
    if not app.config["BILLING_ENABLED"]:
        raise BillingDisabled()
    base: str = app.config["STRIPE_API_BASE"]
    cached = stripe.StripeClient(
        app.config["STRIPE_SECRET_KEY"],
        base_addresses={"api": base, "files": base, "connect": base} if base else None,
        max_network_retries=NETWORK_RETRIES,
        http_client=stripe.RequestsClient(timeout=TIMEOUT_SECONDS),
    )
    app.extensions["stripe_client"] = cached
    return cached


def livemode() -> bool:
    """Whether our key is a live-mode key (events of the other mode are ignored)."""
    key: str = current_app.config["STRIPE_SECRET_KEY"]
    return key.startswith(("sk_live_", "rk_live_"))


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


def _options(idempotency_key: str | None) -> stripe.RequestOptions:
    return {"idempotency_key": idempotency_key} if idempotency_key else {}


# --- catalog -------------------------------------------------------------------------

def prices_by_lookup_key(lookup_keys: list[str]) -> dict[str, stripe.Price]:
    """The prices holding these lookup keys, by key, each with its product expanded."""
    params: PriceListParams = {"lookup_keys": lookup_keys, "limit": 100,
                               "expand": ["data.product"]}
    with translated_errors("list prices"):
        result = client().v1.prices.list(params=params)
    # Listed by lookup key, so every one has a key.
    return {price.lookup_key: price for price in result.data if price.lookup_key is not None}


def create_product(name: str, description: str, catalog_key: str,
                   idempotency_key: str) -> stripe.Product:
    params: ProductCreateParams = {"name": name, "description": description,
                                   "metadata": {"catalog_key": catalog_key}}
    with translated_errors("create product"):
        return client().v1.products.create(params=params, options=_options(idempotency_key))


def update_product(product_id: str, **fields: Unpack[ProductUpdateParams]) -> stripe.Product:
    with translated_errors("update product"):
        return client().v1.products.update(product_id, params=fields)


def create_price(params: PriceCreateParams, idempotency_key: str) -> stripe.Price:
    with translated_errors("create price"):
        return client().v1.prices.create(params=params, options=_options(idempotency_key))


# --- checkout ------------------------------------------------------------------------

def create_checkout_session(params: CheckoutSessionCreateParams,
                            idempotency_key: str) -> stripe.checkout.Session:
    with translated_errors("create checkout session"):
        return client().v1.checkout.sessions.create(params=params,
                                                    options=_options(idempotency_key))


def retrieve_checkout_session(session_id: str,
                              expand: list[str] | None = None) -> stripe.checkout.Session:
    params: CheckoutSessionRetrieveParams | None = {"expand": expand} if expand else None
    with translated_errors(f"retrieve checkout session {session_id}"):
        return client().v1.checkout.sessions.retrieve(session_id, params=params)


def expire_checkout_session(session_id: str) -> stripe.checkout.Session:
    with translated_errors(f"expire checkout session {session_id}"):
        return client().v1.checkout.sessions.expire(session_id)


# --- refunds -------------------------------------------------------------------------

def create_refund(payment_intent_id: str, idempotency_key: str,
                  reason: str | None = None) -> stripe.Refund:
    params: RefundCreateParams = {"payment_intent": payment_intent_id}
    if reason:
        params["metadata"] = {"reason": reason[:500]}
    with translated_errors(f"refund {payment_intent_id}"):
        return client().v1.refunds.create(params=params, options=_options(idempotency_key))


# --- payments ------------------------------------------------------------------------

StripeObject = TypeVar("StripeObject", bound=stripe.StripeObject)


def _missing_is_none(retrieve: Callable[[str], StripeObject],
                     object_id: str) -> StripeObject | None:
    try:
        return retrieve(object_id)
    except stripe.InvalidRequestError as exc:
        if exc.code == "resource_missing":
            return None
        raise


def retrieve_payment_intent(payment_intent_id: str) -> stripe.PaymentIntent | None:
    """The payment intent, or None if Stripe has none by that id."""
    with translated_errors(f"retrieve payment intent {payment_intent_id}"):
        return _missing_is_none(client().v1.payment_intents.retrieve, payment_intent_id)


def retrieve_charge(charge_id: str) -> stripe.Charge | None:
    """The charge, or None if Stripe has none by that id."""
    with translated_errors(f"retrieve charge {charge_id}"):
        return _missing_is_none(client().v1.charges.retrieve, charge_id)


# --- events and webhook endpoints ------------------------------------------------------

def iter_events(created_gte: int, types: list[str] | None = None) -> Iterator[stripe.Event]:
    """Events created since `created_gte` (newest first), following pagination."""
    params: EventListParams = {"created": {"gte": created_gte}, "limit": 100}
    if types:
        params["types"] = types
    with translated_errors("list events"):
        page = client().v1.events.list(params=params)
        yield from page.auto_paging_iter()


def create_webhook_endpoint(url: str, enabled_events: list[str]) -> stripe.WebhookEndpoint:
    """The endpoint, in the SDK's pinned API version, with its signing secret."""
    params: WebhookEndpointCreateParams = {
        "url": url,
        # The SDK spells both as Literals of every name Stripe has published. Ours are such
        # names: the registry's event types, and the version the SDK itself pins.
        "enabled_events": cast(list[Any], enabled_events),
        # Events come in the endpoint's version: pin the one the SDK (and so every
        # handler reading those events) is written for, not the account's default.
        "api_version": cast(Any, stripe.api_version),
        "description": "Billing app webhooks (flask billing webhook-setup)"}
    with translated_errors("create webhook endpoint"):
        return client().v1.webhook_endpoints.create(params=params)


__all__ = ["BillingError", "client", "livemode"]


# --- customers and subscriptions --------------------------------------------------------

def create_customer(email: str, user_id: int, idempotency_key: str) -> stripe.Customer:
    params: CustomerCreateParams = {"email": email, "metadata": {"user_id": str(user_id)}}
    with translated_errors("create customer"):
        return client().v1.customers.create(params=params, options=_options(idempotency_key))


def retrieve_subscription(subscription_id: str) -> stripe.Subscription | None:
    """The subscription, or None if Stripe has none by that id."""
    with translated_errors(f"retrieve subscription {subscription_id}"):
        return _missing_is_none(client().v1.subscriptions.retrieve, subscription_id)


def update_subscription(subscription_id: str,
                        params: SubscriptionUpdateParams) -> stripe.Subscription:
    with translated_errors(f"update subscription {subscription_id}"):
        return client().v1.subscriptions.update(subscription_id, params=params)


def preview_invoice(params: InvoiceCreatePreviewParams) -> stripe.Invoice:
    """Stripe's preview of the next invoice for a proposed change (nothing is created)."""
    with translated_errors("preview invoice"):
        return client().v1.invoices.create_preview(params=params)


def create_portal_session(customer_id: str, return_url: str,
                          flow_data: PortalFlowData | None = None) -> stripe.billing_portal.Session:
    params: PortalSessionCreateParams = {"customer": customer_id, "return_url": return_url}
    if flow_data:
        params["flow_data"] = flow_data
    with translated_errors("create billing portal session"):
        return client().v1.billing_portal.sessions.create(params=params)
