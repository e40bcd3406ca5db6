"""The drift report (`flask billing reconcile`), on the emulator: webhooks withheld while
Stripe moves on, local rows corrupted; the report lists exactly those differences, applying
Stripe's state settles them, and the report run again is empty."""

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.billing import gateway
from app.billing.models import BillingInfo, PaymentMethod
from app.extensions import db
from app.subscriptions.models import Subscription, SubscriptionStatus
from tests.conftest import csrf_token
from tests.test_billing_cards import post
from tests.test_subscriptions_pages import pay

DAY = 86_400
VISA, MASTERCARD = "4242424242424242", "5555555555554444"


@pytest.fixture
def app_config(emulated_config):
    return emulated_config


def as_user(client, login, user) -> None:
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    login(user)


def report(runner, *args):
    result = runner.invoke(args=["billing", "reconcile", "--json", *args])
    assert result.exit_code in (0, 1) and result.exception is None or \
        isinstance(result.exception, SystemExit), (result.output, result.exc_info)
    return result.exit_code, json.loads(result.output)


def found(differences) -> set[tuple]:
    return {(d["kind"], d["object"], d["id"], d["email"]) for d in differences}


def customer_of(app, user) -> str:
    with app.app_context():
        return db.session.scalar(sa.select(BillingInfo.stripe_customer_id)
                                 .where(BillingInfo.user_id == user.id))


def subscription_of(app, user) -> Subscription:
    with app.app_context():
        row = db.session.scalar(sa.select(Subscription).where(Subscription.user_id == user.id))
        db.session.expunge(row)
        return row


def card_ids(app, user) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(
            sa.select(PaymentMethod.stripe_payment_method_id).join(BillingInfo)
            .where(BillingInfo.user_id == user.id).order_by(PaymentMethod.priority)))


def stripe_subscription(app, sub_id: str):
    with app.app_context():
        return gateway.retrieve_subscription(sub_id)


@pytest.mark.parametrize("delivery", [{}, {"shuffle_window": 4, "duplicate": True}],
                         ids=["in-order", "shuffled-and-twice"])
def test_the_report_finds_what_was_withheld_and_corrupted_and_applying_settles_it(
        app, site, client, runner, emu, make_user, login, delivery):
    # What is delivered may come in Stripe's order, or shuffled and twice: the clean user is
    # clean either way, and only what was withheld or corrupted shows.
    emu("POST", "config", **delivery)
    bob, carol, dave, alice, frank = (make_user(n) for n in
                                      ("bob", "carol", "dave", "alice", "frank"))
    # Bob renews while no webhook reaches us.
    login(bob)
    pay(client, emu, "monthly")
    emu("POST", "flush")
    emu("POST", "config", delivery_enabled=False)
    emu("POST", "clock/advance", seconds=31 * DAY + 3600)
    emu("POST", "config", delivery_enabled=True)

    # Carol (who stays clean), Dave and Alice subscribe with every webhook delivered.
    for user in (carol, dave, alice):
        as_user(client, login, user)
        pay(client, emu, "monthly")
    emu("POST", "flush")
    code, differences = report(runner)  # so far, bob's renewal only
    assert (code, found(differences)) == (1, {
        ("period", "subscription", subscription_of(app, bob).stripe_subscription_id,
         "bob@example.com")})

    # Withheld: bob's subscription is cancelled at Stripe; alice saves a second card on
    # Stripe's page but never comes back, makes it her default and asks to stop at the
    # period's end (as the customer portal would).
    emu("POST", "config", delivery_enabled=False)
    bob_sub, alice_sub = subscription_of(app, bob), subscription_of(app, alice)
    with app.app_context():
        gateway.cancel_subscription(bob_sub.stripe_subscription_id, "test-cancel-bob")
    response = post(client, "/settings/billing/cards")
    emu("POST", f"checkout/sessions/{response.location.rsplit('/', 1)[1]}/complete",
        card=MASTERCARD)
    alice_customer = customer_of(app, alice)
    with app.app_context():
        [new_card] = [pm.id for pm in gateway.iter_cards(alice_customer)
                      if pm.id not in card_ids(app, alice)]
        gateway.set_default_payment_method(alice_customer, new_card)
        gateway.update_subscription(alice_sub.stripe_subscription_id,
                                    {"cancel_at_period_end": True})
        # Frank's customer was made at Stripe, and the transaction that kept its id
        # rolled back.
        frank_customer = gateway.create_customer(frank.email, frank.id, "test-frank").id
    emu("POST", "config", delivery_enabled=True)

    # Corrupted here: dave's row says past due, a later period end, another price, and he
    # has a card Stripe never had.
    dave_sub = subscription_of(app, dave)
    with app.app_context():
        row = db.session.get(Subscription, dave_sub.id)
        row.status = SubscriptionStatus.PAST_DUE
        row.current_period_end += timedelta(days=3)
        row.stripe_price_id = "price_wrong"
        info = db.session.scalar(sa.select(BillingInfo).where(BillingInfo.user_id == dave.id))
        db.session.add(PaymentMethod(billing_info_id=info.id, stripe_payment_method_id="pm_ghost",
                                     priority=2, brand="visa", last4="0000", exp_month=1,
                                     exp_year=2040))
        db.session.commit()

    code, differences = report(runner)
    assert code == 1
    bob_id, dave_id = bob_sub.stripe_subscription_id, dave_sub.stripe_subscription_id
    assert found(differences) == {
        ("period", "subscription", bob_id, "bob@example.com"),
        ("status", "subscription", bob_id, "bob@example.com"),
        ("missing", "card", new_card, "alice@example.com"),
        ("default_card", "customer", alice_customer, "alice@example.com"),
        ("cancel_at_period_end", "subscription", alice_sub.stripe_subscription_id,
         "alice@example.com"),
        ("status", "subscription", dave_id, "dave@example.com"),
        ("period", "subscription", dave_id, "dave@example.com"),
        ("price", "subscription", dave_id, "dave@example.com"),
        ("extra", "card", "pm_ghost", "dave@example.com"),
        ("missing", "customer", frank_customer, "frank@example.com"),
    }  # and nothing about carol
    assert len(differences) == 10 and all(d["applicable"] for d in differences)
    by_kind = {(d["kind"], d["id"]): d for d in differences}
    assert (by_kind[("status", bob_id)]["ours"], by_kind[("status", bob_id)]["stripe"]) == \
        ("active", "canceled")
    assert by_kind[("status", dave_id)]["ours"] == "past_due"
    assert by_kind[("price", dave_id)]["ours"] == "price_wrong"
    default = by_kind[("default_card", alice_customer)]
    assert (default["ours"], default["stripe"]) == (card_ids(app, alice)[0], new_card)
    assert by_kind[("missing", new_card)]["stripe"].startswith("mastercard 4444 ")
    assert by_kind[("extra", "pm_ghost")]["ours"] == "visa 0000 01/2040"

    # The human report: a line each and a summary, exit 1 for cron.
    text = runner.invoke(args=["billing", "reconcile"])
    assert text.exit_code == 1
    lines = text.output.strip().splitlines()
    assert len(lines) == 11
    assert lines[-1] == ("10 differences (1 cancel_at_period_end, 1 default_card, 1 extra, "
                         "2 missing, 2 period, 1 price, 2 status).")
    assert any(line.startswith("status") and bob_id in line and "bob@example.com" in line
               and "here active; at Stripe canceled" in line for line in lines)

    # One object at a time: bob's subscription only.
    result = runner.invoke(args=["billing", "reconcile", "--apply", bob_id])
    assert result.exit_code == 1, result.output
    assert result.output.splitlines()[0].startswith(
        f"Applied subscription {bob_id} (status, period): now canceled,")
    assert subscription_of(app, bob).status is SubscriptionStatus.CANCELED
    assert bob_id not in result.output.split("\n", 1)[1]
    assert len(report(runner)[1]) == 8

    # Then everything.
    code, outcome = report(runner, "--apply")
    assert code == 0, outcome
    assert outcome["differences"] == []
    assert all("result" in entry for entry in outcome["applied"]), outcome["applied"]
    assert [e["object"] for e in outcome["applied"]] == \
        ["customer", "subscription", "subscription", "card", "card", "customer"]

    # Stripe's state, through the verbs: rows that say what Stripe says.
    dave_row, alice_row = subscription_of(app, dave), subscription_of(app, alice)
    stripe_dave = stripe_subscription(app, dave_id)
    assert dave_row.status is SubscriptionStatus.ACTIVE
    assert dave_row.stripe_price_id == stripe_dave["items"]["data"][0]["price"]["id"]
    assert int(dave_row.current_period_end.timestamp()) == \
        stripe_dave["items"]["data"][0]["current_period_end"]
    assert alice_row.cancel_at_period_end is True
    assert card_ids(app, alice)[0] == new_card and len(card_ids(app, alice)) == 2
    assert "pm_ghost" not in card_ids(app, dave)
    assert customer_of(app, frank) == frank_customer

    final = runner.invoke(args=["billing", "reconcile"])
    assert (final.exit_code, final.output) == (
        0, "No differences: the local rows match Stripe.\n")


def test_what_applying_cannot_settle_is_said_and_left(app, site, client, runner, emu,
                                                       make_user, login):
    user = make_user("gone")
    login(user)
    pay(client, emu, "annual")
    emu("POST", "flush")
    sub = subscription_of(app, user)
    with app.app_context():
        # A customer record for a customer Stripe never had, and a subscription likewise.
        db.session.add(BillingInfo(user_id=make_user("ghost").id,
                                   stripe_customer_id="cus_nowhere"))
        row = db.session.get(Subscription, sub.id)
        db.session.add(Subscription(
            user_id=user.id, stripe_subscription_id="sub_nowhere",
            stripe_customer_id=row.stripe_customer_id, status=SubscriptionStatus.CANCELED,
            stripe_item_id="si_x", stripe_price_id=row.stripe_price_id, interval="year",
            amount=7000, currency="gbp", current_period_start=row.current_period_start,
            current_period_end=row.current_period_end, snapshot_at=row.snapshot_at))
        db.session.commit()
        # And a second customer at Stripe for a user who has one here.
        second = gateway.create_customer(user.email, user.id, "test-second-customer").id
    code, differences = report(runner)
    assert code == 1
    assert {(d["kind"], d["object"], d["id"], d["applicable"]) for d in differences} == {
        ("extra", "customer", "cus_nowhere", False),
        ("extra", "subscription", "sub_nowhere", False),
        ("missing", "customer", second, False)}
    code, outcome = report(runner, "--apply")
    assert code == 1
    assert [e["error"] for e in outcome["applied"]] == [
        f"the user's customer here is {sub.stripe_customer_id}: a second customer at Stripe "
        "is for a person to merge or delete",
        "Stripe has no such customer (deleted?); look into it",
        "Stripe has no such subscription; look into it"]
    assert len(outcome["differences"]) == 3
    text = runner.invoke(args=["billing", "reconcile"]).output
    assert text.strip().splitlines()[-1] == ("3 differences (2 extra, 1 missing); 3 cannot be "
                                             "settled by applying Stripe's state.")
    assert "(cannot apply: Stripe has no such subscription; look into it)" in text


def test_an_unknown_id_applies_nothing(runner, emu):
    result = runner.invoke(args=["billing", "reconcile", "--apply", "sub_nothing"])
    assert (result.exit_code, result.output) == (
        0, "No difference about sub_nothing: nothing to apply.\n"
           "No differences: the local rows match Stripe.\n")


def test_when_stripe_does_not_answer_it_says_so_and_exits_2(app, runner):
    app.config["STRIPE_API_BASE"] = "http://127.0.0.1:9"  # nothing listens there
    for args in ([], ["--json"], ["--apply"]):
        result = runner.invoke(args=["billing", "reconcile", *args])
        assert (result.exit_code, result.output) == (
            2, "Error: Stripe request failed: list customers: APIConnectionError: no answer "
               "from http://127.0.0.1:9 (ConnectionError)\n"), args


def test_with_billing_off_it_says_so_and_exits_2(app, runner):
    app.config["BILLING_ENABLED"] = False
    result = runner.invoke(args=["billing", "reconcile"])
    assert (result.exit_code, result.output) == (
        2, "Error: Billing is disabled: STRIPE_SECRET_KEY is not set, so Stripe cannot be "
           "reached.\n")
