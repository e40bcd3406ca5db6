"""Every parameter an emulator endpoint accepts is one Stripe accepts for that operation
in the pinned API version: checked against the pinned SDK's own parameter definitions
(`stripe.params`, generated from Stripe's API definition), nested hashes and enum
values included. The few the current version refuses with their own error code
(`payment_method_types`) are checked to be refused."""
import re
import sys

import pytest
import stripe.params as P
from flask import Flask

from stripe_emulator.api import SCHEMAS, register_all
from stripe_emulator.params import Removed, Timestamp

# Endpoint -> the SDK's params class for the same operation.
OPERATIONS = {
    ("GET", "/billing_portal/configurations"): "billing_portal.ConfigurationListParams",
    ("GET", "/billing_portal/configurations/<ident>"):
        "billing_portal.ConfigurationRetrieveParams",
    ("POST", "/billing_portal/configurations"): "billing_portal.ConfigurationCreateParams",
    ("POST", "/billing_portal/configurations/<ident>"):
        "billing_portal.ConfigurationUpdateParams",
    ("POST", "/billing_portal/sessions"): "billing_portal.SessionCreateParams",
    ("GET", "/charges"): "ChargeListParams",
    ("GET", "/charges/<ident>"): "ChargeRetrieveParams",
    ("GET", "/checkout/sessions"): "checkout.SessionListParams",
    ("GET", "/checkout/sessions/<ident>"): "checkout.SessionRetrieveParams",
    ("GET", "/checkout/sessions/<ident>/line_items"): "checkout.SessionLineItemListParams",
    ("POST", "/checkout/sessions"): "checkout.SessionCreateParams",
    ("POST", "/checkout/sessions/<ident>/expire"): "checkout.SessionExpireParams",
    ("GET", "/customers"): "CustomerListParams",
    ("GET", "/customers/<ident>"): "CustomerRetrieveParams",
    ("GET", "/customers/search"): "CustomerSearchParams",
    ("POST", "/customers"): "CustomerCreateParams",
    ("POST", "/customers/<ident>"): "CustomerUpdateParams",
    ("DELETE", "/customers/<ident>"): "CustomerDeleteParams",
    ("GET", "/customers/<ident>/payment_methods"): "CustomerPaymentMethodListParams",
    ("GET", "/customers/<ident>/payment_methods/<pm_id>"):
        "CustomerPaymentMethodRetrieveParams",
    ("GET", "/customers/<ident>/tax_ids"): "CustomerTaxIdListParams",
    ("GET", "/customers/<ident>/tax_ids/<txi_id>"): "CustomerTaxIdRetrieveParams",
    ("POST", "/customers/<ident>/tax_ids"): "CustomerTaxIdCreateParams",
    ("DELETE", "/customers/<ident>/tax_ids/<txi_id>"): "CustomerTaxIdDeleteParams",
    ("GET", "/events"): "EventListParams",
    ("GET", "/events/<ident>"): "EventRetrieveParams",
    ("GET", "/invoice_payments"): "InvoicePaymentListParams",
    ("GET", "/invoiceitems"): "InvoiceItemListParams",
    ("GET", "/invoiceitems/<ident>"): "InvoiceItemRetrieveParams",
    ("GET", "/invoices"): "InvoiceListParams",
    ("GET", "/invoices/<ident>"): "InvoiceRetrieveParams",
    ("GET", "/invoices/<ident>/lines"): "InvoiceLineItemListParams",
    ("POST", "/invoices/<ident>/pay"): "InvoicePayParams",
    ("POST", "/invoices/create_preview"): "InvoiceCreatePreviewParams",
    ("GET", "/payment_intents"): "PaymentIntentListParams",
    ("GET", "/payment_intents/<ident>"): "PaymentIntentRetrieveParams",
    ("POST", "/payment_intents"): "PaymentIntentCreateParams",
    ("POST", "/payment_intents/<ident>"): "PaymentIntentUpdateParams",
    ("POST", "/payment_intents/<ident>/cancel"): "PaymentIntentCancelParams",
    ("POST", "/payment_intents/<ident>/confirm"): "PaymentIntentConfirmParams",
    ("GET", "/payment_methods"): "PaymentMethodListParams",
    ("GET", "/payment_methods/<ident>"): "PaymentMethodRetrieveParams",
    ("POST", "/payment_methods"): "PaymentMethodCreateParams",
    ("POST", "/payment_methods/<ident>"): "PaymentMethodUpdateParams",
    ("POST", "/payment_methods/<ident>/attach"): "PaymentMethodAttachParams",
    ("POST", "/payment_methods/<ident>/detach"): "PaymentMethodDetachParams",
    ("GET", "/prices"): "PriceListParams",
    ("GET", "/prices/<ident>"): "PriceRetrieveParams",
    ("GET", "/prices/search"): "PriceSearchParams",
    ("POST", "/prices"): "PriceCreateParams",
    ("POST", "/prices/<ident>"): "PriceUpdateParams",
    ("GET", "/products"): "ProductListParams",
    ("GET", "/products/<ident>"): "ProductRetrieveParams",
    ("GET", "/products/search"): "ProductSearchParams",
    ("POST", "/products"): "ProductCreateParams",
    ("POST", "/products/<ident>"): "ProductUpdateParams",
    ("DELETE", "/products/<ident>"): "ProductDeleteParams",
    ("GET", "/refunds"): "RefundListParams",
    ("GET", "/refunds/<ident>"): "RefundRetrieveParams",
    ("POST", "/refunds"): "RefundCreateParams",
    ("GET", "/setup_intents"): "SetupIntentListParams",
    ("GET", "/setup_intents/<ident>"): "SetupIntentRetrieveParams",
    ("POST", "/setup_intents"): "SetupIntentCreateParams",
    ("POST", "/setup_intents/<ident>/confirm"): "SetupIntentConfirmParams",
    ("GET", "/subscription_items"): "SubscriptionItemListParams",
    ("GET", "/subscriptions"): "SubscriptionListParams",
    ("GET", "/subscriptions/<ident>"): "SubscriptionRetrieveParams",
    ("POST", "/subscriptions/<ident>"): "SubscriptionUpdateParams",
    ("DELETE", "/subscriptions/<ident>"): "SubscriptionCancelParams",
    ("GET", "/test_helpers/test_clocks"): "test_helpers.TestClockListParams",
    ("GET", "/test_helpers/test_clocks/<ident>"): "test_helpers.TestClockRetrieveParams",
    ("POST", "/test_helpers/test_clocks"): "test_helpers.TestClockCreateParams",
    ("POST", "/test_helpers/test_clocks/<ident>/advance"):
        "test_helpers.TestClockAdvanceParams",
    ("DELETE", "/test_helpers/test_clocks/<ident>"): "test_helpers.TestClockDeleteParams",
    ("GET", "/webhook_endpoints"): "WebhookEndpointListParams",
    ("GET", "/webhook_endpoints/<ident>"): "WebhookEndpointRetrieveParams",
    ("POST", "/webhook_endpoints"): "WebhookEndpointCreateParams",
    ("POST", "/webhook_endpoints/<ident>"): "WebhookEndpointUpdateParams",
    ("DELETE", "/webhook_endpoints/<ident>"): "WebhookEndpointDeleteParams",
}

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@pytest.fixture(scope="module")
def schemas():
    register_all(Flask(__name__))
    return SCHEMAS


def sdk_class(dotted):
    module, _, name = dotted.rpartition(".")
    return getattr(getattr(P, module) if module else P, name)


def annotation_text(annotation):
    """An annotation as text, forward references unwrapped."""
    return re.sub(r"ForwardRef\(['\"](.*?)['\"]\)", r"\1", repr(annotation))


def nested_class(owner, annotation):
    """The TypedDict a parameter's annotation names (a hash or list of hashes)."""
    module = sys.modules[owner.__module__]
    for name in _NAME.findall(annotation_text(annotation)):
        found = getattr(module, name, None)
        if isinstance(found, type) and name.startswith(owner.__name__.split("Params")[0]):
            return found
    return None


def literals(annotation):
    """The enum values an annotation allows, or None if any string goes."""
    text = annotation_text(annotation)
    values = re.findall(r"Literal\[([^\]]*)\]", text)
    if not values or re.search(r"\bstr\b", text.replace("Literal", "")):
        return None
    return {v.strip(" '\"") for group in values for v in group.split(",")}


def extra_params(schema, params_class, path=""):
    """Names the emulator accepts that the SDK's params class does not."""
    hints = params_class.__annotations__
    found = []
    for key, sub in schema.items():
        name = f"{path}[{key}]" if path else key
        if isinstance(sub, Removed):  # refused with its own error code
            continue
        if key not in hints:
            found.append(name)
            continue
        if isinstance(sub, Timestamp) or sub in ("str", "int", "bool", "map",
                                                           "any"):
            continue
        inner = sub[0] if isinstance(sub, list) else sub
        if isinstance(inner, dict):
            nested = nested_class(params_class, hints[key])
            assert nested is not None, f"no nested params class for {name}"
            found += extra_params(inner, nested, name)
        elif isinstance(inner, tuple):
            allowed = literals(hints[key])
            if allowed is not None:
                found += [f"{name}={v}" for v in inner if v not in allowed]
    return found


def test_every_endpoint_is_mapped(schemas):
    assert set(schemas) == set(OPERATIONS)


@pytest.mark.parametrize("endpoint", sorted(OPERATIONS))
def test_the_emulator_accepts_only_what_stripe_accepts(schemas, endpoint):
    assert extra_params(schemas[endpoint], sdk_class(OPERATIONS[endpoint])) == [], endpoint


@pytest.mark.parametrize("endpoint", [("POST", "/checkout/sessions"),
                                      ("POST", "/payment_intents"),
                                      ("POST", "/payment_intents/<ident>"),
                                      ("POST", "/payment_intents/<ident>/confirm"),
                                      ("POST", "/setup_intents")])
def test_payment_method_types_is_gone_from_the_sdk_and_refused(schemas, endpoint):
    assert "payment_method_types" not in sdk_class(OPERATIONS[endpoint]).__annotations__
    assert isinstance(schemas[endpoint]["payment_method_types"], Removed)
    assert "allowed_payment_method_types" in schemas[endpoint]
