"""Settings actions for subscribers (switch, cancel, resume, portal), settings without
Stripe, billing switched off, and the end of a subscription delivered by webhooks."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.auth.models import Level, utcnow
from app.billing import gateway
from app.billing.models import BillingInfo
from app.extensions import db
from app.subscriptions.models import (
    CancellationWaiver,
    Subscription,
    SubscriptionCheckout,
    SubscriptionStatus,
)
from app.timeline import CHARGED_AFTER
from tests.conftest import csrf_token
from tests.mail_fixtures import app_clock  # noqa: F401  (fixture)
from tests.stripe_objects import new_id
from tests.test_subscriptions_pages import (  # noqa: F401  (fixtures and helpers)
    DAY,
    add_subscription,
    alice,
    app_config,
    day,
    pay,
    post_action,
    rows,
    session_id_of,
    squashed,
    subscribe,
    text,
    the_subscription,
)

# --- switch, cancel, resume, portal ---------------------------------------------------

def test_switch_monthly_to_annual_previews_the_charge_then_changes_the_plan(app, client,
                                                                            alice, emu):
    pay(client, emu, "monthly")
    preview = squashed(client.get("/subscriptions/switch").get_data(as_text=True))
    assert "Switch to annual billing?" in preview
    # £70.00 for the year, less the unused month (all of it, a moment after paying).
    assert 'Charged today</span> <strong class="switch-amount">£63.00' in preview
    proration_date = re.search(r'name="proration_date" value="(\d+)"', preview).group(1)
    response = post_action(client, "/subscriptions/switch", to_interval="annual",
                           proration_date=proration_date)
    assert response.status_code == 303 and response.location == "/settings"
    sub = the_subscription(app)
    assert sub.interval == "year" and sub.amount == 7000 and sub.status.value == "active"
    page = squashed(client.get("/settings").get_data(as_text=True))
    assert "You are now on Premium (annual)." in page
    assert f"Renews on {day(sub.current_period_end + CHARGED_AFTER)} for £70.00." in page
    assert "Switch to monthly billing" in page


def test_switch_during_the_trial_charges_nothing_today_and_keeps_the_trial(app, client,
                                                                           alice, emu):
    pay(client, emu, "annual")
    trial_end = the_subscription(app).trial_end
    preview = squashed(client.get("/subscriptions/switch").get_data(as_text=True))
    assert 'Today</span> <strong class="switch-amount">£0.00' in preview
    assert f"Your free trial carries on until {day(trial_end)}" in preview
    proration_date = re.search(r'name="proration_date" value="(\d+)"', preview).group(1)
    post_action(client, "/subscriptions/switch", to_interval="monthly",
                proration_date=proration_date)
    sub = the_subscription(app)
    assert (sub.interval, sub.status.value, sub.trial_end) == ("month", "trialing", trial_end)


def test_switch_to_the_current_plan_is_refused(app, client, alice, emu):
    pay(client, emu, "monthly")
    response = post_action(client, "/subscriptions/switch", to_interval="monthly",
                           proration_date="1800000000")
    assert response.status_code == 303
    assert "That is your current plan already." in text(client, "/settings")
    assert the_subscription(app).interval == "month"


def test_cancel_confirmation_then_cancel_then_resume(app, client, alice, emu):
    pay(client, emu, "monthly")
    ends = day(the_subscription(app).current_period_end)
    charged = day(the_subscription(app).current_period_end + CHARGED_AFTER)
    confirm = squashed(client.get("/subscriptions/cancel").get_data(as_text=True))
    assert f"You keep Premium until <strong>{ends}</strong>" in confirm
    assert "nothing more is charged" in confirm
    response = post_action(client, "/subscriptions/cancel")
    assert response.status_code == 303 and response.location == "/settings"
    page = squashed(client.get("/settings").get_data(as_text=True))
    assert f"You keep Premium until {ends}" in page  # the flash
    assert f"Cancelled: Premium ends on {ends}." in page
    assert "Resume subscription" in page and "Cancel subscription" not in page
    assert "Switch to annual" not in page
    assert the_subscription(app).cancel_at_period_end

    post_action(client, "/subscriptions/resume")
    page = squashed(client.get("/settings").get_data(as_text=True))
    assert "Your subscription continues" in page and f"Renews on {charged}" in page
    assert not the_subscription(app).cancel_at_period_end
    # A second resume is refused with a sentence, not an error page.
    post_action(client, "/subscriptions/resume")
    assert "This subscription is renewing already." in text(client, "/settings")


def test_cancel_during_the_trial_says_nothing_will_be_charged(app, client, alice, emu):
    pay(client, emu, "annual")
    trial_end = day(the_subscription(app).trial_end)
    confirm = squashed(client.get("/subscriptions/cancel").get_data(as_text=True))
    assert f"You keep Premium until <strong>{trial_end}</strong>, when your free trial ends" \
        in confirm
    post_action(client, "/subscriptions/cancel")
    page = squashed(client.get("/settings").get_data(as_text=True))
    assert f"Cancelled: your free trial ends on {trial_end}" in page
    assert "Nothing will be charged." in page


def test_actions_without_a_subscription_say_so(app, client, alice):
    assert "You have no subscription to change." in text(client, "/subscriptions/cancel")
    post_action(client, "/subscriptions/resume")
    assert "You have no subscription to change." in text(client, "/settings")


def test_actions_need_the_csrf_token(app, client, alice, emu):
    pay(client, emu, "monthly")
    assert client.post("/subscriptions/cancel").status_code == 400
    assert not the_subscription(app).cancel_at_period_end


def test_portal_opens_stripe_and_the_card_flow(app, client, alice, emu, emulator):
    pay(client, emu, "monthly")
    response = post_action(client, "/subscriptions/portal")
    assert response.status_code == 303
    assert response.location.startswith(emulator.url + "/billing_portal/")
    card = post_action(client, "/subscriptions/portal?flow=card")
    assert card.status_code == 303 and card.location.startswith(emulator.url)
    assert "Update your card" not in text(client, "/settings")  # only when past due


def test_portal_without_a_stripe_customer_says_so(app, client, alice):
    response = post_action(client, "/subscriptions/portal")
    assert response.status_code == 303
    assert "There is no billing account to manage yet" in text(client, "/settings")


# --- settings without Stripe ----------------------------------------------------------

def test_past_due_warns_with_the_grace_end_and_offers_the_card_fix(app, client, alice):
    add_subscription(app, alice, status="past_due", failed_days_ago=2)
    failed = the_subscription(app).payment_failed_at
    page = squashed(client.get("/settings").get_data(as_text=True))
    assert "Your last payment did not go through." in page
    assert f"You keep Premium until {day(failed + timedelta(days=7))}" in page
    assert 'action="/subscriptions/pay"' in page and ">Pay now</button>" in page
    assert '<a class="button" href="/settings/billing">Use another card</a>' in page
    assert client.get("/premium").status_code == 200  # access held in the grace period


def test_history_lists_past_subscriptions(app, client, alice):
    add_subscription(app, alice, status="canceled", days_ago=400, interval="year")
    add_subscription(app, alice, status="active", days_ago=3)
    page = squashed(client.get("/settings").get_data(as_text=True))
    assert "Past subscriptions" in page
    history = page.split('id="history-heading"', 1)[1].split("</section>", 1)[0]
    assert "Premium (annual)" in history and ">Cancelled</span>" in history
    assert "Premium (monthly)" not in history  # the current one is above, not in history


def test_settings_without_a_subscription(client, make_user, login):
    login(make_user("member"))
    page = client.get("/settings").get_data(as_text=True)
    assert "You are on the free plan." in page and "Past subscriptions" not in page
    assert 'href="/settings" aria-current="page">Settings</a>' in page  # in the header, marked
    login_gold = make_user("goldie", level=Level.GOLD)
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    login(login_gold)
    assert "includes Premium access, for good" in client.get("/settings").get_data(as_text=True)


def test_settings_needs_a_log_in(client):
    response = client.get("/settings")
    assert response.status_code == 302 and "/login" in response.location
    assert 'href="/settings"' not in client.get("/").get_data(as_text=True)


def count_queries(app, client, path: str) -> int:
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get(path)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200
    return len(statements)


def test_settings_query_count_is_the_same_for_1_and_100_past_subscriptions(app, client,
                                                                           make_user, login):
    counts = {}
    for past in (1, 100):
        user = make_user(f"history{past}")
        with app.app_context():
            db.session.add(BillingInfo(user_id=user.id, stripe_customer_id=f"cus_{past}"))
            db.session.commit()
        for n in range(past):
            add_subscription(app, user, status="canceled", days_ago=800 + n)
        add_subscription(app, user, status="active")
        login(user)
        page = client.get("/settings").get_data(as_text=True)
        assert page.count('<td data-label="Started">') == past
        counts[past] = count_queries(app, client, "/settings")
        client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert counts[1] == counts[100] <= 10, counts


# --- billing switched off -------------------------------------------------------------

@pytest.fixture
def billing_off(app):
    app.config.update(BILLING_ENABLED=False, STRIPE_SECRET_KEY="")


def test_billing_off_disables_the_buttons_and_refuses_with_503(app, client, alice,
                                                               billing_off):
    page = client.get("/pricing").get_data(as_text=True)
    assert "Subscriptions are not available at the moment." in page
    assert re.search(r'<button type="submit" class="button button-primary button-block"'
                     r' disabled>', page)
    response = subscribe(client, "monthly")
    assert response.status_code == 503
    assert "Subscriptions are not available at the moment. Nothing was charged" in \
        response.get_data(as_text=True)
    assert rows(app, SubscriptionCheckout) == [] and rows(app, CancellationWaiver) == []
    assert post_action(client, "/subscriptions/cancel").status_code == 503
    assert client.get("/subscriptions/switch").status_code == 503


def test_billing_off_settings_still_render_with_buttons_disabled(app, client, alice,
                                                                 billing_off):
    add_subscription(app, alice, status="past_due", failed_days_ago=1)
    with app.app_context():
        db.session.add(BillingInfo(user_id=alice.id, stripe_customer_id="cus_test"))
        db.session.commit()
    page = client.get("/settings").get_data(as_text=True)
    assert re.search(r"disabled>Pay now", page)
    assert re.search(r"disabled>Open the billing portal", page)


# --- with webhooks: the emulator's clock moves past the period end ---------------------

def test_cancelled_subscription_ends_at_the_period_end_and_joins_the_history(app, site, client,
                                                                            alice, emu):
    pay(client, emu, "monthly")
    post_action(client, "/subscriptions/cancel")
    ends = the_subscription(app).current_period_end
    assert f"Cancelled: Premium ends on {day(ends)}." in squashed(text(client, "/settings"))
    assert client.get("/premium").status_code == 200

    emu("POST", "clock/advance", seconds=31 * DAY)
    emu("POST", "flush")
    sub = the_subscription(app)
    assert sub.status is SubscriptionStatus.CANCELED and sub.ended_at is not None
    assert client.get("/premium").status_code == 403
    page = squashed(client.get("/settings").get_data(as_text=True))
    assert "You are on the free plan." in page
    history = page.split('id="history-heading"', 1)[1]
    assert "Premium (monthly)" in history and ">Cancelled</span>" in history
    assert f'<td data-label="Ended">{day(sub.ended_at)}</td>' in history
    # Free to subscribe again.
    assert 'action="/subscriptions"' in client.get("/pricing").get_data(as_text=True)


def test_return_and_webhook_recording_the_new_subscription_at_once_make_one_row(
        app, client, alice, emu, monkeypatch):
    """The return from Checkout and `customer.subscription.created` both find no row and
    both create it: the second must wait for the first and update its row instead."""
    import threading

    from app.billing.objects import parse
    from app.subscriptions import service
    from app.subscriptions.views import SubscriptionView

    session_id = session_id_of(subscribe(client, "monthly"))
    emu("POST", f"checkout/sessions/{session_id}/complete", card="4242424242424242")
    with app.app_context():
        session = gateway.retrieve_checkout_session(session_id, expand=["subscription"])
        view = parse(SubscriptionView, session.subscription.to_dict(), where="test")

    both_looked = threading.Barrier(2, timeout=10)
    owner = service._owner

    def owner_after_both_looked(sub):
        both_looked.wait()  # each has found no row by now
        return owner(sub)

    monkeypatch.setattr(service, "_owner", owner_after_both_looked)
    errors: list[BaseException] = []

    def record():
        try:
            with app.app_context():
                service.apply_subscription(view, snapshot_at=service.now_snapshot(),
                                           authoritative=True)
                db.session.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=record) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert the_subscription(app).status is SubscriptionStatus.ACTIVE


def test_a_switch_preview_left_open_past_a_renewal_is_shown_afresh(app, client, alice, emu,
                                                                    app_clock):
    """A preview priced in the last period (its proration_date is outside the current one)
    charges nothing: the page says it is out of date and shows a fresh preview to confirm."""
    pay(client, emu, "monthly")
    preview = client.get("/subscriptions/switch").get_data(as_text=True)
    stale = re.search(r'name="proration_date" value="(\d+)"', preview).group(1)
    emu("POST", "clock/advance", seconds=32 * DAY)  # the month renews (and is paid)
    app_clock(emu)
    with app.app_context():
        invoices_before = len(gateway.client().v1.invoices.list().data)

    response = post_action(client, "/subscriptions/switch", to_interval="annual",
                           proration_date=stale)
    assert response.status_code == 409
    page = squashed(response.get_data(as_text=True))
    assert "This preview was out of date: a new billing period has started since it was " \
        "made. Here is a fresh one; nothing was charged." in page
    assert "Switch to annual billing?" in page and "Charged today" in page
    fresh = re.search(r'name="proration_date" value="(\d+)"', page).group(1)
    assert int(fresh) > int(stale)
    assert "payment provider" not in page
    with app.app_context():
        assert len(gateway.client().v1.invoices.list().data) == invoices_before
    assert the_subscription(app).interval == "month"

    # The fresh preview goes through.
    assert post_action(client, "/subscriptions/switch", to_interval="annual",
                       proration_date=fresh).status_code == 303
    assert the_subscription(app).interval == "year"
