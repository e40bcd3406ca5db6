"""Referral conversion and credit through the emulator: the referred user's first real
payment grants 45 days to both sides, once; credit moves a subscriber's next charge at
Stripe; a full refund takes the credit back; stacking, trials, deleted referrers."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.auth.models import User, utcnow
from app.billing import gateway
from app.extensions import db
from app.referrals.credit import grant_credit
from app.referrals.models import CreditEntry, CreditReason, Referral
from app.subscriptions.models import Subscription
from app.timeline import CHARGED_AFTER
from tests.test_subscriptions_pages import pay

DAY = timedelta(days=1)


@pytest.fixture
def app_config(emulated_config):
    return emulated_config


@pytest.fixture
def alice_refers_bob(app, make_user, login, synced_catalog):
    """alice referred bob; bob is logged in."""
    alice, bob = make_user("alice"), make_user("bob")
    with app.app_context():
        db.session.add(Referral(referrer_id=alice.id, referred_id=bob.id))
        db.session.commit()
    login(bob)
    return alice, bob


def events(app, event_type: str) -> list[dict]:
    """The emulator's events of a type, oldest first."""
    with app.app_context():
        found = gateway.client().v1.events.list(params={"type": event_type, "limit": 100})
    return [e.to_dict(for_json=True) for e in reversed(found.data)]


def credit_until(app, user):
    with app.app_context():
        return db.session.get(User, user.id).credit_until


def ledger(app) -> list[tuple[str, int, str]]:
    with app.app_context():
        return [(db.session.get(User, e.user_id).username, e.days, e.reason.value)
                for e in db.session.scalars(sa.select(CreditEntry).order_by(CreditEntry.id))]


def the_referral(app) -> Referral:
    with app.app_context():
        referral = db.session.scalar(sa.select(Referral))
        db.session.expunge(referral)
        return referral


def stripe_subscription(app):
    with app.app_context():
        row = db.session.scalar(sa.select(Subscription))
        return row, gateway.retrieve_subscription(row.stripe_subscription_id)


def about(when, expected) -> bool:
    return abs((when - expected).total_seconds()) < 120


def test_first_paid_invoice_grants_both_once_and_defers_the_next_charge(
        app, client, emu, post_event, alice_refers_bob):
    alice, bob = alice_refers_bob
    pay(client, emu, "monthly")
    [paid] = events(app, "invoice.paid")
    assert paid["data"]["object"]["amount_paid"] > 0
    _, before = stripe_subscription(app)
    due = before["items"]["data"][0]["current_period_end"]

    assert post_event(paid).json["outcome"] == "processed"
    referral = the_referral(app)
    assert referral.converted_at is not None and referral.credited_at is not None
    assert referral.converting_payment_intent is not None
    now = utcnow()
    assert about(credit_until(app, bob), now + 45 * DAY)
    assert about(credit_until(app, alice), now + 45 * DAY)
    assert sorted(ledger(app)) == [("alice", 45, "referral_given"),
                                   ("bob", 45, "referral_received")]
    # bob pays for none of his 45 days: his next charge moved 45 days later at Stripe.
    row, after = stripe_subscription(app)
    assert after["trial_end"] == due + 45 * 86_400
    assert row.credit_days == 45
    page = client.get("/settings").get_data(as_text=True)
    assert "then 45 days of referral credit: next payment of £7.00 on" in " ".join(page.split())
    assert "free trial" not in page.lower()

    # Replays, another delivery of the same invoice, a renewal: nothing more.
    for _ in range(2):
        post_event(paid)
    post_event({**paid, "id": paid["id"] + "x"})
    assert len(ledger(app)) == 2
    assert stripe_subscription(app)[1]["trial_end"] == due + 45 * 86_400


def test_a_trial_starting_is_not_a_payment(app, client, emu, post_event, alice_refers_bob):
    alice, bob = alice_refers_bob
    pay(client, emu, "annual")  # 14-day trial: a £0 invoice, paid
    for paid in events(app, "invoice.paid"):
        assert paid["data"]["object"]["amount_paid"] == 0
        post_event(paid)
    assert the_referral(app).converted_at is None
    assert ledger(app) == [] and credit_until(app, alice) is None


def test_a_deleted_referrer_breaks_nothing(app, client, emu, post_event, alice_refers_bob):
    alice, bob = alice_refers_bob
    with app.app_context():
        db.session.execute(sa.delete(User).where(User.id == alice.id))
        db.session.commit()
    pay(client, emu, "monthly")
    [paid] = events(app, "invoice.paid")
    assert post_event(paid).json["outcome"] == "processed"
    assert ledger(app) == [("bob", 45, "referral_received")]
    assert the_referral(app).converted_at is not None


def test_a_full_refund_takes_both_grants_back_and_a_later_payment_converts_again(
        app, client, emu, post_event, alice_refers_bob):
    alice, bob = alice_refers_bob
    pay(client, emu, "monthly")
    [paid] = events(app, "invoice.paid")
    post_event(paid)
    intent = the_referral(app).converting_payment_intent
    with app.app_context():
        gateway.client().v1.refunds.create(params={"payment_intent": intent})
    [refunded] = events(app, "charge.refunded")
    assert post_event(refunded).json["outcome"] == "processed"
    post_event(refunded)  # a replay takes nothing more
    assert sorted(ledger(app)) == [("alice", -45, "reversal"), ("alice", 45, "referral_given"),
                                   ("bob", -45, "reversal"), ("bob", 45, "referral_received")]
    now = utcnow()
    assert about(credit_until(app, alice), now) and about(credit_until(app, bob), now)
    assert the_referral(app).converted_at is None
    row, sub = stripe_subscription(app)
    assert row.credit_days == 0  # bob's next charge is back where it was due

    # A later real payment converts the referral again.
    post_event({**paid, "id": paid["id"] + "later"})
    referral = the_referral(app)
    assert referral.converted_at is not None and referral.conversions == 2
    assert len(ledger(app)) == 6


def test_grants_stack_from_the_end_of_the_current_credit(app, make_user):
    carol = make_user("carol")
    now = utcnow()
    with app.app_context():
        user = db.session.get(User, carol.id)
        first = grant_credit(user, 10, CreditReason.ADMIN_GRANT, note="sorry", now=now)
        second = grant_credit(user, 5, CreditReason.ADMIN_GRANT, note="again", now=now + DAY)
        db.session.commit()
        assert (first.before, first.after) == (None, now + 10 * DAY)
        assert (second.before, second.after) == (now + 10 * DAY, now + 15 * DAY)
        # Credit that has run out does not stack: a grant starts from now.
        user.credit_until = now - 3 * DAY
        third = grant_credit(user, 2, CreditReason.ADMIN_GRANT, note="late", now=now)
        db.session.commit()
        assert third.after == now + 2 * DAY


def test_an_upgrade_bought_and_paid_converts(app, client, emu, post_event, alice_refers_bob):
    from tests.stripe_objects import event
    from tests.upgrade_helpers import make_upgrade, session

    alice, bob = alice_refers_bob
    ids = make_upgrade(app, bob)
    assert post_event(event("checkout.session.completed", session(ids))).json["outcome"] \
        == "processed"
    assert sorted(ledger(app)) == [("alice", 45, "referral_given"),
                                   ("bob", 45, "referral_received")]
    assert the_referral(app).converting_payment_intent == ids["pi"]


@pytest.mark.postgres
def test_concurrent_duplicate_deliveries_grant_once(app, client, emu, alice_refers_bob):
    """Eight deliveries at once, half of them the same event and half the same invoice under
    other event ids: the referral converts once, and bob's charge moves once."""
    import json
    import os
    import threading

    from tests.conftest import WEBHOOK_SECRET, need
    from tests.stripe_objects import signature_header

    need(bool(os.environ.get("TEST_DATABASE_URL")), "TEST_DATABASE_URL is not set")
    pay(client, emu, "monthly")
    [paid] = events(app, "invoice.paid")
    due = stripe_subscription(app)[1]["items"]["data"][0]["current_period_end"]
    bodies = [json.dumps(paid if i % 2 else {**paid, "id": f"{paid['id']}_{i}"}).encode()
              for i in range(8)]
    barrier, statuses = threading.Barrier(len(bodies)), []

    def deliver(body: bytes) -> None:
        deliverer = app.test_client()
        barrier.wait()
        statuses.append(deliverer.post("/webhooks/stripe", data=body, headers={
            "Content-Type": "application/json",
            "Stripe-Signature": signature_header(body, WEBHOOK_SECRET)}).status_code)

    threads = [threading.Thread(target=deliver, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert all(status in (200, 500) for status in statuses), statuses
    for body in bodies:  # Stripe retries whatever got a 500 (a lost race); then all is done
        app.test_client().post("/webhooks/stripe", data=body, headers={
            "Content-Type": "application/json",
            "Stripe-Signature": signature_header(body, WEBHOOK_SECRET)})
    assert sorted(ledger(app)) == [("alice", 45, "referral_given"),
                                   ("bob", 45, "referral_received")]
    assert stripe_subscription(app)[1]["trial_end"] == due + 45 * 86_400


def test_subscribing_while_holding_credit_is_first_charged_when_it_runs_out(
        app, client, emu, make_user, login, synced_catalog):
    dora = make_user("dora")
    with app.app_context():
        grant_credit(db.session.get(User, dora.id), 30, CreditReason.ADMIN_GRANT, note="thanks")
        db.session.commit()
    login(dora)
    pay(client, emu, "monthly")
    until = credit_until(app, dora)
    row, sub = stripe_subscription(app)
    assert sub.status == "trialing" and sub["trial_end"] == int(until.timestamp())
    assert row.credit_days == 30
    with app.app_context():
        [invoice] = gateway.client().v1.invoices.list(
            params={"subscription": row.stripe_subscription_id}).data
    assert invoice.amount_paid == 0  # nothing charged today
    page = client.get("/settings").get_data(as_text=True)
    assert (f"Covered by 30 days of referral credit: first payment of £7.00 on "
            f"{until + CHARGED_AFTER:%-d %B %Y}.") in " ".join(page.split())
    assert "free trial" not in page.lower()


def test_credit_without_a_subscription_is_the_plan_settings_shows(app, client, make_user,
                                                                  login):
    erin = make_user("erin")
    with app.app_context():
        grant_credit(db.session.get(User, erin.id), 45, CreditReason.ADMIN_GRANT, note="hi")
        db.session.commit()
    login(erin)
    page = client.get("/settings").get_data(as_text=True)
    until = credit_until(app, erin)
    assert "Credit</span>" in page
    assert f"Your credit gives you Premium until {until:%-d %B %Y}" in page
    assert "You are on the free plan" not in page


def test_pricing_tells_a_user_holding_credit_when_the_first_payment_comes(app, client,
                                                                         make_user, login):
    fay = make_user("fay")
    with app.app_context():
        grant_credit(db.session.get(User, fay.id), 45, CreditReason.ADMIN_GRANT, note="hi")
        db.session.commit()
    login(fay)
    until = credit_until(app, fay)
    monthly = client.get("/pricing").get_data(as_text=True)
    assert f"First payment on {until:%-d %B %Y}, when your credit runs out" in monthly
    assert "Charged today" not in monthly
    annual = client.get("/pricing?interval=annual").get_data(as_text=True)
    assert f"No payment until {until:%-d %B %Y}" in annual
