"""`flask billing refund-upgrade` and `flask users show --json`, against the emulator."""

import json

import pytest

from app.billing import gateway
from tests.conftest import csrf_token
from tests.upgrade_helpers import level_of, upgrade_row


@pytest.fixture
def app_config(emulated_config):
    return emulated_config


@pytest.fixture
def paid_upgrade(app, client, make_user, login, synced_catalog, emu):
    """Buy an upgrade as alice through the emulator and land on the receipt; returns its id."""
    alice = make_user("alice")
    login(alice)

    def buy(upgrade: str = "platinum", recipient: str = "") -> int:
        response = client.post("/user_upgrades", data={
            "upgrade": upgrade, "recipient": recipient,
            "csrf_token": csrf_token(client, "/user_upgrades/new")})
        assert response.status_code == 303, response.get_data(as_text=True)
        session_id = response.location.rsplit("/", 1)[1]
        emu("POST", f"checkout/sessions/{session_id}/complete", card="4242424242424242")
        upgrade_id = _upgrade_id_for(app, session_id)
        client.get(f"/user_upgrades/{upgrade_id}?session_id={session_id}")
        assert upgrade_row(app, upgrade_id).status.value == "complete"
        return upgrade_id
    return buy


def _upgrade_id_for(app, session_id: str) -> int:
    from app.extensions import db
    from app.upgrades.models import UserUpgrade

    with app.app_context():
        return db.session.scalar(db.select(UserUpgrade.id).where(
            UserUpgrade.stripe_checkout_session_id == session_id))


def charge_of(app, upgrade_id: int):
    with app.app_context():
        charge_id = upgrade_row(app, upgrade_id).stripe_charge_id
        return gateway.client().v1.charges.retrieve(charge_id)


def stripe_refund_events(app) -> list[dict]:
    with app.app_context():
        return [e.to_dict(for_json=True) for e in gateway.iter_events(0, ["charge.refunded"])]


def final_state(app, upgrade_id: int) -> tuple:
    row = upgrade_row(app, upgrade_id)
    return (row.status.value, row.amount_refunded == row.amount, row.refunded_at is not None,
            level_of(app, row.recipient_id))


def test_refund_refunds_at_stripe_and_restores_level(app, runner, make_user, paid_upgrade):
    bob = make_user("bob")
    upgrade_id = paid_upgrade("platinum", recipient="bob")
    assert level_of(app, bob) == "platinum"
    result = runner.invoke(args=["billing", "refund-upgrade", str(upgrade_id),
                                 "--reason", "asked within 14 days"])
    assert result.exit_code == 0, result.output
    assert f"Refunded upgrade {upgrade_id} (£40.00" in result.output
    assert "@bob is now member" in result.output
    assert final_state(app, upgrade_id) == ("refunded", True, True, "member")
    charge = charge_of(app, upgrade_id)
    assert charge.refunded and charge.amount_refunded == 4000


def test_running_twice_refunds_once(app, runner, paid_upgrade):
    upgrade_id = paid_upgrade("gold")
    assert runner.invoke(args=["billing", "refund-upgrade", str(upgrade_id)]).exit_code == 0
    again = runner.invoke(args=["billing", "refund-upgrade", str(upgrade_id)])
    assert again.exit_code == 0 and "already refunded" in again.output
    assert len(charge_of(app, upgrade_id).refunds.data) == 1


def test_the_webhook_after_a_cli_refund_changes_nothing(app, runner, post_event, paid_upgrade):
    upgrade_id = paid_upgrade("gold")
    runner.invoke(args=["billing", "refund-upgrade", str(upgrade_id)])
    before = upgrade_row(app, upgrade_id).refunded_at
    [refunded] = stripe_refund_events(app)
    assert post_event(refunded).status_code == 200
    assert upgrade_row(app, upgrade_id).refunded_at == before


def test_cli_refund_and_webhook_refund_end_in_the_same_state(app, runner, post_event,
                                                            make_user, paid_upgrade):
    make_user("bob")
    make_user("carol")
    by_cli = paid_upgrade("platinum", recipient="bob")
    by_webhook = paid_upgrade("platinum", recipient="carol")
    assert runner.invoke(args=["billing", "refund-upgrade", str(by_cli)]).exit_code == 0
    # Refunded in the Stripe Dashboard (here: straight at the emulator); the webhook follows.
    with app.app_context():
        gateway.create_refund(upgrade_row(app, by_webhook).stripe_payment_intent_id,
                              idempotency_key="dashboard-refund")
    event = next(e for e in stripe_refund_events(app)
                 if e["data"]["object"]["id"] == upgrade_row(app, by_webhook).stripe_charge_id)
    assert post_event(event).status_code == 200
    assert final_state(app, by_cli) == final_state(app, by_webhook) == (
        "refunded", True, True, "member")


def test_unknown_or_incomplete_upgrades_are_refused(app, runner, make_user):
    from tests.upgrade_helpers import make_upgrade

    result = runner.invoke(args=["billing", "refund-upgrade", "999999"])
    assert result.exit_code != 0 and "No upgrade with id 999999." in result.output
    ids = make_upgrade(app, make_user("dave"))
    result = runner.invoke(args=["billing", "refund-upgrade", str(ids["id"])])
    assert result.exit_code != 0
    assert "is pending; only complete upgrades can be refunded" in result.output


def test_users_show_json_reports_upgrades_for_purchaser_and_recipient(app, runner, make_user,
                                                                      paid_upgrade):
    make_user("bob")
    upgrade_id = paid_upgrade("platinum", recipient="bob")
    alice = json.loads(runner.invoke(args=["users", "show", "alice@example.com", "--json"]).output)
    bob = json.loads(runner.invoke(args=["users", "show", "bob@example.com", "--json"]).output)
    assert (alice["level"], bob["level"]) == ("member", "platinum")
    [bought], [received] = alice["upgrades"], bob["upgrades"]
    assert bought["id"] == received["id"] == upgrade_id
    assert (bought["role"], received["role"]) == ("purchaser", "recipient")
    assert bought["type"] == "platinum" and bought["status"] == "complete"
    assert (bought["amount"], bought["currency"]) == (4000, "gbp")
    assert bought["completed_at"] and bought["created_at"]
    text = runner.invoke(args=["users", "show", "bob@example.com"]).output
    assert f"#{upgrade_id} platinum complete as recipient (gift), £40.00" in text


class TestBillingDisabled:
    @pytest.fixture
    def app_config(self):
        return {}

    def test_refund_says_billing_is_disabled(self, runner):
        result = runner.invoke(args=["billing", "refund-upgrade", "1"])
        assert result.exit_code != 0 and "Billing is disabled" in result.output
