"""Stripe's limits and the parameters the current API version refuses: metadata (50
keys, 40-character keys, 500-character values), 10 `lookup_keys` per list request,
`payment_method_types` (removed in 2026-09-30.endive) and Checkout's `ui_mode` values."""
import pytest
import stripe

from .helpers import monthly_price, one_time_price, payment_session


def error(http, path, data, method="post"):
    resp = http.request(method, http.base + path,
                        **({"params": data} if method == "get" else {"data": data}))
    assert resp.status_code == 400, resp.text
    return resp.json()["error"]


def test_metadata_within_the_limits_is_kept(stripe_client):
    metadata = {f"k{i:02d}": "v" for i in range(49)}
    metadata["k" * 40] = "x" * 500
    customer = stripe_client.v1.customers.create({"metadata": metadata})
    assert len(customer.metadata.to_dict()) == 50 and customer.metadata["k" * 40] == "x" * 500


@pytest.mark.parametrize("metadata, message", [
    ({f"k{i}": "v" for i in range(51)},
     "Metadata can have up to 50 keys, but you've set 51."),
    ({"k" * 41: "v"}, f"Invalid key: {'k' * 41} must be a string under 40 characters"),
    ({"k": "x" * 501}, f"Invalid val: {'x' * 501} must be a string under 500 characters"),
])
def test_metadata_over_a_limit_is_refused_in_stripes_words(http, metadata, message):
    data = {f"metadata[{k}]": v for k, v in metadata.items()}
    err = error(http, "/v1/customers", data)
    assert err == {"type": "invalid_request_error", "message": message,
                   "param": "metadata"}


def test_nested_metadata_names_its_param(http, stripe_client):
    price = monthly_price(stripe_client)
    err = error(http, "/v1/checkout/sessions", {
        "mode": "subscription", "success_url": "http://127.0.0.1/x",
        "line_items[0][price]": price.id, "line_items[0][quantity]": "1",
        "subscription_data[metadata][" + "k" * 41 + "]": "v"})
    assert err["param"] == "subscription_data[metadata]"


def test_an_update_may_not_push_metadata_past_50_keys(http, stripe_client):
    customer = stripe_client.v1.customers.create(
        {"metadata": {f"k{i}": "v" for i in range(50)}})
    err = error(http, f"/v1/customers/{customer.id}", {"metadata[one_more]": "v"})
    assert err["message"] == "Metadata can have up to 50 keys, but you've set 51."
    # Deleting one key while adding another stays within the limit.
    updated = stripe_client.v1.customers.update(
        customer.id, {"metadata": {"k0": "", "one_more": "v"}})
    assert len(updated.metadata.to_dict()) == 50


def test_a_refused_limit_is_not_kept_for_idempotent_replay(http):
    headers = {"Idempotency-Key": "limit-1"}
    data = {f"metadata[k{i}]": "v" for i in range(51)}
    assert http.post(http.base + "/v1/customers", data=data,
                     headers=headers).status_code == 400
    again = http.post(http.base + "/v1/customers", data={"email": "a@example.com"},
                      headers=headers)
    assert again.status_code == 200 and "Idempotent-Replayed" not in again.headers


def test_at_most_ten_lookup_keys_per_list(stripe_client, http):
    keys = [f"key_{i}" for i in range(11)]
    for key in keys[:10]:
        one_time_price(stripe_client, lookup_key=key)
    found = stripe_client.v1.prices.list({"lookup_keys": keys[:10], "limit": 100})
    assert len(found.data) == 10
    err = error(http, "/v1/prices", {f"lookup_keys[{i}]": k for i, k in enumerate(keys)},
                method="get")
    assert err == {"type": "invalid_request_error", "param": "lookup_keys",
                   "message": "Array lookup_keys exceeded maximum 10 allowed elements."}


@pytest.mark.parametrize("path", ["/v1/payment_intents", "/v1/setup_intents"])
def test_payment_method_types_is_refused_on_intents(http, path):
    data = {"amount": "500", "currency": "gbp"} if "payment" in path else {}
    err = error(http, path, {**data, "payment_method_types[0]": "card"})
    assert err["code"] == "payment_method_types_no_longer_supported"
    assert err["param"] == "payment_method_types"


def test_payment_method_types_is_refused_on_intent_update_and_confirm(stripe_client, http):
    intent = stripe_client.v1.payment_intents.create({"amount": 500, "currency": "gbp"})
    for path in (f"/v1/payment_intents/{intent.id}",
                 f"/v1/payment_intents/{intent.id}/confirm"):
        err = error(http, path, {"payment_method_types[0]": "card"})
        assert err["code"] == "payment_method_types_no_longer_supported"


def test_payment_method_types_is_refused_on_checkout(stripe_client):
    price = one_time_price(stripe_client)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        payment_session(stripe_client, price, payment_method_types=["card"])
    assert caught.value.code == "payment_method_types_no_longer_supported"


def test_allowed_payment_method_types_replaces_it(stripe_client):
    intent = stripe_client.v1.payment_intents.create({
        "amount": 500, "currency": "gbp", "allowed_payment_method_types": ["card", "ideal"]})
    assert intent.payment_method_types == ["card"]
    session = payment_session(stripe_client, one_time_price(stripe_client),
                              allowed_payment_method_types=["card"])
    assert session.payment_method_types == ["card"]
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe_client.v1.payment_intents.create({
            "amount": 500, "currency": "gbp", "allowed_payment_method_types": ["card"],
            "excluded_payment_method_types": ["ideal"]})
    assert caught.value.code == "parameters_exclusive"


def test_checkout_ui_mode_is_hosted_page_by_default(stripe_client):
    session = payment_session(stripe_client, one_time_price(stripe_client))
    assert session.ui_mode == "hosted_page"
    explicit = payment_session(stripe_client, one_time_price(stripe_client),
                               ui_mode="hosted_page")
    assert explicit.ui_mode == "hosted_page" and explicit.url


@pytest.mark.parametrize("old", ["hosted", "embedded", "custom"])
def test_checkout_ui_mode_values_of_older_versions_are_refused(http, stripe_client, old):
    price = one_time_price(stripe_client)
    err = error(http, "/v1/checkout/sessions", {
        "mode": "payment", "success_url": "http://127.0.0.1/x", "ui_mode": old,
        "line_items[0][price]": price.id, "line_items[0][quantity]": "1"})
    assert err["param"] == "ui_mode" and "hosted_page" in err["message"]


def test_embedded_checkout_is_not_served(http, stripe_client):
    price = one_time_price(stripe_client)
    err = error(http, "/v1/checkout/sessions", {
        "mode": "payment", "success_url": "http://127.0.0.1/x",
        "ui_mode": "embedded_page", "line_items[0][price]": price.id})
    assert err["param"] == "ui_mode"
