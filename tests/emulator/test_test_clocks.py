"""Stripe's test clocks API (`/v1/test_helpers/test_clocks`) through the official SDK:
create, retrieve, list, advance (answered `advancing`, then `ready`), delete (its
customers too); customers created on a clock, and everything of theirs dated at the
clock's time and moved only by it. The emulator's own clock moves the rest."""
import datetime as dt

import pytest
import stripe

from .helpers import (
    DAY,
    HOUR,
    advance_clock,
    events_of,
    monthly_price,
    on_clock,
    subscribe,
    subscribe_customer,
)

START = int(dt.datetime(2027, 1, 15, tzinfo=dt.UTC).timestamp())
FEB_15 = int(dt.datetime(2027, 2, 15, tzinfo=dt.UTC).timestamp())


@pytest.fixture
def clock(stripe_client):
    return stripe_client.v1.test_helpers.test_clocks.create(
        {"frozen_time": START, "name": "January"})


def test_a_clock_has_stripes_shape(stripe_client, clock, control):
    assert clock.object == "test_helpers.test_clock" and clock.id.startswith("clock_")
    assert (clock.frozen_time, clock.name, clock.status) == (START, "January", "ready")
    assert clock.livemode is False and clock.status_details.to_dict() == {}
    now = control.get("/clock")["now"]
    assert abs(clock.created - now) < 5  # created in (the emulator's) real time
    assert clock.deletes_after > clock.created
    again = stripe_client.v1.test_helpers.test_clocks.retrieve(clock.id)
    assert again.to_dict() == clock.to_dict()
    listed = stripe_client.v1.test_helpers.test_clocks.list().data
    assert [c.id for c in listed] == [clock.id]
    assert [e.data.object.id for e in events_of(
        stripe_client, "test_helpers.test_clock.created")] == [clock.id]


def test_frozen_time_is_required_and_clocks_must_exist(stripe_client, http):
    answer = http.post(f"{http.base}/v1/test_helpers/test_clocks", data={"name": "x"})
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "parameter_missing"
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe_client.v1.test_helpers.test_clocks.retrieve("clock_nope")
    assert caught.value.http_status == 404
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe_client.v1.customers.create({"test_clock": "clock_nope"})
    assert (caught.value.http_status, caught.value.error.param) == (404, "test_clock")


def test_a_customer_on_a_clock_lives_at_its_time(stripe_client, clock):
    customer = on_clock(stripe_client, clock)
    assert customer.test_clock == clock.id and customer.created == START
    expanded = stripe_client.v1.customers.retrieve(customer.id, {"expand": ["test_clock"]})
    assert expanded.test_clock.id == clock.id
    created = events_of(stripe_client, "customer.created")[-1]
    assert created.created == START


def test_a_subscription_on_a_clock_starts_and_renews_at_clock_time(
        stripe_client, control, clock):
    customer = on_clock(stripe_client, clock)
    sub = subscribe_customer(stripe_client, control, customer, monthly_price(stripe_client))
    assert (sub.test_clock, sub.created, sub.status) == (clock.id, START, "active")
    item = sub["items"].data[0]
    assert (item.current_period_start, item.current_period_end) == (START, FEB_15)
    first = stripe_client.v1.invoices.retrieve(sub.latest_invoice)
    assert first.test_clock == clock.id and first.created == START
    # The emulator's own clock does not move it...
    control.post("/clock/advance", {"seconds": 400 * DAY})
    assert stripe_client.v1.subscriptions.retrieve(sub.id).latest_invoice == first.id
    # ...its clock does.
    advance_clock(stripe_client, clock, FEB_15 + HOUR)
    renewed = stripe_client.v1.subscriptions.retrieve(sub.id)
    invoice = stripe_client.v1.invoices.retrieve(renewed.latest_invoice)
    assert (invoice.created, invoice.status, invoice.test_clock) == (
        FEB_15, "paid", clock.id)
    assert invoice.status_transitions.paid_at == FEB_15 + HOUR


def test_advance_answers_advancing_then_the_clock_is_ready(stripe_client, clock):
    answer = stripe_client.v1.test_helpers.test_clocks.advance(
        clock.id, {"frozen_time": START + DAY})
    assert answer.status == "advancing"
    assert answer.status_details.advancing.target_frozen_time == START + DAY
    done = stripe_client.v1.test_helpers.test_clocks.retrieve(clock.id)
    assert (done.status, done.frozen_time, done.status_details.to_dict()) == (
        "ready", START + DAY, {})
    advancing = events_of(stripe_client, "test_helpers.test_clock.advancing")
    ready = events_of(stripe_client, "test_helpers.test_clock.ready")
    assert [e.data.object.status for e in advancing] == ["advancing"]
    assert [e.data.object.frozen_time for e in ready] == [START + DAY]


def test_a_clock_only_moves_forward_and_within_stripes_limit(stripe_client, control,
                                                              clock):
    with pytest.raises(stripe.InvalidRequestError) as caught:
        stripe_client.v1.test_helpers.test_clocks.advance(clock.id,
                                                          {"frozen_time": START})
    assert caught.value.error.param == "frozen_time"
    # No subscription: at most two years at once.
    two_years = int(dt.datetime(2029, 1, 15, tzinfo=dt.UTC).timestamp())
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.test_helpers.test_clocks.advance(
            clock.id, {"frozen_time": two_years + 1})
    # A monthly subscription: at most two months at once.
    customer = on_clock(stripe_client, clock)
    subscribe_customer(stripe_client, control, customer, monthly_price(stripe_client))
    march_15 = int(dt.datetime(2027, 3, 15, tzinfo=dt.UTC).timestamp())
    with pytest.raises(stripe.InvalidRequestError):
        stripe_client.v1.test_helpers.test_clocks.advance(
            clock.id, {"frozen_time": march_15 + 1})
    assert advance_clock(stripe_client, clock, march_15).frozen_time == march_15


def test_requests_about_a_clocks_customer_run_at_its_time(stripe_client, control, clock):
    customer = on_clock(stripe_client, clock)
    sub = subscribe_customer(stripe_client, control, customer, monthly_price(stripe_client))
    advance_clock(stripe_client, clock, START + 10 * DAY)
    updated = stripe_client.v1.subscriptions.update(sub.id, {"cancel_at_period_end": True})
    assert updated.canceled_at == START + 10 * DAY
    changed = events_of(stripe_client, "customer.subscription.updated")[-1]
    assert changed.created == START + 10 * DAY
    card = stripe_client.v1.payment_methods.attach("pm_card_visa",
                                                   {"customer": customer.id})
    assert card.created == START + 10 * DAY


def test_deleting_a_clock_deletes_its_customers(stripe_client, control, clock):
    customer = on_clock(stripe_client, clock)
    sub = subscribe_customer(stripe_client, control, customer, monthly_price(stripe_client))
    advance_clock(stripe_client, clock, START + 5 * DAY)
    bystander = subscribe(stripe_client, control)  # on no clock
    gone = stripe_client.v1.test_helpers.test_clocks.delete(clock.id)
    assert (gone.id, gone.deleted) == (clock.id, True)
    assert stripe_client.v1.customers.retrieve(customer.id).deleted is True
    ended = stripe_client.v1.subscriptions.retrieve(sub.id)
    assert (ended.status, ended.ended_at) == ("canceled", START + 5 * DAY)
    types = [e.type for e in reversed(stripe_client.v1.events.list({"limit": 5}).data)]
    assert types[-3:] == ["customer.subscription.deleted", "customer.deleted",
                          "test_helpers.test_clock.deleted"]
    assert events_of(stripe_client, "customer.deleted")[-1].created == START + 5 * DAY
    assert stripe_client.v1.test_helpers.test_clocks.retrieve(clock.id).deleted is True
    assert stripe_client.v1.test_helpers.test_clocks.list().data == []
    assert stripe_client.v1.subscriptions.retrieve(bystander.id).status == "active"


def test_each_clock_keeps_its_own_time(stripe_client, control, clock):
    other = stripe_client.v1.test_helpers.test_clocks.create({"frozen_time": START})
    price = monthly_price(stripe_client)
    mine = subscribe_customer(stripe_client, control, on_clock(stripe_client, clock), price)
    theirs = subscribe_customer(stripe_client, control, on_clock(stripe_client, other),
                                price)
    advance_clock(stripe_client, clock, FEB_15 + 2 * HOUR)
    assert stripe_client.v1.subscriptions.retrieve(mine.id)["items"].data[0] \
        .current_period_start == FEB_15
    assert stripe_client.v1.subscriptions.retrieve(theirs.id)["items"].data[0] \
        .current_period_start == START
    assert stripe_client.v1.test_helpers.test_clocks.retrieve(other.id).frozen_time \
        == START


def test_the_hosted_pages_act_at_the_clocks_time(stripe_client, control, clock):
    import requests

    customer = on_clock(stripe_client, clock)
    session = stripe_client.v1.checkout.sessions.create({
        "mode": "subscription", "customer": customer.id,
        "line_items": [{"price": monthly_price(stripe_client).id, "quantity": 1}],
        "success_url": "http://127.0.0.1:5000/done"})
    assert (session.created, session.expires_at) == (START, START + DAY)
    paid = requests.post(session.url, data={"payment": "4242424242424242"},
                         allow_redirects=False)
    assert paid.status_code == 303
    sub = stripe_client.v1.subscriptions.retrieve(
        stripe_client.v1.checkout.sessions.retrieve(session.id).subscription)
    assert sub.created == START
    advance_clock(stripe_client, clock, START + 3 * DAY)
    portal = stripe_client.v1.billing_portal.sessions.create({"customer": customer.id})
    requests.post(f"{portal.url}/subscriptions/{sub.id}", data={"action": "cancel"})
    assert stripe_client.v1.subscriptions.retrieve(sub.id).canceled_at == START + 3 * DAY
