"""The drift report page, on the emulator: what `flask billing reconcile` finds is listed,
Stripe's state is applied to one object from the page, and what cannot be applied says why.
Its Stripe-less cases (billing off, Stripe not answering) are in test_admin_pages.py."""

import pytest
import sqlalchemy as sa

from app.admin.drift import difference_name
from app.billing import gateway
from app.billing.models import BillingInfo
from app.extensions import db
from app.reconcile.drift import Difference, Kind, Thing
from tests.conftest import csrf_token
from tests.test_admin_pages import text


@pytest.fixture
def app_config(emulated_config):
    return emulated_config


def test_the_page_lists_differences_and_applies_stripes_state(app, client, login, make_user):
    admin = make_user("root", admin=True)
    lost = make_user("lost")  # a customer at Stripe whose id we never stored
    gone = make_user("gone")  # a customer record here that Stripe does not have
    with app.app_context():
        customer = gateway.create_customer(lost.email, lost.id, "test-drift-lost")
        db.session.add(BillingInfo(user_id=gone.id, stripe_customer_id="cus_gone"))
        db.session.commit()
    login(admin)

    page = text(client.get("/admin/drift"))
    assert "This page asks Stripe each time it opens" in page
    assert f"Customer only at Stripe {customer.id}" in page and "lost@example.com" in page
    assert "Customer only here cus_gone" in page
    assert "Cannot apply: Stripe has no such customer" in page
    assert "2 differences; 1 cannot be settled" in page

    token = csrf_token(client, "/admin/drift")
    after = text(client.post("/admin/drift/apply", data={"csrf_token": token,
                                                         "object_id": customer.id},
                             follow_redirects=True))
    assert f"Applied customer {customer.id} (missing): recorded as user {lost.id}'s customer." \
        in after
    assert f"Customer only at Stripe {customer.id}" not in after
    with app.app_context():
        assert db.session.scalar(sa.select(BillingInfo.stripe_customer_id).where(
            BillingInfo.user_id == lost.id)) == customer.id
    every = text(client.post("/admin/drift/apply", data={"csrf_token": token},
                             follow_redirects=True))
    assert "Not applied customer cus_gone (extra): Stripe has no such customer" in every
    assert "Customer only here cus_gone" in every


def test_each_kind_of_difference_is_named_in_words():
    names = {kind: difference_name(Difference(kind, thing, "x_1", None, None, None))
             for kind, thing in ((Kind.MISSING, Thing.CARD), (Kind.EXTRA, Thing.SUBSCRIPTION),
                                 (Kind.STATUS, Thing.SUBSCRIPTION),
                                 (Kind.PERIOD, Thing.SUBSCRIPTION),
                                 (Kind.PRICE, Thing.SUBSCRIPTION),
                                 (Kind.CANCEL_AT_PERIOD_END, Thing.SUBSCRIPTION),
                                 (Kind.CARD, Thing.CARD), (Kind.DEFAULT_CARD, Thing.CUSTOMER))}
    assert set(names) == set(Kind)
    assert names[Kind.MISSING] == "Card only at Stripe"
    assert names[Kind.EXTRA] == "Subscription only here"
    assert names[Kind.CARD] == "Card details"  # not "card: card"
