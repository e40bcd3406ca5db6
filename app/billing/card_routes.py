"""Card actions of `/settings/billing`: add (setup-mode Checkout), reorder, default, remove.

Each is a POST with CSRF that runs one verb of app/billing/cards.py, commits, and goes
back to the page with a sentence; a removal is asked about first, on a page of its own
(a GET, so it works without JavaScript). A card id that is not the user's is a 404 before
anything is asked of Stripe."""

import secrets
from collections.abc import Callable

from flask import (
    abort,
    current_app,
    flash,
    get_flashed_messages,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from app.billing import cards
from app.billing.blueprint import bp
from app.billing.card_setup import apply_setup_return, open_card_setup
from app.billing.errors import BillingDisabled, BillingError
from app.billing.models import PaymentMethod
from app.extensions import db, limiter
from app.money import format_money
from app.subscriptions.forms import ActionForm
from app.subscriptions.pay_now import is_overdue, pay_open_invoice

UNAVAILABLE = "Cards cannot be changed at the moment. Nothing was changed; please try again later."


def _billing_page(message: str, category: str = "success") -> ResponseReturnValue:
    flash(message, category)
    return redirect(url_for("settings.billing"), 303)


def _site_url(path: str) -> str:
    return str(current_app.config["SITE_URL"]) + path


def _checked() -> None:
    """Billing on and the form's CSRF token good; otherwise the request stops here."""
    if not current_app.config["BILLING_ENABLED"]:
        raise BillingDisabled(UNAVAILABLE)
    if not ActionForm().validate_on_submit():
        abort(400, description="That form expired; please go back and try again.")


@bp.post("/settings/billing/cards")
@login_required
@limiter.limit("10 per minute")
def add_card() -> ResponseReturnValue:
    """Off to Stripe's page to save a card; back to `card_added`."""
    _checked()
    success = _site_url(url_for("billing.card_added")) + "?session_id={CHECKOUT_SESSION_ID}"
    cancel = _site_url(url_for("settings.billing"))
    address = open_card_setup(current_user._get_current_object(), success, cancel)
    db.session.commit()  # the Stripe customer, created on first need, is kept
    return redirect(address, 303)


@bp.get("/settings/billing/cards/added")
@login_required
def card_added() -> ResponseReturnValue:
    """Back from Stripe's page: record the card at once rather than wait for the webhook."""
    session_id = request.args.get("session_id", "")
    if not (current_app.config["BILLING_ENABLED"] and session_id.isascii()
            and session_id.isprintable() and 0 < len(session_id) <= 255):
        return redirect(url_for("settings.billing"), 303)
    try:
        card = apply_setup_return(current_user._get_current_object(), session_id)
    except BillingError:
        db.session.rollback()
        return _billing_page("We could not confirm the new card yet; it appears here as soon "
                             "as Stripe tells us.", "info")
    db.session.commit()
    if card is None:
        return redirect(url_for("settings.billing"), 303)
    # The setup session names this attempt: coming back twice pays once.
    return _pay_overdue_with(card, f"{card.label} saved.", attempt=session_id)


@bp.post("/settings/billing/cards/<dbid:card_id>/default")
@login_required
@limiter.limit("20 per minute")
def make_default(card_id: int) -> ResponseReturnValue:
    response = _act(card_id, cards.make_default,
                    lambda card: f"{card.label} is now your default card.")
    card = cards.card_of(current_user._get_current_object(), card_id)
    if card is None or not card.is_default or not is_overdue(current_user):
        return response
    get_flashed_messages()  # the sentence is said again below, with the payment's news
    return _pay_overdue_with(card, f"{card.label} is now your default card.",
                             attempt=secrets.token_urlsafe(12))


def _pay_overdue_with(card: PaymentMethod, said: str, *, attempt: str) -> ResponseReturnValue:
    """While a payment is overdue, a card just added or made the default pays it at once."""
    user = current_user._get_current_object()
    if not is_overdue(user):
        return _billing_page(said)
    try:
        outcome = pay_open_invoice(user, card, attempt=attempt)
    except BillingError as exc:
        db.session.rollback()
        return _billing_page(f"{said} It could not pay your overdue payment, though: {exc}",
                             "error")
    db.session.commit()
    if outcome.result == "paid":
        return _billing_page(f"{said} Your overdue payment of "
                             f"{format_money(outcome.amount, outcome.currency)} went through "
                             "with it: your account is in good standing again.")
    if outcome.result == "confirm":
        return _billing_page(f"{said} Your bank asks you to confirm the overdue payment: "
                             "use Confirm your payment above.", "info")
    return _billing_page(said)


@bp.post("/settings/billing/cards/<dbid:card_id>/up")
@login_required
@limiter.limit("20 per minute")
def move_up(card_id: int) -> ResponseReturnValue:
    return _act(card_id, lambda user, card: cards.move(user, card, -1),
                lambda card: f"{card.label} moved up.")


@bp.post("/settings/billing/cards/<dbid:card_id>/down")
@login_required
@limiter.limit("20 per minute")
def move_down(card_id: int) -> ResponseReturnValue:
    return _act(card_id, lambda user, card: cards.move(user, card, +1),
                lambda card: f"{card.label} moved down.")


# One rule for both methods: an id out of range is then a 404 for each (two rules would
# answer a POST there 405, having matched the GET's path).
@bp.route("/settings/billing/cards/<dbid:card_id>/remove", methods=["GET", "POST"])
@login_required
@limiter.limit("10 per minute", methods=["POST"])
def remove(card_id: int) -> ResponseReturnValue:
    """GET: "Remove Visa ending 4242?", with Remove (this POST) and Keep; or, for the only
    card while a subscription needs it, why it stays. POST: remove it."""
    if request.method == "POST":
        return _act(card_id, cards.remove, lambda card: f"{card.label} removed.")
    user = current_user._get_current_object()
    card = cards.card_of(user, card_id)
    if card is None:
        abort(404)
    saved = cards.cards_for(user)
    return render_template("billing/remove.html", card=card, form=ActionForm(),
                           others=len(saved) - 1, kept=cards.why_card_stays(user, saved))


def _act(card_id: int, verb: Callable[..., None],
         message: Callable[[PaymentMethod], str]) -> ResponseReturnValue:
    """Run one card verb on the user's card and say what it did."""
    user = current_user._get_current_object()
    card = cards.card_of(user, card_id)
    if card is None:
        abort(404)
    _checked()
    said = message(card)  # before a removal detaches it from the session
    try:
        verb(user, card)
    except cards.CardNotAllowed as exc:
        db.session.rollback()
        return _billing_page(str(exc), "error")
    except BillingError:
        db.session.rollback()  # Stripe did not take the change: nothing changes here either
        raise
    db.session.commit()
    return _billing_page(said)
