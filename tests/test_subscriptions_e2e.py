"""Acceptance 6: the emulator delivers a subscription's whole life shuffled and duplicated;
the local row ends as Stripe's subscription is."""

import re

import pytest

from app.billing import gateway
from tests.mail_fixtures import app_clock  # noqa: F401  (fixture)
from tests.test_subscriptions_pages import (  # noqa: F401  (fixtures)
    DAY,
    alice,
    app_config,
    pay,
    post_action,
    the_subscription,
)


@pytest.mark.parametrize("misbehaviour", [{"duplicate": True, "shuffle_window": 6},
                                          {"shuffle_window": 10, "delay_ms": 30}])
def test_shuffled_and_duplicated_events_end_in_the_right_row(app, site, client, alice, emu,
                                                            app_clock, misbehaviour):
    # Our clock moves with Stripe's, as in production: the row keeps the newest snapshot by
    # comparing events' `created` (Stripe's clock) with the moment we applied Stripe's own
    # answer to a change (our clock). With only the emulator's clock moved, the trial's end
    # (stamped 14 days ahead) delivered after the cancel (stamped today) looked newer and
    # undid the cancel in our row.
    emu("POST", "config", **misbehaviour)
    pay(client, emu, "annual")                       # trialing
    preview = client.get("/subscriptions/switch").get_data(as_text=True)
    proration_date = re.search(r'name="proration_date" value="(\d+)"', preview).group(1)
    post_action(client, "/subscriptions/switch", to_interval="monthly",
                proration_date=proration_date)       # monthly, still trialing
    emu("POST", "clock/advance", seconds=15 * DAY)   # trial over: first invoice paid
    app_clock(emu)
    post_action(client, "/subscriptions/cancel")     # cancel at period end
    post_action(client, "/subscriptions/resume")     # and change one's mind
    emu("POST", "clock/advance", seconds=31 * DAY)   # renews
    app_clock(emu)
    emu("POST", "flush")

    row = the_subscription(app)
    with app.app_context():
        stripe_sub = gateway.retrieve_subscription(row.stripe_subscription_id)
    item = stripe_sub["items"]["data"][0]
    assert row.status.value == stripe_sub.status == "active"
    assert row.interval == item["price"]["recurring"]["interval"] == "month"
    assert row.cancel_at_period_end is stripe_sub.cancel_at_period_end is False
    assert int(row.current_period_end.timestamp()) == item["current_period_end"]
    assert row.payment_failed_at is None
    # Everything was delivered (some of it twice), and nothing is left failing.
    deliveries = emu("GET", "deliveries")["data"]
    assert deliveries and all(d["status_code"] == 200 for d in deliveries
                              if d["url"].startswith(site.url))
