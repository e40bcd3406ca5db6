"""Paying twice, prevented (issue 20): a subscriber buying Gold (Premium for good) is told the
subscription would add nothing and may have it stopped at the end of the period already
paid, once the upgrade is paid; settings points out a subscription a level makes unneeded."""

import pytest

from app.auth.models import Level
from app.billing import gateway
from tests.conftest import csrf_token
from tests.mail_fixtures import jobs, run_worker
from tests.test_subscriptions_pages import (  # noqa: F401  (fixtures and helpers)
    add_subscription,
    alice,
    app_config,
    day,
    pay,
    squashed,
    text,
    the_subscription,
)
from tests.upgrade_helpers import level_of

BOX = 'name="stop_subscription" value="y"'


def buy(client, upgrade: str, stop: bool | None, recipient: str = ""):
    data = {"upgrade": upgrade, "recipient": recipient,
            "csrf_token": csrf_token(client, "/user_upgrades/new")}
    if stop:
        data["stop_subscription"] = "y"
    return client.post("/user_upgrades", data=data)


def pay_upgrade(app, client, emu, response) -> int:
    """Complete the upgrade's Checkout and come back to its receipt; the upgrade's id."""
    assert response.status_code == 303, response.get_data(as_text=True)
    session_id = response.location.rsplit("/", 1)[1]
    emu("POST", f"checkout/sessions/{session_id}/complete", card="4242424242424242")
    with app.app_context():
        session = gateway.retrieve_checkout_session(session_id)
    upgrade_id = int(session.metadata["upgrade_id"])
    client.get(f"/user_upgrades/{upgrade_id}?session_id={session_id}")
    return upgrade_id


def renewing_at_stripe(app) -> bool:
    sub = the_subscription(app)
    with app.app_context():
        return not gateway.retrieve_subscription(sub.stripe_subscription_id) \
            .cancel_at_period_end


def test_the_upgrade_page_tells_a_subscriber_and_offers_to_stop_it(app, client, alice, emu):
    assert BOX not in client.get("/user_upgrades/new").get_data(as_text=True)  # no sub
    pay(client, emu, "monthly")
    ends = day(the_subscription(app).access_until)
    page = squashed(client.get("/user_upgrades/new").get_data(as_text=True))
    assert "<strong>You subscribe to Premium</strong> (£7.00 a month). Gold and Platinum " \
        "include Premium for good: once your upgrade is paid, the subscription adds " \
        "nothing." in page
    assert f'{BOX} checked>' in page  # ticked at first
    assert ("Stop my subscription at the end of the period already paid, on "
            f"{ends}, once the upgrade is paid: nothing more will be charged for it.") in page
    # Not on a gift: someone else's upgrade does not make the buyer's subscription useless.
    assert BOX not in client.get("/user_upgrades/new?user=alice2").get_data(as_text=True)


def test_ticked_the_subscription_stops_at_the_period_end_once_the_upgrade_is_paid(
        app, client, alice, emu):
    pay(client, emu, "monthly")
    response = buy(client, "gold", stop=True)
    assert renewing_at_stripe(app)  # nothing asked of Stripe before the payment
    assert jobs(app, "stop-unneeded-") == []
    upgrade_id = pay_upgrade(app, client, emu, response)
    assert level_of(app, alice) == "gold"
    assert jobs(app, "stop-unneeded-") == [(f"stop-unneeded-{upgrade_id}", "pending")]
    run_worker(app)
    assert jobs(app, "stop-unneeded-") == [(f"stop-unneeded-{upgrade_id}", "done")]
    assert not renewing_at_stripe(app)
    sub = the_subscription(app)
    assert sub.cancel_at_period_end and sub.status.value == "active"  # the paid month stays
    page = squashed(text(client, "/settings"))
    assert "this subscription adds nothing" not in page
    # The page answering Stripe again (a replayed arrival) queues nothing more.
    client.get(f"/user_upgrades/{upgrade_id}")
    assert len(jobs(app, "stop-unneeded-")) == 1


def test_unticked_the_subscription_goes_on_and_settings_points_it_out(app, client, alice,
                                                                       emu):
    pay(client, emu, "monthly")
    pay_upgrade(app, client, emu, buy(client, "gold", stop=False))
    assert level_of(app, alice) == "gold"
    run_worker(app)
    assert jobs(app, "stop-unneeded-") == [] and renewing_at_stripe(app)
    page = squashed(text(client, "/settings"))
    assert ("Your Gold level already includes Premium for good; this subscription adds "
            "nothing. <a href=\"/subscriptions/cancel\">Cancel it</a>") in page


def test_an_upgrade_left_unpaid_stops_nothing(app, client, alice, emu):
    pay(client, emu, "monthly")
    response = buy(client, "gold", stop=True)  # off to Checkout, never paid
    assert response.status_code == 303
    run_worker(app)
    assert jobs(app, "stop-unneeded-") == [] and renewing_at_stripe(app)
    assert level_of(app, alice) == "member"


@pytest.mark.parametrize("level, status, cancelling, shown", [
    (Level.GOLD, "active", False, True),
    (Level.PLATINUM, "trialing", False, True),
    (Level.GOLD, "active", True, False),  # not renewing: nothing to point out
    (Level.MEMBER, "active", False, False),  # the subscription is what gives Premium
])
def test_settings_points_out_a_subscription_a_level_makes_unneeded(
        app, client, make_user, login, synced_catalog, level, status, cancelling, shown):
    user = make_user("ada", level=level)
    add_subscription(app, user, status=status, cancel=cancelling, trial=status == "trialing")
    login(user)
    page = squashed(text(client, "/settings"))
    assert ("this subscription adds nothing" in page) is shown
