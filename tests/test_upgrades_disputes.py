"""A dispute finds its upgrade whatever the order its events arrive in."""

import pytest

from app.billing import gateway
from tests.conftest import csrf_token
from tests.stripe_objects import event
from tests.upgrade_helpers import dispute, level_of, make_upgrade, session, upgrade_row


@pytest.fixture
def app_config(emulated_config):
    return emulated_config


def events_of(app, types: list[str]) -> dict[str, dict]:
    """The emulator's latest event of each type, as the payload it would deliver."""
    with app.app_context():
        found = {}
        for stripe_event in gateway.iter_events(0, types):
            found.setdefault(stripe_event.type, stripe_event.to_dict(for_json=True))
    return found


def test_a_dispute_before_its_payment_is_applied_still_flags_the_upgrade(
        app, client, make_user, login, synced_catalog, emu, post_event):
    alice = make_user("alice")
    login(alice)
    response = client.post("/user_upgrades", data={
        "upgrade": "gold", "csrf_token": csrf_token(client, "/user_upgrades/new")})
    session_id = response.location.rsplit("/", 1)[1]
    emu("POST", f"checkout/sessions/{session_id}/complete", card="4242424242424242")
    with app.app_context():
        paid = gateway.retrieve_checkout_session(session_id,
                                                 expand=["payment_intent.latest_charge"])
    emu("POST", f"charges/{paid.payment_intent.latest_charge.id}/dispute")
    found = events_of(app, ["charge.dispute.created", "checkout.session.completed"])

    # Stripe delivers the dispute first: we have not stored the payment intent yet.
    early = post_event(found["charge.dispute.created"])
    assert early.status_code == 200 and early.json["outcome"] == "processed"
    upgrade_id = int(paid.metadata["upgrade_id"])
    row = upgrade_row(app, upgrade_id)
    assert row.disputed_at is not None and row.status.value == "pending"
    assert row.stripe_payment_intent_id == paid.payment_intent.id

    assert post_event(found["checkout.session.completed"]).status_code == 200
    row = upgrade_row(app, upgrade_id)
    assert row.status.value == "complete" and row.disputed_at is not None
    assert level_of(app, alice) == "gold"


def test_a_dispute_stripe_cannot_be_asked_about_is_retried(app, make_user, post_event, emu,
                                                           runner):
    alice = make_user("alice")
    ids = make_upgrade(app, alice)
    app.config["STRIPE_API_BASE"] = "http://127.0.0.1:9"  # Stripe unreachable
    app.extensions.pop("stripe_client", None)
    early = event("charge.dispute.created", dispute(ids))
    response = post_event(early)
    assert response.status_code == 500  # a retry can succeed: Stripe will retry
    assert upgrade_row(app, ids["id"]).disputed_at is None

    # The payment arrives; Stripe's retry (here an operator's replay) finds the upgrade.
    assert post_event(event("checkout.session.completed", session(ids))).status_code == 200
    result = runner.invoke(args=["billing", "replay", early["id"]])
    assert result.exit_code == 0, result.output
    assert upgrade_row(app, ids["id"]).disputed_at is not None


def test_a_dispute_on_a_payment_that_is_not_ours_is_answered_and_logged(app, post_event,
                                                                       caplog):
    with app.app_context():
        intent = gateway.client().v1.payment_intents.create(params={
            "amount": 500, "currency": "gbp"})
    stranger = dispute({"charge": "ch_unknown", "pi": intent.id, "amount": 500})
    response = post_event(event("charge.dispute.created", stranger))
    assert response.status_code == 200 and response.json["outcome"] == "processed"
    warning = next(r.getMessage() for r in caplog.records if "DISPUTE" in r.getMessage())
    assert "no upgrade of ours" in warning and stranger["id"] in warning
