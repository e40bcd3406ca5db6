"""Every object the emulator serves has the top-level keys of Stripe's own fixture for
its type (tests/data/stripe_shapes.json, extracted by scripts/extract_stripe_shapes.py
from stripe/openapi's fixtures3.json, plus the billing types in
tests/emulator/data/billing_shapes.json, extracted by extract_billing_shapes.py beside
this file), and the official SDK parses it into its class."""
import json
import pathlib

import pytest
import requests
import stripe

from .helpers import monthly_price, one_time_price, payment_session, subscription_session

HERE = pathlib.Path(__file__).parent
SHAPES = json.loads((HERE.parent / "data" / "stripe_shapes.json").read_text())
_BILLING = json.loads((HERE / "data" / "billing_shapes.json").read_text())
for _section in ("top_level", "nested"):
    SHAPES[_section].update(_BILLING[_section])

# Fixture keys the emulator leaves out, and why. Keep this short.
OMISSIONS = {
    # Removed from the invoice in the current API version (the pinned SDK's Invoice has
    # no such property); the fixture predates that. Read parent.subscription_details.
    "invoice": {"subscription"},
}

# Keys the emulator serves beyond the fixture, as Stripe itself does.
ADDITIONS = {
    # Only in the create response: the endpoint's signing secret.
    "webhook_endpoint": {"secret"},
    # Only with expand[]=tax_ids (includable, as at Stripe; the SDK's Customer has it).
    "customer": {"tax_ids"},
}

# Nested keys the pinned SDK (the API version the app talks) has and the older fixture
# lacks; served as the SDK defines them.
NESTED_ADDITIONS = {
    "invoice:parent.subscription_details": {"subscription_proration_date"},
    "billing_portal.session:flow": {"customer_update", "subscription_pause"},
    "billing_portal.session:flow.subscription_update_confirm.items": {"quantity"},
    # Served only with expand[]=features.subscription_update.products, as at Stripe.
    "billing_portal.configuration:features.subscription_update": {"products"},
}

# A payment method carries one type-specific hash named after its type; the fixture
# is a card, so for other types `card` is replaced by e.g. `us_bank_account`.
TYPE_KEYED = {"payment_method"}


def shape_name(obj):
    return f"deleted_{obj['object']}" if obj.get("deleted") else obj["object"]


def collect(value, found):
    """Every Stripe object inside a response, however deeply nested."""
    if isinstance(value, dict):
        kind = value.get("object")
        if isinstance(kind, str) and kind not in ("list", "search_result"):
            found.setdefault(shape_name(value), []).append(value)
        for child in value.values():
            collect(child, found)
    elif isinstance(value, list):
        for child in value:
            collect(child, found)
    return found


def expected_keys(obj):
    kind = shape_name(obj)
    keys = set(SHAPES["top_level"][kind]) - OMISSIONS.get(kind, set())
    keys |= ADDITIONS.get(kind, set()) & set(obj)
    if kind in TYPE_KEYED and obj.get("type") != "card":
        keys = (keys - {"card"}) | {obj["type"]}
    return keys


@pytest.fixture
def served(stripe_client, control, emulator, receiver):
    """Drive every flow once and gather each object type from raw API responses."""
    base, auth = emulator.url, {"Authorization": "Bearer sk_test_emulator"}
    responses = []

    def get(path, **params):
        resp = requests.get(base + path, params=params, headers=auth)
        assert resp.status_code == 200, resp.text
        responses.append(resp.json())
        return resp.json()

    def post(path, data=None, method="post"):
        resp = requests.request(method, base + path, data=data or {}, headers=auth)
        assert resp.status_code == 200, resp.text
        responses.append(resp.json())
        return resp.json()

    post("/v1/webhook_endpoints", {"url": receiver.url, "enabled_events[0]": "*"})
    post("/v1/customers", {"email": "a@example.com", "address[line1]": "1 Road",
                           "address[country]": "GB", "metadata[k]": "v"})
    gold = one_time_price(stripe_client)
    paid = payment_session(stripe_client, gold, customer_creation="always")
    control.post(f"/checkout/sessions/{paid.id}/complete", {})
    delayed = payment_session(stripe_client, gold)
    control.post(f"/checkout/sessions/{delayed.id}/complete", {"method": "delayed"})
    sub_session = subscription_session(stripe_client, monthly_price(stripe_client))
    sub = control.post(f"/checkout/sessions/{sub_session.id}/complete", {})
    setup = stripe_client.v1.checkout.sessions.create(
        {"mode": "setup", "customer": sub["customer"], "currency": "gbp",
         "success_url": "http://127.0.0.1/x"})
    control.post(f"/checkout/sessions/{setup.id}/complete", {})
    charge = get("/v1/charges")["data"][-1]
    post("/v1/refunds", {"charge": charge["id"], "amount": "100"})
    responses.append(control.post(f"/charges/{charge['id']}/dispute"))
    post("/v1/billing_portal/sessions", {"customer": sub["customer"]})
    txi = post(f"/v1/customers/{sub['customer']}/tax_ids",
               {"type": "gb_vat", "value": "GB123456789"})
    post(f"/v1/customers/{sub['customer']}/tax_ids", {"type": "eu_vat",
                                                      "value": "DE123456789"})
    post(f"/v1/customers/{sub['customer']}/tax_ids/{txi['id']}", method="delete")
    get(f"/v1/customers/{sub['customer']}/tax_ids")
    _drive_billing_details(setup, sub, get, post)
    for path in ("/v1/products", "/v1/prices", "/v1/customers", "/v1/payment_intents",
                 "/v1/setup_intents", "/v1/refunds", "/v1/checkout/sessions",
                 "/v1/events", "/v1/webhook_endpoints", "/v1/subscriptions",
                 "/v1/invoices", "/v1/invoice_payments"):
        get(path, limit=100)
    get(f"/v1/checkout/sessions/{paid.id}/line_items")
    get(f"/v1/invoices/{sub['invoice']}/lines")
    get("/v1/subscription_items", subscription=sub["subscription"])
    get("/v1/payment_methods", customer=sub["customer"])
    get(f"/v1/payment_methods/{get('/v1/payment_intents')['data'][1]['payment_method']}")
    doomed = stripe_client.v1.products.create({"name": "Doomed"})
    post(f"/v1/products/{doomed.id}", method="delete")
    post(f"/v1/customers/{stripe_client.v1.customers.create().id}", method="delete")
    ep = stripe_client.v1.webhook_endpoints.create({"url": receiver.url,
                                                    "enabled_events": ["*"]})
    post(f"/v1/webhook_endpoints/{ep.id}", method="delete")
    _drive_billing(stripe_client, control, sub, get, post)
    _drive_test_clock(get, post)
    control.flush()
    return responses, collect(responses, {})


def _drive_billing_details(setup, sub, get, post):
    """Tax IDs made with a customer and expanded on it, a card updated and read as the
    customer's, a setup-mode session with its setup intent expanded."""
    cus = post("/v1/customers", {
        "name": "Lumen Ltd", "address[line1]": "1 High Street", "address[city]": "Leeds",
        "address[postal_code]": "LS1 1AA", "address[country]": "GB",
        "tax_id_data[0][type]": "gb_vat", "tax_id_data[0][value]": "GB123456789",
        "tax_id_data[1][type]": "us_ein", "tax_id_data[1][value]": "12-3456789"})
    get(f"/v1/customers/{cus['id']}", **{"expand[]": "tax_ids"})
    pm = post("/v1/payment_methods/pm_card_visa/attach", {"customer": cus["id"]})
    post(f"/v1/payment_methods/{pm['id']}", {
        "billing_details[name]": "Ada", "billing_details[address][country]": "GB",
        "card[exp_month]": "3", "card[exp_year]": "2040", "metadata[k]": "v"})
    get(f"/v1/customers/{cus['id']}/payment_methods/{pm['id']}")
    post(f"/v1/customers/{cus['id']}", {"invoice_settings[default_payment_method]":
                                        pm["id"]})
    post(f"/v1/payment_methods/{pm['id']}/detach")
    done = get(f"/v1/checkout/sessions/{setup.id}", **{"expand[]": "setup_intent"})
    get(f"/v1/setup_intents/{done['setup_intent']['id']}")


def _drive_billing(stripe_client, control, sub, get, post):
    """Subscriptions changed with prorations, previews, portal configurations and
    sessions with flows: every billing object and nested hash the app reads."""
    item = get(f"/v1/subscriptions/{sub['subscription']}")["items"]["data"][0]
    dearer = stripe_client.v1.prices.create({
        "product": item["price"]["product"], "currency": "gbp", "unit_amount": 1200,
        "recurring": {"interval": "month"}})
    change = {"items[0][id]": item["id"], "items[0][price]": dearer.id}
    post("/v1/invoices/create_preview", {
        "subscription": sub["subscription"],
        "subscription_details[items][0][id]": item["id"],
        "subscription_details[items][0][price]": dearer.id})
    post(f"/v1/subscriptions/{sub['subscription']}",
         {**change, "proration_behavior": "create_prorations"})
    get("/v1/invoiceitems", pending="true")
    post("/v1/invoices/create_preview", {"subscription": sub["subscription"]})
    control.post("/clock/advance", {"seconds": 32 * 86400})
    get("/v1/invoices", subscription=sub["subscription"], limit=100)
    get("/v1/invoiceitems", limit=100)
    config = post("/v1/billing_portal/configurations", {
        "features[subscription_update][enabled]": "true",
        "features[subscription_update][default_allowed_updates][0]": "price",
        "features[subscription_update][products][0][product]": dearer.product,
        "features[subscription_update][products][0][prices][0]": item["price"]["id"],
        "features[subscription_update][products][0][prices][1]": dearer.id,
        "features[subscription_cancel][enabled]": "true",
        "features[payment_method_update][enabled]": "true",
        "business_profile[headline]": "Lumen"})
    post(f"/v1/billing_portal/configurations/{config['id']}", {"name": "Plans"})
    get(f"/v1/billing_portal/configurations/{config['id']}",
        **{"expand[]": "features.subscription_update.products"})
    get("/v1/billing_portal/configurations")
    post("/v1/billing_portal/sessions", {
        "customer": sub["customer"], "configuration": config["id"],
        "flow_data[type]": "subscription_update_confirm",
        "flow_data[subscription_update_confirm][subscription]": sub["subscription"],
        "flow_data[subscription_update_confirm][items][0][id]": item["id"],
        "flow_data[subscription_update_confirm][items][0][price]": item["price"]["id"],
        "flow_data[after_completion][type]": "redirect",
        "flow_data[after_completion][redirect][return_url]": "http://127.0.0.1/x"})
    post("/v1/billing_portal/sessions", {
        "customer": sub["customer"], "configuration": config["id"],
        "flow_data[type]": "subscription_cancel",
        "flow_data[subscription_cancel][subscription]": sub["subscription"]})


def _drive_test_clock(get, post):
    """A test clock with a subscribed customer, advanced through a renewal (the
    invoice.upcoming preview among the events), listed, then deleted."""
    clock = post("/v1/test_helpers/test_clocks", {"frozen_time": "1800000000",
                                                  "name": "Shapes"})
    cus = post("/v1/customers", {"test_clock": clock["id"], "email": "c@example.com"})
    get(f"/v1/customers/{cus['id']}", **{"expand[]": "test_clock"})
    post(f"/v1/test_helpers/test_clocks/{clock['id']}/advance",
         {"frozen_time": "1800003600"})
    get(f"/v1/test_helpers/test_clocks/{clock['id']}")
    get("/v1/test_helpers/test_clocks")
    get("/v1/events", type="invoice.upcoming")
    post(f"/v1/test_helpers/test_clocks/{clock['id']}", method="delete")
    get(f"/v1/test_helpers/test_clocks/{clock['id']}")


def test_every_served_type_matches_the_fixture_keys(served):
    _, found = served
    assert set(found) == set(SHAPES["top_level"]), "a served type is missing from the test"
    for kind, objects in found.items():
        for obj in objects:
            assert set(obj) == expected_keys(obj), (
                kind, sorted(set(obj) ^ expected_keys(obj)))


def test_payment_method_types_are_card_and_bank(served):
    _, found = served
    assert {pm["type"] for pm in found["payment_method"]} == {"card", "us_bank_account"}


def test_nested_hashes_the_app_reads(served):
    _, found = served
    checked = set()
    for path, keys in SHAPES["nested"].items():
        kind, dotted = path.split(":")
        for obj in found[kind]:
            value = nested(obj, dotted, kind)
            if value is not None:
                extra = set(value) - set(keys)
                assert set(keys) <= set(value) and extra <= NESTED_ADDITIONS.get(
                    path, set()), (path, sorted(set(value) ^ set(keys)))
                checked.add(path)
    assert checked == set(SHAPES["nested"]), "some nested hashes were never served"


def nested(obj, dotted, kind):
    """The hash at a dotted path (lists entered at their first element), or None."""
    value = obj
    for part in dotted.split("."):
        if part not in value:  # e.g. the `card` hash of a bank payment method
            assert kind in TYPE_KEYED
            return None
        value = value[part]
        if isinstance(value, list):
            if not value:
                return None
            value = value[0]
        if value is None:
            return None
    return value


def test_the_sdk_parses_every_response(served):
    responses, found = served
    for body in responses:
        parsed = stripe.convert_to_stripe_object(body)
        # The SDK turns decimal strings (unit_amount_decimal) into Decimal.
        assert json.loads(json.dumps(parsed.to_dict(), default=str)) == body
    for kind, objects in found.items():
        parsed = stripe.convert_to_stripe_object(objects[0])
        assert type(parsed) is not stripe.StripeObject, f"SDK has no class for {kind}"
