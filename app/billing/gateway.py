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
    CustomerListParams,
    CustomerPaymentMethodListParams,
    CustomerRetrieveParams,
    CustomerTaxIdCreateParams,
    CustomerUpdateParams,
    EventListParams,
    InvoiceCreatePreviewParams,
    InvoicePayParams,
    PriceCreateParams,
    PriceListParams,
    ProductCreateParams,
    ProductUpdateParams,
    RefundCreateParams,
    SubscriptionCancelParams,
    SubscriptionListParams,
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
    InvalidBillingDetails,
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
                            idempotency_key: str | None) -> stripe.checkout.Session:
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
                  reason: str | None = None, amount: int | None = None) -> stripe.Refund:
    """Refund the payment (`amount` of it; all that is left when None)."""
    params: RefundCreateParams = {"payment_intent": payment_intent_id}
    if amount is not None:
        params["amount"] = amount
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

def iter_customers() -> Iterator[stripe.Customer]:
    """Every customer of the account (deleted ones are not listed), following pagination.
    Stripe leaves out customers on a test clock (test mode only): retrieve those by id."""
    params: CustomerListParams = {"limit": 100}
    with translated_errors("list customers"):
        yield from client().v1.customers.list(params=params).auto_paging_iter()


def iter_subscriptions() -> Iterator[stripe.Subscription]:
    """Every subscription of the account, ended ones included, following pagination.
    Stripe leaves out subscriptions on a test clock (test mode only): retrieve those by id."""
    params: SubscriptionListParams = {"status": "all", "limit": 100}
    with translated_errors("list subscriptions"):
        yield from client().v1.subscriptions.list(params=params).auto_paging_iter()


def iter_cards(customer_id: str) -> Iterator[stripe.PaymentMethod]:
    """The cards attached to a customer, following pagination."""
    params: CustomerPaymentMethodListParams = {"type": "card", "limit": 100}
    with translated_errors(f"list cards of customer {customer_id}"):
        yield from client().v1.customers.payment_methods.list(
            customer_id, params=params).auto_paging_iter()


def create_customer(email: str, user_id: int, idempotency_key: str) -> stripe.Customer:
    params: CustomerCreateParams = {"email": email, "metadata": {"user_id": str(user_id)}}
    with translated_errors("create customer"):
        return client().v1.customers.create(params=params, options=_options(idempotency_key))


def retrieve_subscription(subscription_id: str) -> stripe.Subscription | None:
    """The subscription, or None if Stripe has none by that id."""
    with translated_errors(f"retrieve subscription {subscription_id}"):
        return _missing_is_none(client().v1.subscriptions.retrieve, subscription_id)


def update_subscription(subscription_id: str, params: SubscriptionUpdateParams,
                        idempotency_key: str | None = None) -> stripe.Subscription:
    with translated_errors(f"update subscription {subscription_id}"):
        return client().v1.subscriptions.update(subscription_id, params=params,
                                                 options=_options(idempotency_key))


def cancel_subscription(subscription_id: str, idempotency_key: str) -> stripe.Subscription:
    """End a subscription now, without a final invoice or proration."""
    params: SubscriptionCancelParams = {"invoice_now": False, "prorate": False}
    with translated_errors(f"cancel subscription {subscription_id}"):
        return client().v1.subscriptions.cancel(subscription_id, params=params,
                                                 options=_options(idempotency_key))


def retrieve_invoice(invoice_id: str) -> stripe.Invoice | None:
    with translated_errors(f"retrieve invoice {invoice_id}"):
        return _missing_is_none(client().v1.invoices.retrieve, invoice_id)


def pay_invoice(invoice_id: str, payment_method_id: str, idempotency_key: str) -> stripe.Invoice:
    """Try to pay an open invoice with one card, the customer not present. A decline is
    `CardDeclined`; the same key makes a second try of this card a replay, not a charge."""
    params: InvoicePayParams = {"payment_method": payment_method_id, "off_session": True}
    with translated_errors(f"pay invoice {invoice_id} with {payment_method_id}"):
        return client().v1.invoices.pay(invoice_id, params=params,
                                        options=_options(idempotency_key))


def preview_invoice(params: InvoiceCreatePreviewParams) -> stripe.Invoice:
    """Stripe's preview of the next invoice for a proposed change (nothing is created)."""
    with translated_errors("preview invoice"):
        return client().v1.invoices.create_preview(params=params)


# --- customer details: name, address, tax ids ---------------------------------------------

# Refusals a person can fix by correcting what they typed, by Stripe's error code: the
# billing detail at fault (a field of the details form), when the code alone says which.
CORRECTABLE_CODES: dict[str, str | None] = {
    "tax_id_invalid": "tax_value", "postal_code_invalid": "postal_code",
    "country_code_invalid": "country", "invalid_characters": None}
# The detail a refusal's `param` names, on a customer update or a tax ID create.
DETAIL_OF_PARAM = {
    "name": "name", "address[line1]": "line1", "address[line2]": "line2",
    "address[city]": "city", "address[postal_code]": "postal_code",
    "address[country]": "country", "value": "tax_value", "type": "tax_type"}


@contextmanager
def _details_errors(action: str) -> Iterator[None]:
    """`translated_errors`, with Stripe's invalid_request_errors taken first: a correctable
    one becomes InvalidBillingDetails, the rest StripeRejected. Both are logged by code and
    parameter only: Stripe's message may quote the name or address we sent."""
    with translated_errors(action):
        try:
            yield
        except stripe.InvalidRequestError as exc:
            code, param = exc.code or "", exc.param or ""
            detail = DETAIL_OF_PARAM.get(param) or CORRECTABLE_CODES.get(code)
            if code in CORRECTABLE_CODES and detail is not None:
                log.info("stripe: %s: %s refused (%s)", action, detail, code)
                raise InvalidBillingDetails(detail, code=code,
                                            operator_message=for_operators(action, exc)) from exc
            log.error("stripe: %s rejected: %s on %s", action, code or "invalid_request_error",
                      param or "the request")
            raise StripeRejected(operator_message=for_operators(action, exc)) from exc


def list_tax_ids(customer_id: str) -> list[stripe.TaxId]:
    """All the customer's tax IDs, following pagination (an expanded customer shows a page)."""
    with translated_errors(f"list tax ids of customer {customer_id}"):
        page = client().v1.customers.tax_ids.list(customer_id, params={"limit": 100})
        return list(page.auto_paging_iter())


def update_customer_details(customer_id: str, params: CustomerUpdateParams) -> stripe.Customer:
    """Save name and address on the customer; a correctable refusal is InvalidBillingDetails."""
    with _details_errors(f"update details of customer {customer_id}"):
        return client().v1.customers.update(customer_id, params=params)


def create_tax_id(customer_id: str, type_: str, value: str) -> stripe.TaxId:
    """Add a tax ID to the customer; a value Stripe refuses is InvalidBillingDetails.

    No idempotency key of ours. The SDK gives each call its own, which its network retries
    reuse, so a retried request creates one tax ID. A key derived from the customer, type
    and value would be wrong: saving that value again after it was replaced and deleted
    (within Stripe's 24 hours) would replay the deleted tax ID instead of creating it. A
    second submission of the form finds the value already there and creates nothing
    (`app.billing.details`, under the user's lock).
    """
    params: CustomerTaxIdCreateParams = {"type": type_, "value": value}
    with _details_errors(f"create {type_} tax id for customer {customer_id}"):
        return client().v1.customers.tax_ids.create(customer_id, params=params)


def delete_tax_id(customer_id: str, tax_id: str) -> None:
    """Remove one of the customer's tax IDs; one that is gone already is fine."""
    with _details_errors(f"delete tax id {tax_id} of customer {customer_id}"):
        try:
            client().v1.customers.tax_ids.delete(customer_id, tax_id)
        except stripe.InvalidRequestError as exc:
            if exc.code != "resource_missing":
                raise


def create_portal_session(customer_id: str, return_url: str,
                          flow_data: PortalFlowData | None = None) -> stripe.billing_portal.Session:
    params: PortalSessionCreateParams = {"customer": customer_id, "return_url": return_url}
    if flow_data:
        params["flow_data"] = flow_data
    with translated_errors("create billing portal session"):
        return client().v1.billing_portal.sessions.create(params=params)


# --- cards ---------------------------------------------------------------------------

def retrieve_payment_method(payment_method_id: str) -> stripe.PaymentMethod | None:
    """The payment method, or None if Stripe has none by that id."""
    with translated_errors(f"retrieve payment method {payment_method_id}"):
        return _missing_is_none(client().v1.payment_methods.retrieve, payment_method_id)


def detach_payment_method(payment_method_id: str) -> stripe.PaymentMethod:
    with translated_errors(f"detach payment method {payment_method_id}"):
        return client().v1.payment_methods.detach(payment_method_id)


def retrieve_customer(customer_id: str,
                      expand: list[str] | None = None) -> stripe.Customer | None:
    """The customer (e.g. `expand=["tax_ids"]`), or None if Stripe has none by that id (or
    it was deleted)."""
    params: CustomerRetrieveParams = {"expand": expand} if expand else {}
    with translated_errors(f"retrieve customer {customer_id}"):
        customer = _missing_is_none(
            lambda ident: client().v1.customers.retrieve(ident, params=params), customer_id)
    return None if customer is None or getattr(customer, "deleted", False) else customer


def set_default_payment_method(customer_id: str, payment_method_id: str) -> stripe.Customer:
    """The card Stripe charges for the customer's invoices unless a subscription names one."""
    params: CustomerUpdateParams = {
        "invoice_settings": {"default_payment_method": payment_method_id}}
    with translated_errors(f"set default payment method of customer {customer_id}"):
        return client().v1.customers.update(customer_id, params=params)


def retrieve_setup_intent(setup_intent_id: str) -> stripe.SetupIntent | None:
    """The setup intent, or None if Stripe has none by that id."""
    with translated_errors(f"retrieve setup intent {setup_intent_id}"):
        return _missing_is_none(client().v1.setup_intents.retrieve, setup_intent_id)


def invoice_payment_intent(invoice_id: str) -> str | None:
    """The payment intent that paid an invoice (its default invoice payment), if any."""
    with translated_errors(f"retrieve invoice {invoice_id}"):
        invoice = client().v1.invoices.retrieve(invoice_id, params={"expand": ["payments"]})
    for payment in (invoice.payments.data if invoice.payments else []):
        intent = payment.payment.payment_intent
        if intent:
            return intent if isinstance(intent, str) else intent.id
    return None


def invoice_charge(invoice_id: str) -> stripe.Charge | None:
    """The charge that paid an invoice (its payment intent's latest), with its card."""
    intent_id = invoice_payment_intent(invoice_id)
    if intent_id is None:
        return None
    with translated_errors(f"retrieve payment intent {intent_id}"):
        intent = client().v1.payment_intents.retrieve(
            intent_id, params={"expand": ["latest_charge"]})
    charge = intent.latest_charge
    return charge if isinstance(charge, stripe.Charge) else None


def invoice_needs_action(invoice_id: str) -> bool:
    """Whether an open invoice's payment waits for the customer to confirm it (3-D Secure:
    its payment intent is in `requires_action`)."""
    intent_id = invoice_payment_intent(invoice_id)
    if intent_id is None:
        return False
    with translated_errors(f"retrieve payment intent {intent_id}"):
        intent = client().v1.payment_intents.retrieve(intent_id)
    return bool(intent.status == "requires_action")
