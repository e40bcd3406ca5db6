"""Helpers shared by the upgrade tests: rows made through the service, Stripe payloads."""

from app.auth.models import User
from app.extensions import db
from app.upgrades.models import UpgradeType, UserUpgrade
from tests.stripe_objects import new_id, stripe_object


def make_upgrade(app, purchaser, recipient=None, upgrade_type: str = "gold",
                 amount: int = 2000) -> dict:
    """A pending upgrade with a (fake) Checkout Session id; returns its ids."""
    recipient = recipient or purchaser
    with app.app_context():
        upgrade = UserUpgrade(
            purchaser_id=purchaser.id, recipient_id=recipient.id,
            type=UpgradeType(upgrade_type), amount=amount, currency="gbp",
            level_before=db.session.get(User, recipient.id).level,
            stripe_checkout_session_id=new_id("cs"))
        db.session.add(upgrade)
        db.session.commit()
        return {"id": upgrade.id, "session": upgrade.stripe_checkout_session_id,
                "pi": new_id("pi"), "charge": new_id("ch"), "amount": amount}


def metadata(ids: dict) -> dict:
    return {"kind": "upgrade", "upgrade_id": str(ids["id"])}


def session(ids: dict, *, status: str = "complete", payment_status: str = "paid") -> dict:
    """The upgrade's Checkout Session as Stripe sends it in checkout.session.* events."""
    return stripe_object(
        "checkout.session", id=ids["session"], mode="payment", status=status,
        payment_status=payment_status,
        payment_intent=ids["pi"] if status == "complete" else None,
        client_reference_id=f"upgrade-{ids['id']}", metadata=metadata(ids),
        amount_total=ids["amount"], amount_subtotal=ids["amount"], currency="gbp")


def charge(ids: dict, *, refunded_amount: int = 0) -> dict:
    return stripe_object(
        "charge", id=ids["charge"], payment_intent=ids["pi"], amount=ids["amount"],
        amount_captured=ids["amount"], amount_refunded=refunded_amount,
        refunded=refunded_amount >= ids["amount"], currency="gbp", metadata=metadata(ids),
        status="succeeded", paid=True, receipt_url=f"https://pay.stripe.com/receipts/{ids['charge']}")


def dispute(ids: dict) -> dict:
    return stripe_object("dispute", id=new_id("dp"), charge=ids["charge"],
                         payment_intent=ids["pi"], amount=ids["amount"], currency="gbp",
                         reason="fraudulent")


def upgrade_row(app, upgrade_id: int) -> UserUpgrade:
    with app.app_context():
        row = db.session.get(UserUpgrade, upgrade_id)
        db.session.expunge(row)
        return row


def level_of(app, user_or_id) -> str:
    with app.app_context():
        return db.session.get(User, getattr(user_or_id, "id", user_or_id)).level.value


def emulator_post(emu, path: str, body: dict) -> dict:
    """POST a control call whose body has a `method` key (which `emu(...)` cannot pass)."""
    import requests

    response = requests.post(f"{emu.url}/_emulator/{path}", json=body, timeout=30)
    assert response.status_code < 400, response.text
    return response.json()
