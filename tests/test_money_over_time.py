"""Money over time (issue 19): the emulator's own events, delivered through the webhook
endpoint in orders Stripe allows, never charge twice, never lose a conversion, never leave a
retry that cannot succeed; and the pages say what Stripe holds."""

import json
import random
import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.billing import gateway
from app.extensions import db
from app.referrals import credit
from app.referrals.models import CreditEntry
from app.subscriptions.models import Subscription
from tests.conftest import csrf_token
from tests.mail_fixtures import app_clock  # noqa: F401  (fixture)
from tests.stripe_objects import event
from tests.subscription_helpers import invoice, subscription, with_customer
from tests.test_referrals_credit import (  # noqa: F401  (fixture)
    alice_refers_bob,
    events,
    ledger,
    the_referral,
)
from tests.test_subscriptions_pages import (
    pay,
    post_action,
    session_id_of,
    squashed,
    subscribe,
    text,
)

DAY = 86_400


@pytest.fixture
def app_config(emulated_config):
    return emulated_config


HOUR = 3600  # Stripe charges a renewal about an hour after the period ends


def day(timestamp: int) -> str:
    return f"{datetime.fromtimestamp(timestamp, UTC):%-d %B %Y}"


def stripe_subscription_of(app, user) -> dict:
    """The user's (only) subscription as Stripe holds it, found by their customer."""
    from app.billing.models import BillingInfo

    with app.app_context():
        customer = db.session.scalar(sa.select(BillingInfo.stripe_customer_id)
                                     .where(BillingInfo.user_id == user.id))
        [found] = gateway.client().v1.subscriptions.list(
            params={"customer": customer, "status": "all"}).data
        return found.to_dict()


def log_out(client) -> None:
    client.post("/logout", data={"csrf_token": csrf_token(client, "/settings")})


def paid_invoices(app) -> list[dict]:
    return [e for e in events(app, "invoice.paid") if e["data"]["object"]["amount_paid"] > 0]


def moves(app) -> list[tuple[int, int, str | None, datetime | None]]:
    """The ledger with the Stripe side of each row: (user id, days, subscription, to)."""
    with app.app_context():
        return [(e.user_id, e.days, e.stripe_subscription_id, e.charge_moved_to)
                for e in db.session.scalars(sa.select(CreditEntry).order_by(CreditEntry.id))]


def test_annual_trial_paid_before_its_update_moves_the_charge_from_the_paid_year(
        app, client, emu, post_event, alice_refers_bob, app_clock):  # noqa: F811
    """Finding 1: the £70 invoice that ends the trial converts the referral before the
    subscription's own update (trialing → active) arrives. The 45 days go after the paid
    year, not after the old trial end, and nothing is charged twice."""
    _, bob = alice_refers_bob
    pay(client, emu, "annual")
    text(client, "/settings")  # the return's flash ("Your free trial has started") is read
    emu("POST", "clock/advance", seconds=15 * DAY)  # the trial ends; £70 is charged
    app_clock(emu)
    [paid] = paid_invoices(app)
    assert paid["data"]["object"]["amount_paid"] == 7000
    year_end = stripe_subscription_of(app, bob)["items"]["data"][0]["current_period_end"]

    assert post_event(paid).json["outcome"] == "processed"  # before any subscription event
    after = stripe_subscription_of(app, bob)
    assert after["trial_end"] == year_end + 45 * DAY
    assert after["metadata"]["paid_until"] == str(year_end)
    for update in events(app, "customer.subscription.updated"):  # late and stale
        post_event(update)
    assert stripe_subscription_of(app, bob)["trial_end"] == year_end + 45 * DAY

    page = squashed(text(client, "/settings"))
    assert (f"Paid to {day(year_end)}, then 45 days of referral credit: next payment of £70.00 "
            f"on {day(year_end + 45 * DAY + HOUR)}.") in page
    assert "free trial" not in page.lower(), page[page.lower().index("free trial") - 300:][:400]
    assert f"+45 days on your account</strong>: added before your next payment, now on " \
           f"{day(year_end + 45 * DAY + HOUR)}" in page
    emu("POST", "clock/advance", seconds=60 * DAY)  # 45 days after the old trial end
    assert len(paid_invoices(app)) == 1  # £70 once


def test_a_first_payment_before_its_subscription_is_known_still_converts(
        app, client, emu, post_event, alice_refers_bob):  # noqa: F811
    """Finding 2: bob closes the tab after paying; the invoice's event is the first to
    arrive. The subscription is fetched from Stripe and the referral converts."""
    _, bob = alice_refers_bob
    session_id = session_id_of(subscribe(client, "monthly"))
    emu("POST", f"checkout/sessions/{session_id}/complete", card="4242424242424242")
    with app.app_context():
        assert db.session.scalar(sa.select(Subscription)) is None
    [paid] = paid_invoices(app)
    due = stripe_subscription_of(app, bob)["items"]["data"][0]["current_period_end"]

    assert post_event(paid).json["outcome"] == "processed"
    assert the_referral(app).converted_at is not None
    assert sorted(ledger(app)) == [("alice", 45, "referral_given"),
                                   ("bob", 45, "referral_received")]
    assert stripe_subscription_of(app, bob)["trial_end"] == due + 45 * DAY
    assert "You were referred by" not in text(client, "/pricing")


def test_a_referrer_cancelled_at_stripe_and_a_retried_transaction_move_nothing_twice(
        app, client, emu, post_event, alice_refers_bob, login, monkeypatch):  # noqa: F811
    """Finding 3: alice's subscription was cancelled at Stripe and our row does not know
    yet; bob's first payment's transaction fails once after his charge moved. The retry
    succeeds, moves bob's charge once, and the ledger says where it went."""
    alice, bob = alice_refers_bob
    log_out(client)
    login(alice)
    pay(client, emu, "monthly")
    with app.app_context():
        row = db.session.scalar(sa.select(Subscription).where(Subscription.user_id == alice.id))
        gateway.cancel_subscription(row.stripe_subscription_id, "test-cancel")
    log_out(client)
    login(bob)
    pay(client, emu, "monthly")
    paid = [e for e in paid_invoices(app)
            if e["data"]["object"]["customer"] == stripe_subscription_of(app, bob)["customer"]]
    due = stripe_subscription_of(app, bob)["items"]["data"][0]["current_period_end"]

    tell = credit._tell
    failures = iter([RuntimeError("the database went away")])

    def fail_once(*args, **kwargs):
        error = next(failures, None)
        if error is not None:
            raise error
        return tell(*args, **kwargs)

    monkeypatch.setattr(credit, "_tell", fail_once)
    assert post_event(paid[0]).status_code == 500  # rolled back after bob's move at Stripe
    assert ledger(app) == []
    assert stripe_subscription_of(app, bob)["trial_end"] == due + 45 * DAY

    assert post_event(paid[0]).json["outcome"] == "processed"  # Stripe's retry
    bob_sub = stripe_subscription_of(app, bob)
    assert bob_sub["trial_end"] == due + 45 * DAY  # moved once
    assert stripe_subscription_of(app, alice)["status"] == "canceled"
    rows = moves(app)
    assert sorted((days, sub is not None) for _, days, sub, _ in rows) == [(45, False),
                                                                           (45, True)]
    [(_, _, sub_id, moved_to)] = [r for r in rows if r[2] is not None]
    assert sub_id == bob_sub["id"] and int(moved_to.timestamp()) == bob_sub["trial_end"]
    with app.app_context():
        alice_row = db.session.scalar(sa.select(Subscription)
                                      .where(Subscription.user_id == alice.id))
        assert alice_row.status.value == "canceled"  # read from Stripe on the way


def test_a_paying_subscriber_with_credit_is_told_what_stripe_holds(
        app, client, emu, post_event, alice_refers_bob, runner):  # noqa: F811
    """Finding 5: pricing, settings, premium and the CLI call a paid subscription whose
    charge waits for credit what it is, with the date Stripe will charge."""
    _, bob = alice_refers_bob
    pay(client, emu, "monthly")
    [paid] = paid_invoices(app)
    post_event(paid)
    sub = stripe_subscription_of(app, bob)
    paid_to = sub["metadata"]["paid_until"]
    charge = day(sub["trial_end"] + HOUR)

    pricing = squashed(text(client, "/pricing"))
    assert (f"You are subscribed: Premium (monthly), paid to {day(int(paid_to))}, then 45 "
            f"days of referral credit; next payment of £7.00 on {charge}.") in pricing
    assert "free trial" not in pricing.split("You are subscribed")[1].split("</p>")[0]
    assert "First payment on" not in pricing and "No payment until" not in pricing
    assert "You were referred by" not in pricing
    settings = squashed(text(client, "/settings"))
    assert "You were referred by" not in settings
    assert "Subscription: Premium (monthly), until " + day(sub["trial_end"]) in settings
    assert "Premium until" not in settings.split("Invite friends")[1].split("Credit history")[0]
    premium = squashed(text(client, "/premium"))
    assert f"next payment of £7.00 on {charge}" in premium

    listed = runner.invoke(args=["billing", "subscriptions", "--json"])
    [row] = json.loads(listed.output)
    assert (row["status"], row["stripe_status"], row["credit_days"]) == \
        ("active", "trialing", 45)
    plain = runner.invoke(args=["billing", "subscriptions"]).output
    assert "trialing" not in plain and "moved 45 days by credit" in plain
    shown = json.loads(runner.invoke(args=["users", "show", bob.email, "--json"]).output)
    assert shown["subscription"]["status"] == "active"
    assert shown["access"]["next_charge"]["at"].startswith(
        datetime.fromtimestamp(sub["trial_end"] + HOUR, UTC).date().isoformat())


def test_an_annual_subscriber_with_credit_is_not_told_premium_ends_with_the_credit(
        app, client, make_user, login):
    """Finding 5: the credit section of an annual subscriber paid for a year speaks of the
    days added before the next payment, not of "Premium until" the credit window's end."""
    user = make_user("carol")
    customer = with_customer(app, user)
    now = int(datetime.now(UTC).timestamp())
    paid_to = now + 300 * DAY
    payload = subscription("sub_carol", customer, status="trialing", interval="year",
                           amount=7000, start=now)
    payload.update(trial_end=paid_to + 45 * DAY,
                   metadata={"kind": "subscription", "credit_days": "45",
                             "paid_until": str(paid_to)})
    payload["items"]["data"][0]["current_period_end"] = paid_to + 45 * DAY
    with app.app_context():
        from app.auth.models import User
        from app.subscriptions.service import apply_subscription
        from app.subscriptions.views import SubscriptionView

        db.session.get(User, user.id).credit_until = datetime.now(UTC) + timedelta(days=45)
        apply_subscription(SubscriptionView.model_validate(payload),
                           snapshot_at=datetime.now(UTC))
        db.session.commit()
    login(user)
    settings = squashed(text(client, "/settings"))
    assert "Premium (annual)" in settings and "Free trial" not in settings
    assert f"Paid to {day(paid_to)}" in settings
    assert "Premium until" not in settings.split("Invite friends")[1]
    assert f"now on {day(paid_to + 45 * DAY + HOUR)}" in settings


# --- Finding 6: what Stripe never sends is kept as failed, answered 2xx --------------

def failed_reason(app, event_id: str) -> str | None:
    from app.webhooks.models import StripeEvent

    with app.app_context():
        stored = db.session.scalar(sa.select(StripeEvent).where(StripeEvent.stripe_id == event_id))
        return stored.last_error if stored is not None else None


@pytest.fixture
def known(app, make_user):
    user = make_user("dave")
    customer = with_customer(app, user)
    return user, customer


@pytest.mark.parametrize("interval", ["week", "<zq7x>", "day"])
def test_an_interval_the_app_does_not_sell_is_refused(app, post_event, known, interval):
    _, customer = known
    payload = subscription("sub_odd", customer, interval=interval)
    payload["items"]["data"][0]["price"]["id"] = "price_odd"  # a valid id: only the interval
    sent = event("customer.subscription.created", payload)
    response = post_event(sent)
    assert response.status_code == 200 and response.json["outcome"] == "malformed"
    assert "interval" in failed_reason(app, sent["id"])
    with app.app_context():
        assert db.session.scalar(sa.select(Subscription)) is None


def test_a_subscription_never_changes_customer(app, post_event, known, make_user):
    _, customer = known
    other = with_customer(app, make_user("erin"))
    post_event(event("customer.subscription.created", subscription("sub_x", customer)))
    moved = subscription("sub_x", other)
    sent = event("customer.subscription.updated", moved,
                 created=int(datetime.now(UTC).timestamp()) + 5)
    response = post_event(sent)
    assert response.status_code == 200 and response.json["outcome"] == "malformed"
    assert "belongs to customer" in failed_reason(app, sent["id"])
    with app.app_context():
        assert db.session.scalar(sa.select(Subscription)).stripe_customer_id == customer


def test_an_invoice_of_another_customer_does_not_touch_a_subscription(
        app, post_event, known, make_user):
    _, customer = known
    other = with_customer(app, make_user("frank"))
    post_event(event("customer.subscription.created", subscription("sub_y", customer)))
    sent = event("invoice.payment_failed", invoice("sub_y", other, status="open"))
    response = post_event(sent)
    assert response.status_code == 200 and response.json["outcome"] == "malformed"
    assert "is for customer" in failed_reason(app, sent["id"])
    with app.app_context():
        row = db.session.scalar(sa.select(Subscription))
        assert row.status.value == "active" and row.payment_failed_at is None


# --- Finding 4: a failed renewal in Stripe's real order still starts dunning --------------

@pytest.mark.parametrize("order", ["stripe", "reversed", "shuffled"])
def test_a_failed_trial_end_in_stripes_calendar_starts_dunning_in_any_order(
        app, client, emu, post_event, make_user, login, synced_catalog, app_clock,  # noqa: F811
        order):
    """At Stripe the trial ends in two moments: the rollover (the subscription becomes
    active, its invoice a draft) and, an hour later, the declined charge
    (`invoice.payment_failed`, then the subscription past due). Delivered with those
    dates, in Stripe's order or any other, the app is past due and dunning starts: the
    e-mail and the grace end are queued once."""
    from app.outbox.models import Job

    login(make_user("gina"))
    session_id = session_id_of(subscribe(client, "annual"))
    emu("POST", f"checkout/sessions/{session_id}/complete", card="4000000000000341")
    client.get(f"/subscriptions/return?session_id={session_id}")
    started = {e["id"] for e in all_events(app)}
    emu("POST", "clock/advance", seconds=14 * DAY + 30 * 60)  # rolled over, not charged
    app_clock(emu)
    # Between the two moments she cancels and changes her mind: our row holds Stripe's
    # subscription as of now, newer than the invoice made at the rollover.
    for action in ("/subscriptions/cancel", "/subscriptions/resume"):
        assert post_action(client, action).status_code == 303
    emu("POST", "clock/advance", seconds=DAY)
    calendar = [e for e in all_events(app) if e["id"] not in started]
    kinds = [e["type"] for e in calendar]
    rollover = calendar[kinds.index("customer.subscription.updated")]
    failed = calendar[kinds.index("invoice.payment_failed")]
    assert failed["created"] - rollover["created"] >= 3600  # charged an hour later

    deliveries = {"stripe": calendar, "reversed": calendar[::-1],
                  "shuffled": random.Random(19).sample(calendar, len(calendar))}[order]
    for sent in deliveries + deliveries[:3]:  # and a few duplicates
        assert post_event(sent).status_code == 200
    with app.app_context():
        row = db.session.scalar(sa.select(Subscription))
        assert row.status.value == "past_due"
        keys = [job.key for job in db.session.scalars(sa.select(Job).order_by(Job.id))]
    assert [k for k in keys if "payment_failed" in k] == \
        [f"email:payment_failed:{failed['data']['object']['id']}:{row.user_id}"]
    assert len([k for k in keys if k.startswith("grace-end:")]) == 1


def all_events(app) -> list[dict]:
    """Every event the emulator holds, oldest first (Stripe's order)."""
    with app.app_context():
        found = gateway.client().v1.events.list(params={"limit": 100})
    assert not found.has_more
    return [e.to_dict(for_json=True) for e in reversed(found.data)]


def test_a_credit_left_by_a_switch_to_monthly_is_taken_off_the_next_payment(
        app, client, emu, make_user, login, synced_catalog):
    """Annual → monthly a moment after paying £70 leaves a credit on the customer's
    balance; Stripe takes it off the next invoice, and so does every page."""
    login(make_user("hana"))
    pay(client, emu, "monthly")
    preview = client.get("/subscriptions/switch").get_data(as_text=True)
    when = re.search(r'name="proration_date" value="(\d+)"', preview).group(1)
    assert post_action(client, "/subscriptions/switch", to_interval="annual",
                       proration_date=when).status_code == 303
    preview = client.get("/subscriptions/switch").get_data(as_text=True)
    when = re.search(r'name="proration_date" value="(\d+)"', preview).group(1)
    assert post_action(client, "/subscriptions/switch", to_interval="monthly",
                       proration_date=when).status_code == 303
    with app.app_context():
        row = db.session.scalar(sa.select(Subscription))
        upcoming = gateway.preview_invoice({"customer": row.stripe_customer_id,
                                            "subscription": row.stripe_subscription_id})
    assert upcoming.amount_due < 700  # the credit pays part (or all) of it
    from app.money import format_money

    said = f"{format_money(upcoming.amount_due, 'gbp')} on " \
           f"{day(upcoming.next_payment_attempt)}"
    assert said in squashed(text(client, "/premium"))
    assert f"Renews on {day(upcoming.next_payment_attempt)} for " \
           f"{format_money(upcoming.amount_due, 'gbp')}" in squashed(text(client, "/settings"))


def test_credit_granted_while_cancelling_is_not_charged_for_after_resuming(
        app, client, emu, make_user, login, synced_catalog, runner):
    """Found by the life simulation: credit granted while the subscription is set to end
    does not move its charge; resuming it then charged for days the user held as credit.
    A resumed subscription is first charged when the credit held runs out."""
    user = make_user("ivan")
    login(user)
    pay(client, emu, "monthly")
    assert post_action(client, "/subscriptions/cancel").status_code == 303
    granted = runner.invoke(args=["billing", "grant-credit", user.email, "--days", "60",
                                  "--reason", "A thank-you"])
    assert granted.exit_code == 0, granted.output
    assert post_action(client, "/subscriptions/resume").status_code == 303
    with app.app_context():
        from app.auth.models import User

        credit_until = db.session.get(User, user.id).credit_until
    held = stripe_subscription_of(app, user)
    assert held["status"] == "trialing" and not held["cancel_at_period_end"]
    assert held["trial_end"] >= int(credit_until.timestamp())  # nothing charged before
    assert held["trial_end"] - int(credit_until.timestamp()) <= DAY
