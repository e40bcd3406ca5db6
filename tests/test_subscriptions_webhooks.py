"""Subscription events in every order: the final row is what Stripe last said."""

import itertools
import time

import pytest
import stripe

from app.auth.models import User
from app.billing import gateway
from app.extensions import db
from app.timeline import timeline_for
from tests.stripe_objects import event, new_id
from tests.subscription_helpers import (
    DAY,
    invoice,
    subscription,
    subscription_row,
    with_customer,
)


@pytest.fixture
def app_config(billing_config):
    return billing_config


@pytest.fixture
def alice(app, make_user):
    user = make_user("alice")
    return user, with_customer(app, user)


@pytest.fixture
def send(post_event):
    def send_all(*payloads):
        for payload in payloads:
            response = post_event(payload)
            assert response.status_code == 200, response.get_data(as_text=True)
    return send_all


def lifecycle(customer: str) -> tuple[str, list[dict]]:
    """created (trialing) → updated (active) → deleted (canceled), a second apart each."""
    sub_id, t = new_id("sub"), int(time.time()) - 100
    return sub_id, [
        event("customer.subscription.created",
              subscription(sub_id, customer, status="trialing", trial_days=14, start=t),
              created=t),
        event("customer.subscription.updated",
              subscription(sub_id, customer, status="active", start=t + 1), created=t + 1),
        event("customer.subscription.deleted",
              subscription(sub_id, customer, status="canceled", start=t + 1, ended=t + 2),
              created=t + 2),
    ]


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_every_order_of_created_updated_deleted_ends_canceled(app, send, alice, order):
    user, customer = alice
    sub_id, events = lifecycle(customer)
    send(*[events[i] for i in order])
    row = subscription_row(app, sub_id)
    assert row.status.value == "canceled" and row.ended_at is not None
    assert row.user_id == user.id


@pytest.mark.parametrize("order", list(itertools.permutations(range(2))))
def test_created_and_updated_in_any_order_end_on_the_newest(app, send, alice, order):
    user, customer = alice
    sub_id, events = lifecycle(customer)
    send(*[events[i] for i in order])
    assert subscription_row(app, sub_id).status.value == "active"


def test_duplicates_change_nothing_more(app, send, alice, post_event):
    user, customer = alice
    sub_id, events = lifecycle(customer)
    send(events[0], events[1])
    assert [post_event(e).json["outcome"] for e in events[:2]] == ["duplicate", "duplicate"]
    assert subscription_row(app, sub_id).status.value == "active"


def test_a_stale_update_after_deletion_never_revives(app, send, alice):
    user, customer = alice
    sub_id, events = lifecycle(customer)
    send(*events)
    late = event("customer.subscription.updated",
                 subscription(sub_id, customer, status="active"), created=int(time.time()) + 5)
    send(late)
    assert subscription_row(app, sub_id).status.value == "canceled"


def test_a_tie_in_the_same_second_asks_stripe(app, send, alice, monkeypatch):
    user, customer = alice
    sub_id, t = new_id("sub"), int(time.time()) - 50
    at_stripe = subscription(sub_id, customer, status="past_due", start=t)
    monkeypatch.setattr(gateway, "retrieve_subscription",
                        lambda sid: stripe.StripeObject.construct_from(at_stripe, "sk_test"))
    send(event("customer.subscription.updated", subscription(sub_id, customer, start=t),
               created=t),
         event("customer.subscription.updated",
               subscription(sub_id, customer, status="trialing", trial_days=14, start=t),
               created=t))
    assert subscription_row(app, sub_id).status.value == "past_due"


def test_a_subscription_of_someone_elses_customer_is_ignored(app, send):
    sub_id = new_id("sub")
    send(event("customer.subscription.created", subscription(sub_id, "cus_stranger")))
    assert subscription_row(app, sub_id) is None


def test_access_follows_the_subscription(app, send, alice):
    user, customer = alice
    sub_id, t = new_id("sub"), int(time.time())

    def access():
        with app.app_context():
            return timeline_for(db.session.get(User, user.id))

    send(event("customer.subscription.created",
               subscription(sub_id, customer, status="trialing", trial_days=14, start=t),
               created=t))
    granted = access()
    assert granted.premium and granted.sources[0].kind == "subscription"
    assert granted.until.timestamp() == t + 14 * DAY

    # The first payment fails: past due, Premium kept through the grace period.
    send(event("invoice.payment_failed", invoice(sub_id, customer, status="open",
                                                 created=t + 14 * DAY - 10),
               created=t + 14 * DAY - 10))
    row = subscription_row(app, sub_id)
    assert row.status.value == "past_due"
    in_grace = access()
    assert in_grace.premium and "grace" in in_grace.sources[0].label
    assert in_grace.until.timestamp() == t + 14 * DAY - 10 + 7 * DAY

    send(event("customer.subscription.deleted",
               subscription(sub_id, customer, status="canceled", ended=t + 20 * DAY),
               created=t + 20 * DAY))
    assert not access().premium


def test_invoice_paid_ends_the_failure_streak(app, send, alice):
    user, customer = alice
    sub_id, t = new_id("sub"), int(time.time())
    send(event("customer.subscription.created", subscription(sub_id, customer, start=t),
               created=t))
    failing = invoice(sub_id, customer, status="open", created=t + 5)
    send(event("invoice.payment_failed", failing, created=t + 5))
    assert subscription_row(app, sub_id).payment_failed_at is not None
    paid = {**failing, "status": "paid", "amount_paid": failing["amount_due"]}
    send(event("invoice.paid", paid, created=t + 6))
    assert subscription_row(app, sub_id).payment_failed_at is None


@pytest.mark.parametrize("invoice_row_first", [False, True])
def test_a_renewal_paid_at_once_does_what_the_whole_way_does(
        app, send, make_user, monkeypatch, invoice_row_first):
    """A plain renewal is applied without loading a row (app/subscriptions/renewal.py): in
    one autocommit statement with the event's claim on PostgreSQL, in steps in the
    handler's transaction, or the handler's whole way, which stays the definition. All
    three leave the same rows and the same job, and a second delivery changes nothing.
    With `invoice_row_first` the invoice's row exists already (its `invoice.finalized`
    came first, as at Stripe): the one statement moves it forward."""
    import dataclasses

    from app.history.models import Invoice
    from app.outbox.models import Job
    from app.subscriptions import renewal
    from app.webhooks import registry

    with app.app_context():
        postgres = db.engine.dialect.name == "postgresql"
    registration = registry.HANDLERS["invoice.paid"][0]

    def deliver(way: str) -> tuple:
        user = make_user()
        customer = with_customer(app, user)
        sub_id, t = new_id("sub"), int(time.time())
        send(event("customer.subscription.created", subscription(sub_id, customer, start=t),
                   created=t))
        bill = invoice(sub_id, customer, status="open", created=t + 5)
        if invoice_row_first:
            send(event("invoice.finalized", bill, created=t + 5))
        paid = event("invoice.paid", {**bill, "status": "paid", "amount_paid": bill["amount_due"]},
                     created=t + 6)

        def in_one(*args):
            return took("one", renewal.paid_in_one(*args))

        def in_steps(*args, **kwargs):
            return way != "whole" and took("steps", original_steps(*args, **kwargs))

        with monkeypatch.context() as patch:
            original_steps = renewal.record_at_once
            patch.setitem(registry.HANDLERS, "invoice.paid", [dataclasses.replace(
                registration, at_once=in_one if way == "one" else None)])
            patch.setattr(renewal, "record_at_once", in_steps)
            send(paid)
            send(paid)  # a redelivery: nothing more
        with app.app_context():
            row = db.session.query(Invoice).filter_by(stripe_invoice_id=bill["id"]).one()
            jobs = db.session.query(Job).filter(Job.key.contains(bill["id"])).all()
            sub = subscription_row(app, sub_id)
            return ((sub.latest_invoice_id == bill["id"], sub.status, sub.payment_failed_at),
                    (row.user_id == user.id, row.status, row.amount_paid, row.currency,
                     row.lines, row.period_start, row.period_end, row.description,
                     row.billing_reason, row.needs_action, row.number, row.hosted_invoice_url,
                     row.invoice_pdf, row.paid_at - row.created_at),
                    [(job.kind, job.payload == {"invoice": bill["id"], "recovered": False})
                     for job in jobs])

    taken: list[str] = []

    def took(way: str, applied: bool) -> bool:
        if applied:
            taken.append(way)
        return applied

    in_one = deliver("one")
    assert taken == (["one"] if postgres else ["steps"])
    taken.clear()
    in_steps = deliver("steps")
    assert taken == ["steps"]
    taken.clear()
    whole_way = deliver("whole")
    assert taken == []
    assert in_one == in_steps == whole_way
    assert whole_way[0][0] and whole_way[1][0] and whole_way[2] == [("invoice-paid", True)]
