"""One Stripe customer per user, created on first need, even when first needs collide."""

import threading

import pytest
import sqlalchemy as sa

from app.auth.models import User
from app.billing import gateway
from app.billing.customers import customer_for
from app.billing.models import BillingInfo
from app.extensions import db


@pytest.fixture
def app_config(emulated_config):
    return emulated_config


def test_the_customer_is_created_once_and_reused(app, make_user):
    alice = make_user("alice")
    with app.app_context():
        first = customer_for(db.session.get(User, alice.id))
        db.session.commit()
        assert customer_for(db.session.get(User, alice.id)) == first
        customer = gateway.client().v1.customers.retrieve(first)
    assert customer.email == "alice@example.com"
    assert customer.metadata["user_id"] == str(alice.id)


def test_concurrent_first_purchases_make_one_customer(app, make_user):
    alice = make_user("alice")
    barrier = threading.Barrier(6)
    found: list[str] = []
    errors: list[BaseException] = []

    def first_purchase():
        try:
            with app.app_context():
                barrier.wait()
                found.append(customer_for(db.session.get(User, alice.id)))
                db.session.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=first_purchase) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert len(set(found)) == 1
    with app.app_context():
        rows = db.session.scalars(sa.select(BillingInfo)).all()
        at_stripe = gateway.client().v1.customers.list(params={"email": "alice@example.com"})
    assert len(rows) == 1 and rows[0].stripe_customer_id == found[0]
    assert [c.id for c in at_stripe.data] == found[:1]
