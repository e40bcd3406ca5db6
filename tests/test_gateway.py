"""The Stripe gateway: one configured client, idempotent creates, domain errors."""

import pytest

from app.billing import gateway
from app.billing.errors import BillingDisabled, StripeRejected, StripeUnavailable


@pytest.fixture
def app_config(emulated_config):
    return emulated_config


def test_client_uses_configured_base_retries_and_pinned_version(app, emulator):
    import stripe

    with app.app_context():
        client = gateway.client()
        assert client is gateway.client()  # built once per app
        requestor = client._requestor
        assert requestor.base_addresses["api"] == emulator.url
        assert requestor._options.max_network_retries == gateway.NETWORK_RETRIES
        product = gateway.create_product("Thing", "A thing", "thing", idempotency_key="p-1")
        assert product.last_response.headers["Stripe-Version"] == stripe.api_version


def test_creates_with_the_same_idempotency_key_return_the_same_object(app):
    with app.app_context():
        first = gateway.create_product("Thing", "A thing", "thing", idempotency_key="product-7")
        again = gateway.create_product("Thing", "A thing", "thing", idempotency_key="product-7")
        other = gateway.create_product("Thing", "A thing", "thing", idempotency_key="product-8")
    assert first.id == again.id != other.id


def test_stripe_refusal_becomes_domain_error(app):
    with app.app_context(), pytest.raises(StripeRejected) as info:
        gateway.retrieve_checkout_session("cs_does_not_exist")
    assert "Nothing was charged" in str(info.value)


def test_unreachable_stripe_becomes_unavailable(app):
    app.config["STRIPE_API_BASE"] = "http://127.0.0.1:9"
    with app.app_context(), pytest.raises(StripeUnavailable):
        gateway.prices_by_lookup_key(["gold"])


def test_disabled_billing_has_no_client(app):
    app.config["BILLING_ENABLED"] = False
    with app.app_context(), pytest.raises(BillingDisabled):
        gateway.client()


def test_routes_turn_billing_errors_into_clear_pages(app, client):
    @app.get("/needs-stripe")
    def needs_stripe():
        raise StripeUnavailable()

    response = client.get("/needs-stripe")
    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert "did not answer" in page and "Nothing was charged" in page
