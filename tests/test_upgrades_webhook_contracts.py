"""Signed upgrade events that contradict the upgrade they name (another currency, amount or
payment) are kept as failed with the reason, answered 2xx, and change nothing."""

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.webhooks.models import StripeEvent
from tests.stripe_objects import event
from tests.upgrade_helpers import charge, dispute, level_of, make_upgrade, session, upgrade_row


@pytest.fixture
def app_config(billing_config):
    return billing_config


@pytest.fixture
def alice(make_user):
    return make_user("alice")


@pytest.fixture
def deliver(post_event):
    """Post an event that must be processed."""
    def post(payload: dict) -> None:
        response = post_event(payload)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.get_json()["outcome"] == "processed", response.get_json()
    return post


@pytest.fixture
def refused(app, post_event):
    """Post an event that must be answered 2xx and kept as failed; returns its stored reason."""
    def post(payload: dict) -> str:
        response = post_event(payload)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.get_json()["outcome"] == "malformed", response.get_json()
        with app.app_context():
            row = db.session.scalar(sa.select(StripeEvent)
                                    .where(StripeEvent.stripe_id == payload["id"]))
            assert row is not None and row.processed_at is None
            return row.last_error
    return post


def paid_by_webhook(app, deliver, alice) -> dict:
    """A complete Gold upgrade in GBP whose charge the app has not seen yet."""
    ids = make_upgrade(app, alice)
    deliver(event("checkout.session.completed", session(ids)))
    return ids


def assert_untouched(app, ids: dict, status: str = "complete") -> None:
    row = upgrade_row(app, ids["id"])
    assert row.status.value == status
    assert row.stripe_charge_id is None and row.receipt_url is None
    assert (row.card_brand, row.card_last4) == (None, None)
    assert not row.amount_refunded and row.refunded_at is None and row.disputed_at is None


# --- charge.refunded -------------------------------------------------------------------

def test_refund_in_another_currency_changes_nothing(app, deliver, refused, alice):
    ids = paid_by_webhook(app, deliver, alice)
    usd = charge(ids, refunded_amount=2000)
    usd["currency"] = "usd"
    reason = refused(event("charge.refunded", usd))
    assert "usd" in reason and "gbp" in reason
    assert_untouched(app, ids)
    assert level_of(app, alice) == "gold"


def test_partial_refund_in_another_currency_changes_nothing(app, deliver, refused, alice):
    ids = paid_by_webhook(app, deliver, alice)
    usd = charge(ids, refunded_amount=500)
    usd["currency"] = "usd"
    refused(event("charge.refunded", usd))
    assert_untouched(app, ids)


def test_refund_of_another_payment_naming_the_upgrade_changes_nothing(app, deliver, refused,
                                                                      alice):
    ids = paid_by_webhook(app, deliver, alice)
    other = charge({**ids, "pi": "pi_elsewhere", "charge": "ch_elsewhere"},
                   refunded_amount=2000)  # its metadata names the upgrade
    reason = refused(event("charge.refunded", other))
    assert "pi_elsewhere" in reason and ids["pi"] in reason
    assert_untouched(app, ids)
    assert level_of(app, alice) == "gold"


def test_refund_of_the_paying_charge_under_another_payment_intent_changes_nothing(
        app, deliver, refused, alice):
    ids = paid_by_webhook(app, deliver, alice)
    deliver(event("charge.succeeded", charge(ids)))
    other = charge({**ids, "pi": "pi_elsewhere"}, refunded_amount=2000)
    refused(event("charge.refunded", other))
    row = upgrade_row(app, ids["id"])
    assert row.status.value == "complete" and not row.amount_refunded
    assert level_of(app, alice) == "gold"


# --- charge.succeeded ------------------------------------------------------------------

def test_charge_in_another_currency_keeps_no_card_or_receipt(app, deliver, refused, alice):
    ids = paid_by_webhook(app, deliver, alice)
    usd = charge(ids)
    usd["currency"] = "usd"
    refused(event("charge.succeeded", usd))
    assert_untouched(app, ids)


# --- checkout.session.* ----------------------------------------------------------------

@pytest.mark.parametrize("field, value", [("currency", "usd"), ("amount_total", 1)])
def test_completed_session_that_does_not_match_the_upgrade_changes_nothing(
        app, refused, alice, field, value):
    ids = make_upgrade(app, alice)
    odd = session(ids)
    odd[field] = value
    reason = refused(event("checkout.session.completed", odd))
    assert str(value) in reason
    row = upgrade_row(app, ids["id"])
    assert row.status.value == "pending" and row.stripe_payment_intent_id is None
    assert level_of(app, alice) == "member"


@pytest.mark.parametrize("field, value", [("currency", "usd"), ("amount_total", 1)])
def test_async_payment_succeeded_that_does_not_match_changes_nothing(
        app, deliver, refused, alice, field, value):
    ids = make_upgrade(app, alice)
    deliver(event("checkout.session.completed", session(ids, payment_status="unpaid")))
    odd = session(ids)
    odd[field] = value
    refused(event("checkout.session.async_payment_succeeded", odd))
    assert upgrade_row(app, ids["id"]).status.value == "processing"
    assert level_of(app, alice) == "member"


@pytest.mark.parametrize("field, value", [("currency", "usd"), ("amount_total", 1)])
def test_async_payment_failed_that_does_not_match_changes_nothing(
        app, deliver, refused, alice, field, value):
    ids = make_upgrade(app, alice)
    deliver(event("checkout.session.completed", session(ids, payment_status="unpaid")))
    odd = session(ids, payment_status="unpaid")
    odd[field] = value
    refused(event("checkout.session.async_payment_failed", odd))
    assert upgrade_row(app, ids["id"]).status.value == "processing"


# --- charge.dispute.created ------------------------------------------------------------

def test_dispute_of_another_payment_naming_our_charge_changes_nothing(app, deliver, refused,
                                                                     alice):
    ids = paid_by_webhook(app, deliver, alice)
    deliver(event("charge.succeeded", charge(ids)))
    other = dispute({**ids, "pi": "pi_elsewhere"})
    reason = refused(event("charge.dispute.created", other))
    assert "pi_elsewhere" in reason
    assert upgrade_row(app, ids["id"]).disputed_at is None


def test_dispute_of_our_payment_is_still_flagged(app, deliver, alice):
    ids = paid_by_webhook(app, deliver, alice)
    deliver(event("charge.succeeded", charge(ids)))
    deliver(event("charge.dispute.created", dispute(ids)))
    assert upgrade_row(app, ids["id"]).disputed_at is not None
