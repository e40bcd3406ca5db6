"""Billing portal: configurations (create, update, list, products on expand), sessions
with `configuration`, `return_url` and `flow_data`, and the hosted page, whose cancel,
resume and switch emit the same events as the API."""
import re

import pytest
import requests
import stripe

from .conftest import event_types
from .helpers import events_of, subscribe

RETURN = "http://127.0.0.1:5000/settings"


@pytest.fixture
def plans(stripe_client):
    product = stripe_client.v1.products.create({"name": "Premium"})

    def price(amount, interval):
        return stripe_client.v1.prices.create({
            "product": product.id, "currency": "gbp", "unit_amount": amount,
            "recurring": {"interval": interval}})

    return product, price(700, "month"), price(7000, "year")


@pytest.fixture
def config(stripe_client, plans):
    product, monthly, annual = plans
    return stripe_client.v1.billing_portal.configurations.create({
        "business_profile": {"headline": "Lumen billing"},
        "features": {
            "subscription_cancel": {"enabled": True, "mode": "at_period_end"},
            "subscription_update": {
                "enabled": True, "default_allowed_updates": ["price"],
                "proration_behavior": "create_prorations",
                "products": [{"product": product.id,
                              "prices": [monthly.id, annual.id]}]},
            "payment_method_update": {"enabled": True},
            "invoice_history": {"enabled": True}}})


def portal(client, sub, config, **extra):
    return client.v1.billing_portal.sessions.create({
        "customer": sub.customer, "configuration": config.id, "return_url": RETURN,
        **extra})


def post(url, **form):
    return requests.post(url, data=form, allow_redirects=False)


def test_configuration_create_update_list(stripe_client, config, plans):
    assert config.is_default is False and config.active
    assert config.features.subscription_update.proration_behavior == "create_prorations"
    assert "products" not in config.features.subscription_update
    expanded = stripe_client.v1.billing_portal.configurations.retrieve(
        config.id, {"expand": ["features.subscription_update.products"]})
    assert expanded.features.subscription_update.products[0].prices == \
        [plans[1].id, plans[2].id]
    updated = stripe_client.v1.billing_portal.configurations.update(
        config.id, {"features": {"subscription_cancel": {"mode": "immediately"}}})
    assert updated.features.subscription_cancel.mode == "immediately"
    assert updated.features.subscription_cancel.enabled  # the rest is kept
    listed = stripe_client.v1.billing_portal.configurations.list().data
    assert {c.id for c in listed} >= {config.id}
    assert [c.is_default for c in listed].count(True) == 1
    assert [e.type for e in reversed(stripe_client.v1.events.list(
        {"type": "billing_portal.configuration.*"}).data)] == [
        "billing_portal.configuration.created", "billing_portal.configuration.updated"]


def test_configuration_errors(stripe_client, plans):
    configs = stripe_client.v1.billing_portal.configurations
    with pytest.raises(stripe.InvalidRequestError) as caught:
        configs.create({"features": {"subscription_update": {"enabled": True}}})
    assert caught.value.param == "features[subscription_update][products]"
    with pytest.raises(stripe.InvalidRequestError) as caught:
        configs.create({"features": {"subscription_cancel": {"mode": "immediately"}}})
    assert caught.value.param == "features[subscription_cancel][enabled]"
    with pytest.raises(stripe.InvalidRequestError):
        configs.create({"features": {"subscription_update": {
            "enabled": True, "products": [{"product": plans[0].id,
                                           "prices": ["price_missing"]}]}}})


def test_a_session_without_configuration_uses_the_default(stripe_client, control):
    sub = subscribe(stripe_client, control)
    session = stripe_client.v1.billing_portal.sessions.create(
        {"customer": sub.customer, "return_url": RETURN})
    default = stripe_client.v1.billing_portal.configurations.retrieve(
        session.configuration)
    assert default.is_default and session.flow is None and session.return_url == RETURN
    page = requests.get(session.url)
    assert page.status_code == 200 and "Cancel plan" in page.text


def test_hosted_cancel_and_resume_emit_what_the_api_emits(stripe_client, control, config):
    by_portal = subscribe(stripe_client, control)
    by_api = subscribe(stripe_client, control)
    session = portal(stripe_client, by_portal, config)
    resp = post(f"{session.url}/subscriptions/{by_portal.id}", action="cancel")
    assert resp.status_code == 303
    stripe_client.v1.subscriptions.update(by_api.id, {"cancel_at_period_end": True})
    events = events_of(stripe_client, "customer.subscription.updated")[-2:]
    assert [e.data.object.id for e in events] == [by_portal.id, by_api.id]
    assert events[0].data.previous_attributes.to_dict().keys() == \
        events[1].data.previous_attributes.to_dict().keys()
    canceled = stripe_client.v1.subscriptions.retrieve(by_portal.id)
    assert canceled.cancel_at_period_end and canceled.status == "active"
    assert "Renew plan" in requests.get(session.url).text
    post(f"{session.url}/subscriptions/{by_portal.id}", action="resume")
    assert not stripe_client.v1.subscriptions.retrieve(by_portal.id).cancel_at_period_end


def test_hosted_switch_prorates_as_configured(stripe_client, control, config, plans):
    _, monthly, annual = plans
    sub = subscribe(stripe_client, control, price=monthly)
    session = portal(stripe_client, sub, config)
    page = requests.get(session.url).text
    assert "Switch to £70.00 / year" in page
    resp = post(f"{session.url}/subscriptions/{sub.id}", action="switch", price=annual.id)
    assert resp.status_code == 303
    switched = stripe_client.v1.subscriptions.retrieve(sub.id)
    assert switched["items"].data[0].price.id == annual.id
    invoice = stripe_client.v1.invoices.retrieve(switched.latest_invoice)
    assert invoice.billing_reason == "subscription_update" and invoice.amount_paid < 7000
    assert event_types(stripe_client)[-1] == "customer.subscription.updated"
    # A price the configuration does not offer is refused on the page.
    other = stripe_client.v1.prices.create({"product": plans[0].id, "currency": "gbp",
                                            "unit_amount": 1, "recurring":
                                            {"interval": "month"}})
    refused = post(f"{session.url}/subscriptions/{sub.id}", action="switch",
                   price=other.id)
    assert refused.status_code == 400 and "not offered" in refused.text


def test_a_switch_during_a_trial_ends_it_by_default(stripe_client, control, config, plans):
    sub = subscribe(stripe_client, control, trial=14, price=plans[1])
    session = portal(stripe_client, sub, config)
    post(f"{session.url}/subscriptions/{sub.id}", action="switch", price=plans[2].id)
    switched = stripe_client.v1.subscriptions.retrieve(sub.id)
    assert switched.status == "active"  # trial_update_behavior: end_trial
    assert stripe_client.v1.invoices.retrieve(switched.latest_invoice).amount_paid == 7000


def test_cancel_flow_redirects_after_completion(stripe_client, control, config):
    sub = subscribe(stripe_client, control)
    session = portal(stripe_client, sub, config, flow_data={
        "type": "subscription_cancel", "subscription_cancel": {"subscription": sub.id},
        "after_completion": {"type": "redirect",
                             "redirect": {"return_url": RETURN + "?done=1"}}})
    assert session.flow.type == "subscription_cancel"
    assert session.flow.subscription_cancel.subscription == sub.id
    assert session.flow.after_completion.redirect.return_url == RETURN + "?done=1"
    page = requests.get(session.url).text
    assert "Cancel your plan" in page
    resp = post(f"{session.url}/subscriptions/{sub.id}", action="cancel")
    assert resp.status_code == 303 and resp.headers["Location"] == RETURN + "?done=1"
    assert stripe_client.v1.subscriptions.retrieve(sub.id).cancel_at_period_end
    # Afterwards the session shows the portal's home page.
    assert "Renew plan" in requests.get(session.url).text


def test_update_flow_offers_the_configured_prices(stripe_client, control, config, plans):
    sub = subscribe(stripe_client, control, price=plans[1])
    session = portal(stripe_client, sub, config, flow_data={
        "type": "subscription_update", "subscription_update": {"subscription": sub.id},
        "after_completion": {"type": "hosted_confirmation",
                             "hosted_confirmation": {"custom_message": "All set."}}})
    page = requests.get(session.url).text
    assert "Change your plan" in page and plans[2].id in page
    resp = post(f"{session.url}/subscriptions/{sub.id}", action="switch",
                price=plans[2].id)
    assert resp.status_code == 200 and "All set." in resp.text


def test_update_confirm_flow(stripe_client, control, config, plans):
    sub = subscribe(stripe_client, control, price=plans[1])
    item = sub["items"].data[0]
    session = portal(stripe_client, sub, config, flow_data={
        "type": "subscription_update_confirm",
        "subscription_update_confirm": {"subscription": sub.id,
                                        "items": [{"id": item.id,
                                                   "price": plans[2].id}]}})
    assert session.flow.subscription_update_confirm["items"][0].price == plans[2].id
    assert "Confirm your new plan" in requests.get(session.url).text
    post(f"{session.url}/subscriptions/{sub.id}", action="switch", price=plans[2].id)
    assert stripe_client.v1.subscriptions.retrieve(sub.id)["items"].data[0].price.id == \
        plans[2].id


def test_payment_method_update_flow(stripe_client, control, config):
    sub = subscribe(stripe_client, control, card="4000000000000341", trial=7)
    session = portal(stripe_client, sub, config,
                     flow_data={"type": "payment_method_update"})
    page = requests.get(session.url).text
    assert "Update your payment method" in page
    resp = post(f"{session.url}/payment_methods", card="4242424242424242")
    assert resp.status_code == 303
    customer = stripe_client.v1.customers.retrieve(sub.customer)
    updated = stripe_client.v1.subscriptions.retrieve(sub.id)
    assert updated.default_payment_method == \
        customer.invoice_settings.default_payment_method
    assert event_types(stripe_client)[-3:] == [
        "payment_method.attached", "customer.updated", "customer.subscription.updated"]
    control.post("/clock/advance", {"seconds": 7 * 86400 + 60})
    assert stripe_client.v1.subscriptions.retrieve(sub.id).status == "active"


@pytest.mark.parametrize("flow_data, param", [
    ({"type": "subscription_cancel"}, "flow_data[subscription_cancel][subscription]"),
    ({"type": "subscription_cancel", "subscription_cancel": {"subscription": "sub_nope"}},
     "id"),
    ({"type": "payment_method_update", "after_completion": {"type": "redirect"}},
     "flow_data[after_completion][redirect][return_url]"),
])
def test_flow_data_is_checked(stripe_client, control, config, flow_data, param):
    sub = subscribe(stripe_client, control)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        portal(stripe_client, sub, config, flow_data=flow_data)
    assert caught.value.param == param


def test_flows_need_their_feature_and_the_customers_subscription(stripe_client, control):
    sub = subscribe(stripe_client, control)
    other = subscribe(stripe_client, control)
    bare = stripe_client.v1.billing_portal.configurations.create(
        {"features": {"invoice_history": {"enabled": True}}})
    with pytest.raises(stripe.InvalidRequestError) as caught:
        portal(stripe_client, sub, bare, flow_data={"type": "payment_method_update"})
    assert caught.value.param == "flow_data[type]"
    default = stripe_client.v1.billing_portal.sessions.create(
        {"customer": sub.customer}).configuration
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.billing_portal.sessions.create({
            "customer": sub.customer, "configuration": default,
            "flow_data": {"type": "subscription_cancel",
                          "subscription_cancel": {"subscription": other.id}}})
    inactive = stripe_client.v1.billing_portal.configurations.update(
        bare.id, {"active": False})
    with pytest.raises(stripe.InvalidRequestError) as caught:
        portal(stripe_client, sub, inactive)
    assert caught.value.param == "configuration"


def test_the_home_page_lists_invoices_and_returns(stripe_client, control, config):
    sub = subscribe(stripe_client, control)
    session = portal(stripe_client, sub, config)
    page = requests.get(session.url).text
    assert "Invoice history" in page and "£7.00" in page
    assert re.search(r'id="return" href="http://127.0.0.1:5000/settings"', page)


def test_hosted_switch_emits_what_the_api_emits(stripe_client, control, config, plans):
    _, monthly, annual = plans
    by_portal = subscribe(stripe_client, control, price=monthly)
    by_api = subscribe(stripe_client, control, price=monthly)
    session = portal(stripe_client, by_portal, config)
    mark = len(event_types(stripe_client))
    post(f"{session.url}/subscriptions/{by_portal.id}", action="switch", price=annual.id)
    from_portal = event_types(stripe_client)[mark:]
    item = by_api["items"].data[0]
    stripe_client.v1.subscriptions.update(by_api.id, {
        "items": [{"id": item.id, "price": annual.id}],
        "proration_behavior": "create_prorations"})
    assert event_types(stripe_client)[mark + len(from_portal):] == from_portal
    assert from_portal[0] == "invoiceitem.created"
    assert from_portal[-1] == "customer.subscription.updated"
