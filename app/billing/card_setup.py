"""Adding a card: a setup-mode Checkout Session on the user's Stripe customer (Stripe's page
takes the card; nothing is charged), and the return from it, which records the card at
once rather than wait for the webhook."""

from flask import current_app

from app.auth.models import User
from app.billing import cards, gateway
from app.billing.customers import customer_for, stored_customer_id
from app.billing.models import PaymentMethod
from app.billing.objects import parse
from app.billing.views import SetupCheckoutView


def open_card_setup(user: User, success_url: str, cancel_url: str) -> str:
    """The address of a Checkout page where the user saves a card (creates the customer
    the first time; flushes)."""
    customer_id = customer_for(user)
    # No idempotency key of our own: a second session for a second click saves nothing
    # twice (the card is saved only when the user completes one), and the SDK already
    # keys its own retries of this request.
    session = gateway.create_checkout_session({
        "mode": "setup", "customer": customer_id,
        "currency": current_app.config["BILLING_CURRENCY"],
        "success_url": success_url, "cancel_url": cancel_url,
        "metadata": {"user_id": str(user.id)},
    }, idempotency_key=None)
    return str(session.url)


def apply_setup_return(user: User, session_id: str) -> PaymentMethod | None:
    """The card a completed setup session of this user's saved, recorded (and made the
    default if it is the user's only card); None if the session is not that."""
    customer_id = stored_customer_id(user)
    if customer_id is None:
        return None
    session = parse(SetupCheckoutView, gateway.retrieve_checkout_session(session_id).to_dict(),
                    f"checkout session {session_id}")
    if session.customer != customer_id or session.status != "complete" \
            or session.setup_intent is None:
        return None
    card = cards.sync_setup(session.setup_intent)
    if card is not None and len(cards.cards_for(user)) == 1:
        cards.make_default(user, card)  # the only card is the one Stripe charges
    return card
