"""PostgreSQL's at-once way under concurrent deliveries: a plain renewal or upgrade
completion is one autocommit statement that claims the event with its changes
(app/webhooks/registry.py, `at_once`). Eight deliveries at once, half of them one event and
half the same object under other event ids, then Stripe's retry of whatever failed: the
changes happen once, one receipt job, every event stored processed."""

import json
import os
import threading
import time

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.history.models import Invoice
from app.outbox.models import Job
from app.webhooks.models import StripeEvent
from tests.conftest import WEBHOOK_SECRET, need
from tests.stripe_objects import event, new_id, signature_header
from tests.subscription_helpers import invoice, subscription, subscription_row, with_customer
from tests.upgrade_helpers import level_of, make_upgrade, session, upgrade_row

pytestmark = pytest.mark.postgres


@pytest.fixture
def app_config(billing_config):
    return billing_config


@pytest.fixture(autouse=True)
def on_postgres(app):
    need(bool(os.environ.get("TEST_DATABASE_URL")), "TEST_DATABASE_URL is not set")
    with app.app_context():
        assert db.engine.dialect.name == "postgresql"


def post(app, body: bytes) -> int:
    return app.test_client().post("/webhooks/stripe", data=body, headers={
        "Content-Type": "application/json",
        "Stripe-Signature": signature_header(body, WEBHOOK_SECRET)}).status_code


def deliver_at_once(app, payload: dict) -> list[bytes]:
    """Eight deliveries released together (every other one the same event), then each
    again, as Stripe retries one that failed; the bodies sent."""
    bodies = [json.dumps(payload if i % 2 else {**payload, "id": f"{payload['id']}_{i}"})
              .encode() for i in range(8)]
    barrier, statuses = threading.Barrier(len(bodies)), []

    def deliver(body: bytes) -> None:
        barrier.wait()
        statuses.append(post(app, body))

    threads = [threading.Thread(target=deliver, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(statuses) == len(bodies) and all(s in (200, 500) for s in statuses), statuses
    assert [post(app, body) for body in bodies] == [200] * len(bodies)
    return bodies


def processed(app, bodies: list[bytes]) -> set[str]:
    ids = {json.loads(body)["id"] for body in bodies}
    with app.app_context():
        return set(db.session.scalars(sa.select(StripeEvent.stripe_id).where(
            StripeEvent.stripe_id.in_(ids), StripeEvent.processed_at.is_not(None))))


def test_a_renewal_delivered_eight_times_at_once_is_recorded_once(app, make_user, post_event):
    user = make_user()
    customer = with_customer(app, user)
    sub_id, t = new_id("sub"), int(time.time())
    assert post_event(event("customer.subscription.created",
                            subscription(sub_id, customer, start=t), created=t)).status_code == 200
    bill = invoice(sub_id, customer, status="paid", created=t + 5)
    bill["amount_paid"] = bill["amount_due"]
    bodies = deliver_at_once(app, event("invoice.paid", bill, created=t + 6))
    assert processed(app, bodies) == {json.loads(body)["id"] for body in bodies}
    with app.app_context():
        rows = db.session.scalars(sa.select(Invoice).where(
            Invoice.stripe_invoice_id == bill["id"])).all()
        jobs = db.session.scalars(sa.select(Job).where(Job.key.contains(bill["id"]))).all()
        assert [(r.user_id, r.status, r.amount_paid) for r in rows] == [
            (user.id, "paid", bill["amount_due"])]
        assert [job.kind for job in jobs] == ["invoice-paid"]
    assert subscription_row(app, sub_id).latest_invoice_id == bill["id"]


def test_an_upgrade_completed_eight_times_at_once_is_completed_once(app, make_user):
    user = make_user()
    ids = make_upgrade(app, user)
    bodies = deliver_at_once(app, event("checkout.session.completed", session(ids)))
    assert processed(app, bodies) == {json.loads(body)["id"] for body in bodies}
    row = upgrade_row(app, ids["id"])
    assert (row.status.value, row.level_before.value) == ("complete", "member")
    assert level_of(app, user) == "gold"
    with app.app_context():
        jobs = db.session.scalars(sa.select(Job).where(
            Job.key.contains(f"upgrade-{ids['id']}:"))).all()
        assert [job.payload["template"] for job in jobs] == ["upgrade_receipt"]


def test_a_plain_case_that_fails_at_once_goes_the_usual_way(app, make_user, monkeypatch,
                                                            caplog):
    """The one statement rolled back whole (a deadlock, say): the delivery is not failed
    for it; the usual way applies the event, once."""
    import dataclasses
    import logging

    from app.webhooks import registry

    registrations = registry.HANDLERS["checkout.session.completed"]
    ours = next(r for r in registrations if r.where == {"mode": "payment"})

    def deadlocked(connection, event, claim):
        raise sa.exc.OperationalError("WITH …", {}, Exception("deadlock detected"))

    monkeypatch.setitem(registry.HANDLERS, "checkout.session.completed", [
        dataclasses.replace(r, at_once=deadlocked) if r is ours else r for r in registrations])
    user = make_user()
    ids = make_upgrade(app, user)
    completed = event("checkout.session.completed", session(ids))
    with caplog.at_level(logging.WARNING, logger="app.webhooks"):
        assert post(app, json.dumps(completed).encode()) == 200
    assert any("failed at once (Exception: deadlock detected); going the usual way"
               in r.message for r in caplog.records)
    assert (upgrade_row(app, ids["id"]).status.value, level_of(app, user)) == ("complete", "gold")
    assert processed(app, [json.dumps(completed).encode()]) == {completed["id"]}
