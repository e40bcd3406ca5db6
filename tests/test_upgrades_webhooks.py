"""Upgrade webhooks, in order and out of order, checked by the rows and levels they leave."""

import logging

import pytest

from tests.stripe_objects import event
from tests.upgrade_helpers import charge, dispute, level_of, make_upgrade, session, upgrade_row


@pytest.fixture
def app_config(billing_config):
    return billing_config


@pytest.fixture
def send(post_event):
    """Post events in the order given; each must be accepted."""
    def send_all(*payloads, status: int = 200):
        for payload in payloads:
            response = post_event(payload)
            assert response.status_code == status, response.get_data(as_text=True)
    return send_all


@pytest.fixture
def alice(make_user):
    return make_user("alice")


@pytest.fixture
def bob(make_user):
    return make_user("bob")


def test_completed_and_paid_completes_and_promotes_recipient(app, send, alice, bob):
    ids = make_upgrade(app, alice, bob, "platinum", amount=4000)
    send(event("checkout.session.completed", session(ids)))
    row = upgrade_row(app, ids["id"])
    assert row.status.value == "complete"
    assert row.stripe_payment_intent_id == ids["pi"]
    assert row.level_before.value == "member" and row.completed_at is not None
    assert level_of(app, bob) == "platinum"
    assert level_of(app, alice) == "member"  # the purchaser of a gift gets nothing


def test_delayed_payment_processing_then_succeeded(app, send, alice):
    ids = make_upgrade(app, alice)
    send(event("checkout.session.completed", session(ids, payment_status="unpaid")))
    assert upgrade_row(app, ids["id"]).status.value == "processing"
    assert level_of(app, alice) == "member"
    send(event("checkout.session.async_payment_succeeded", session(ids)))
    assert upgrade_row(app, ids["id"]).status.value == "complete"
    assert level_of(app, alice) == "gold"


def test_delayed_payment_processing_then_failed(app, send, alice):
    ids = make_upgrade(app, alice)
    send(event("checkout.session.completed", session(ids, payment_status="unpaid")),
         event("checkout.session.async_payment_failed", session(ids, payment_status="unpaid")))
    row = upgrade_row(app, ids["id"])
    assert row.status.value == "failed" and row.closed_at is not None
    assert level_of(app, alice) == "member"


def test_expired_checkout_expires_pending_upgrade(app, send, alice):
    ids = make_upgrade(app, alice)
    send(event("checkout.session.expired", session(ids, status="expired",
                                                   payment_status="unpaid")))
    assert upgrade_row(app, ids["id"]).status.value == "expired"
    assert level_of(app, alice) == "member"


def test_expired_after_completed_changes_nothing(app, send, alice, caplog):
    ids = make_upgrade(app, alice)
    late = event("checkout.session.expired", session(ids, status="expired",
                                                     payment_status="unpaid"))
    with caplog.at_level(logging.INFO, logger="app.upgrades"):
        send(event("checkout.session.completed", session(ids)), late)
    assert upgrade_row(app, ids["id"]).status.value == "complete"
    assert level_of(app, alice) == "gold"
    # The ignored move is logged with the upgrade and the event that asked for it.
    assert any(f"upgrade {ids['id']}: impossible transition complete -> expired" in r.message
               and late["id"] in r.message for r in caplog.records)


def test_async_payment_failed_after_complete_changes_nothing(app, send, alice):
    ids = make_upgrade(app, alice)
    send(event("checkout.session.completed", session(ids, payment_status="unpaid")),
         event("checkout.session.async_payment_succeeded", session(ids)),
         event("checkout.session.async_payment_failed", session(ids, payment_status="unpaid")))
    assert upgrade_row(app, ids["id"]).status.value == "complete"
    assert level_of(app, alice) == "gold"


def test_async_succeeded_before_completed(app, send, alice):
    ids = make_upgrade(app, alice)
    send(event("checkout.session.async_payment_succeeded", session(ids)),
         event("checkout.session.completed", session(ids, payment_status="unpaid")))
    assert upgrade_row(app, ids["id"]).status.value == "complete"
    assert level_of(app, alice) == "gold"


def test_async_failed_before_completed_stays_failed(app, send, alice):
    ids = make_upgrade(app, alice)
    send(event("checkout.session.async_payment_failed", session(ids, payment_status="unpaid")),
         event("checkout.session.completed", session(ids, payment_status="unpaid")))
    assert upgrade_row(app, ids["id"]).status.value == "failed"
    assert level_of(app, alice) == "member"


def test_repeated_completed_applies_once(app, send, post_event, alice):
    ids = make_upgrade(app, alice)
    completed = event("checkout.session.completed", session(ids))
    send(completed, event("checkout.session.completed", session(ids)))
    assert post_event(completed).get_json()["outcome"] == "duplicate"
    assert upgrade_row(app, ids["id"]).status.value == "complete"


def test_charge_refunded_refunds_and_restores_level(app, send, alice, bob):
    ids = make_upgrade(app, alice, bob)
    send(event("checkout.session.completed", session(ids)),
         event("charge.refunded", charge(ids, refunded_amount=2000)))
    row = upgrade_row(app, ids["id"])
    assert row.status.value == "refunded" and row.refunded_at is not None
    assert row.amount_refunded == 2000
    assert row.receipt_url.endswith(ids["charge"])
    assert level_of(app, bob) == "member"


def test_charge_refunded_twice_refunds_once(app, send, alice, caplog):
    ids = make_upgrade(app, alice)
    send(event("checkout.session.completed", session(ids)),
         event("charge.refunded", charge(ids, refunded_amount=2000)))
    first_refund = upgrade_row(app, ids["id"]).refunded_at
    with caplog.at_level(logging.INFO, logger="app.upgrades"):
        send(event("charge.refunded", charge(ids, refunded_amount=2000)))
    row = upgrade_row(app, ids["id"])
    assert row.status.value == "refunded" and row.refunded_at == first_refund
    assert any("already refunded" in r.message for r in caplog.records)
    assert level_of(app, alice) == "member"


def test_late_completed_after_refund_does_not_restore_level(app, send, alice):
    ids = make_upgrade(app, alice)
    send(event("checkout.session.completed", session(ids)),
         event("charge.refunded", charge(ids, refunded_amount=2000)),
         event("checkout.session.async_payment_succeeded", session(ids)))
    assert upgrade_row(app, ids["id"]).status.value == "refunded"
    assert level_of(app, alice) == "member"


def test_partial_refund_is_recorded_but_keeps_level(app, send, alice, caplog):
    ids = make_upgrade(app, alice)
    with caplog.at_level(logging.WARNING, logger="app.upgrades"):
        send(event("checkout.session.completed", session(ids)),
             event("charge.refunded", charge(ids, refunded_amount=500)))
    row = upgrade_row(app, ids["id"])
    assert row.status.value == "complete" and row.amount_refunded == 500
    assert level_of(app, alice) == "gold"
    assert any("partial refund" in r.message for r in caplog.records)


def test_refund_before_completed_is_retried_until_the_payment_is_applied(app, send, runner,
                                                                         alice):
    ids = make_upgrade(app, alice)
    early = event("charge.refunded", charge(ids, refunded_amount=2000))
    # Not ready: the event is kept as failed (Stripe retries it), nothing changes.
    send(early, status=500)
    assert upgrade_row(app, ids["id"]).status.value == "pending"
    send(event("checkout.session.completed", session(ids)))
    assert level_of(app, alice) == "gold"
    result = runner.invoke(args=["billing", "replay", "--failed"])
    assert result.exit_code == 0, result.output
    assert f"{early['id']} (charge.refunded): processed" in result.output
    assert upgrade_row(app, ids["id"]).status.value == "refunded"
    assert level_of(app, alice) == "member"


def test_refund_of_a_charge_that_is_not_ours_is_ignored(app, send, alice):
    ids = make_upgrade(app, alice)
    stranger = charge({**ids, "id": 0, "pi": "pi_elsewhere", "charge": "ch_elsewhere"},
                      refunded_amount=2000)
    stranger["metadata"] = {}
    send(event("checkout.session.completed", session(ids)), event("charge.refunded", stranger))
    assert upgrade_row(app, ids["id"]).status.value == "complete"


def test_session_that_is_not_an_upgrade_is_ignored(app, send, alice):
    ids = make_upgrade(app, alice)
    foreign = session({**ids, "session": "cs_test_someone_else"})
    foreign["metadata"] = {}
    send(event("checkout.session.completed", foreign))
    assert upgrade_row(app, ids["id"]).status.value == "pending"


def test_dispute_flags_upgrade_and_warns_operator(app, send, alice, caplog):
    ids = make_upgrade(app, alice)
    send(event("checkout.session.completed", session(ids)))
    payload = event("charge.dispute.created", dispute(ids))
    with caplog.at_level(logging.WARNING, logger="app.upgrades"):
        send(payload)
    row = upgrade_row(app, ids["id"])
    assert row.disputed_at is not None and row.status.value == "complete"
    warning = next(r for r in caplog.records if "DISPUTE" in r.message)
    assert warning.levelno == logging.WARNING
    assert f"upgrade {ids['id']}" in warning.message and ids["charge"] in warning.message
    assert payload["id"] in warning.message


def test_refunds_with_two_upgrades_keep_the_level_a_later_upgrade_gave(app, send, alice):
    gold = make_upgrade(app, alice, upgrade_type="gold")
    send(event("checkout.session.completed", session(gold)))
    to_platinum = make_upgrade(app, alice, upgrade_type="gold_to_platinum")
    send(event("checkout.session.completed", session(to_platinum)))
    assert level_of(app, alice) == "platinum"
    # Refunding the first: the later upgrade raised the level, so it stays.
    send(event("charge.refunded", charge(gold, refunded_amount=2000)))
    assert level_of(app, alice) == "platinum"
    # Refunding the second too: nothing paid is left, back to the level before both.
    send(event("charge.refunded", charge(to_platinum, refunded_amount=2000)))
    assert level_of(app, alice) == "member"


def test_refunding_the_later_upgrade_returns_to_the_earlier_one(app, send, alice):
    gold = make_upgrade(app, alice, upgrade_type="gold")
    send(event("checkout.session.completed", session(gold)))
    to_platinum = make_upgrade(app, alice, upgrade_type="gold_to_platinum")
    send(event("checkout.session.completed", session(to_platinum)),
         event("charge.refunded", charge(to_platinum, refunded_amount=2000)))
    assert level_of(app, alice) == "gold"
    assert upgrade_row(app, gold["id"]).status.value == "complete"


# --- the charge's card and receipt, for an upgrade a webhook completed -------------------

def test_charge_succeeded_keeps_the_card_and_receipt_link(app, send, alice):
    ids = make_upgrade(app, alice)
    send(event("checkout.session.completed", session(ids)))
    row = upgrade_row(app, ids["id"])
    # The session names the payment but does not carry its charge.
    assert row.card_last4 is None and row.receipt_url is None
    send(event("charge.succeeded", charge(ids)))
    row = upgrade_row(app, ids["id"])
    assert (row.card_brand, row.card_last4) == ("visa", "4242")  # Stripe's example charge
    assert row.stripe_charge_id == ids["charge"] and row.receipt_url.endswith(ids["charge"])
    assert row.status.value == "complete"


def test_charge_succeeded_before_completed_is_kept_too(app, send, alice):
    ids = make_upgrade(app, alice)  # found by the metadata Stripe copies to the charge
    send(event("charge.succeeded", charge(ids)), event("checkout.session.completed",
                                                       session(ids)))
    row = upgrade_row(app, ids["id"])
    assert row.status.value == "complete" and row.card_last4 == "4242"
    assert row.stripe_payment_intent_id == ids["pi"]


def test_charge_of_another_payment_naming_the_upgrade_is_refused(app, send, post_event,
                                                                 alice):
    ids = make_upgrade(app, alice)
    send(event("checkout.session.completed", session(ids)))
    other = charge({**ids, "pi": "pi_elsewhere", "charge": "ch_elsewhere"})
    assert post_event(event("charge.succeeded", other)).get_json()["outcome"] == "malformed"
    row = upgrade_row(app, ids["id"])
    assert row.card_last4 is None and row.stripe_charge_id is None


def test_charge_without_a_card_records_no_card(app, send, alice):
    ids = make_upgrade(app, alice)
    bank = charge(ids)
    bank["payment_method_details"] = {"type": "bacs_debit", "bacs_debit": {"last4": "2345"}}
    send(event("checkout.session.completed", session(ids)), event("charge.succeeded", bank))
    row = upgrade_row(app, ids["id"])
    assert row.card_brand is None and row.receipt_url.endswith(ids["charge"])


def test_a_card_that_is_not_a_card_is_malformed(app, post_event, alice):
    ids = make_upgrade(app, alice)
    odd = charge(ids)
    odd["payment_method_details"]["card"]["last4"] = "42<4"
    assert post_event(event("charge.succeeded", odd)).get_json()["outcome"] == "malformed"


def test_expiry_of_a_session_the_buyer_left_keeps_cancelled(app, send, alice, caplog):
    from app.extensions import db
    from app.upgrades.models import UpgradeStatus, UserUpgrade

    ids = make_upgrade(app, alice)
    with app.app_context():
        row = db.session.get(UserUpgrade, ids["id"])
        assert row.move_to(UpgradeStatus.CANCELLED)
        db.session.commit()
    with caplog.at_level(logging.WARNING, logger="app.upgrades"):
        send(event("checkout.session.expired", session(ids, status="expired",
                                                       payment_status="unpaid")))
    assert upgrade_row(app, ids["id"]).status.value == "cancelled"
    assert not [r for r in caplog.records if "impossible" in r.message]


@pytest.mark.parametrize("level", ["member", "platinum"])
def test_a_plain_completion_at_once_does_what_the_whole_way_does(
        app, send, make_user, monkeypatch, level):
    """A paid session of a pending upgrade is completed without loading a row
    (app/upgrades/completion.py): in one autocommit statement with the event's claim on
    PostgreSQL, in the handler's transaction, or the whole way (`apply_checkout_session`),
    which stays the definition. All three leave the same upgrade, level and receipt job,
    and a redelivery changes nothing. A Platinum member buying Gold keeps Platinum."""
    import dataclasses

    from app.auth.models import Level
    from app.extensions import db
    from app.outbox.models import Job
    from app.upgrades import completion
    from app.webhooks import registry

    with app.app_context():
        postgres = db.engine.dialect.name == "postgresql"
    registrations = registry.HANDLERS["checkout.session.completed"]
    ours = next(r for r in registrations if r.where == {"mode": "payment"})
    taken: list[str] = []

    def took(way: str, applied: bool) -> bool:
        if applied:
            taken.append(way)
        return applied

    def deliver(way: str) -> tuple:
        user = make_user(level=Level(level))
        ids = make_upgrade(app, user)
        completed = event("checkout.session.completed", session(ids))

        def in_one(*args):
            return took("one", completion.complete_in_one(*args))

        def in_transaction(*args):
            return way != "whole" and took("transaction", original(*args))

        with monkeypatch.context() as patch:
            original = completion._complete_at_once
            patch.setitem(registry.HANDLERS, "checkout.session.completed", [
                dataclasses.replace(r, at_once=in_one if way == "one" else None)
                if r is ours else r for r in registrations])
            patch.setattr(completion, "_complete_at_once", in_transaction)
            send(completed)
            send(completed)  # a redelivery: nothing more
        row = upgrade_row(app, ids["id"])
        with app.app_context():
            jobs = db.session.query(Job).filter(
                Job.key.contains(f"upgrade-{ids['id']}:")).all()
            return ((row.status.value, row.level_before.value, row.stripe_payment_intent_id
                     == ids["pi"], row.completed_at is not None), level_of(app, user),
                    [(job.kind, job.payload["template"], job.payload["context"]["amount"],
                      job.payload["context"]["upgrade_id"] == ids["id"]) for job in jobs])

    in_one = deliver("one")
    assert taken == (["one"] if postgres else ["transaction"])
    taken.clear()
    in_transaction = deliver("transaction")
    assert taken == ["transaction"]
    taken.clear()
    whole_way = deliver("whole")
    assert taken == []
    assert in_one == in_transaction == whole_way
    assert whole_way[0] == ("complete", level, True, True)
    assert whole_way[1] == ("gold" if level == "member" else level)
    assert len(whole_way[2]) == 1 and whole_way[2][0][0] == "email"


@pytest.mark.postgres
def test_a_completion_whose_rows_moved_after_the_read_is_left_to_the_handler(
        app, send, make_user, monkeypatch, caplog):
    """PostgreSQL's one statement completes an upgrade only if it and its recipient are as
    its read found them. Here another change makes the recipient Platinum between the read
    and the statement: the statement changes nothing and claims nothing, and the handler's
    way completes the upgrade with the level it finds (kept, with the warning)."""
    import sqlalchemy as sa

    from app.auth.models import Level, User
    from app.extensions import db
    from app.upgrades import completion
    from tests.conftest import need

    with app.app_context():
        need(db.engine.dialect.name == "postgresql", "the one statement is PostgreSQL's")
    user = make_user()
    ids = make_upgrade(app, user)
    original, moved = completion._completes, []

    def read_then_moved(row, session):
        if not moved:  # the first call is the one statement's (no row locked yet)
            moved.append(row.level.value)
            with app.app_context(), db.engine.begin() as connection:
                connection.execute(sa.update(User).where(User.id == user.id)
                                   .values(level=Level.PLATINUM))
        return original(row, session)

    monkeypatch.setattr(completion, "_completes", read_then_moved)
    with caplog.at_level(logging.INFO, logger="app.upgrades"):
        send(event("checkout.session.completed", session(ids)))
    row = upgrade_row(app, ids["id"])
    assert moved == ["member"]  # what the read saw
    assert (row.status.value, row.level_before.value) == ("complete", "platinum")
    assert level_of(app, user) == "platinum"
    assert any("already platinum" in r.message for r in caplog.records)
