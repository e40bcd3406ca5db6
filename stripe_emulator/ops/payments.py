"""Payment methods, charging, refunds and disputes."""
import datetime as dt

from .. import cards
from ..errors import CardError, InvalidRequest, missing
from ..events import emit, emit_updated
from ..shapes.customers import (
    billing_details,
    card_details,
    payment_method,
    us_bank_account_details,
)
from ..shapes.payments import charge as charge_shape
from ..shapes.payments import dispute as dispute_shape
from ..shapes.payments import outcome
from ..shapes.payments import refund as refund_shape
from ..store import public, snapshot

# Declines that do not depend on the test card, in Stripe's words.
DECLINE_MESSAGES = {"expired_card": "Your card has expired."}

# Stripe's magic test payment method ids.
MAGIC_PMS = {
    "pm_card_visa": "4242424242424242",
    "pm_card_mastercard": "5555555555554444",
    "pm_card_chargeDeclined": "4000000000000002",
    "pm_card_chargeDeclinedInsufficientFunds": "4000000000009995",
    "pm_card_chargeCustomerFail": "4000000000000341",
    "pm_card_authenticationRequired": "4000002760003184",
    "pm_card_authenticationRequiredOnSetup": "4000002500003155",
    "pm_card_threeDSecure2Required": "4000000000003220",
}


def new_card_pm(st, number, email=None, name=None):
    card = cards.lookup(number)
    if card is None:
        raise CardError("Your card number is incorrect.", code="incorrect_number",
                        param="number")
    pm = payment_method(st.now(), "card", card_details(card), billing_details(email, name))
    pm["_card"] = card.number
    st.add(pm)
    return pm


def new_bank_pm(st, email=None, name=None):
    """The delayed ("bank debit") method the hosted page offers."""
    return st.add(payment_method(st.now(), "us_bank_account", us_bank_account_details(),
                                 billing_details(email, name)))


def resolve_pm(st, ident, param="payment_method"):
    """A stored payment method, or a fresh one for a magic test id."""
    if ident in MAGIC_PMS:
        return new_card_pm(st, MAGIC_PMS[ident])
    pm = st.get(ident, "payment_method")
    if pm is None:
        raise missing("PaymentMethod", ident, param=param)
    return pm


OFFERED_TYPES = ("card",)  # what an intent can be paid with here


def method_types(allowed=None, excluded=None):
    """An intent's or session's computed `payment_method_types`: what the emulator
    offers, filtered by `allowed_payment_method_types` and
    `excluded_payment_method_types` (mutually exclusive, as at Stripe)."""
    if allowed is not None and excluded is not None:
        raise InvalidRequest("You may only specify one of these parameters: "
                             "allowed_payment_method_types, "
                             "excluded_payment_method_types.",
                             code="parameters_exclusive",
                             param="excluded_payment_method_types")
    offered = [t for t in OFFERED_TYPES if allowed is None or t in allowed]
    return [t for t in offered if t not in (excluded or [])]


def decline(code, message=None, **extra):
    return CardError(message or cards.DECLINE_MESSAGES.get(code, "Your card was declined."),
                     code="card_declined", decline_code=code, **extra)


def intent_decline(pi):
    """The 402 card_error Stripe answers when `pi`'s charge was declined: the intent's
    `last_payment_error` (code, decline_code, message, charge, doc_url, payment_method)
    with the PaymentIntent itself."""
    error = {k: v for k, v in pi["last_payment_error"].items() if k != "type"}
    return CardError(error.pop("message"), code=error.pop("code"),
                     payment_intent=public(pi), **error)


def attach(st, pm, customer):
    card = cards.lookup(pm.get("_card"))
    if card and card.attach_decline:
        raise decline(card.attach_decline)
    if pm["customer"] == customer["id"]:
        return pm
    if pm["customer"]:
        raise InvalidRequest("The payment method you provided has already been attached "
                             "to a customer.", param="payment_method")
    pm["customer"] = customer["id"]
    emit(st, "payment_method.attached", pm)
    return pm


def detach(st, pm):
    customer = st.get(pm["customer"] or "", "customer")
    if customer is None:
        raise InvalidRequest("The payment method you provided is not attached to a "
                             "customer so detachment is impossible.")
    pm["customer"] = None
    emit(st, "payment_method.detached", pm, {"customer": customer["id"]})
    if customer["invoice_settings"]["default_payment_method"] == pm["id"]:
        before = snapshot(customer)
        customer["invoice_settings"]["default_payment_method"] = None
        emit_updated(st, "customer.updated", customer, before)
    return pm


def charge_intent(st, pi, pm, off_session=False, authenticated=False):
    """Try to collect a payment intent with a payment method: emits the charge and
    intent events; raises CardError on decline (the state change stays, as at Stripe).
    A card that asks for 3-D Secure (and was not just `authenticated`) leaves the
    intent in `requires_action` with no charge: returns None."""
    if not authenticated and needs_authentication(pm, off_session):
        require_action(st, pi, pm, off_session)
        return None
    pi["payment_method"] = pm["id"]
    ch = st.add(charge_shape(st.now(), st.base_url, pi["amount"], pi["currency"], pm,
                             customer=pi["customer"], payment_intent=pi["id"],
                             metadata=dict(pi["metadata"]),
                             description=pi["description"],
                             receipt_email=pi["receipt_email"]))
    pi["latest_charge"] = ch["id"]
    if pm["type"] != "card":
        ch["outcome"] = outcome("authorized", message="Payment pending.")
        pi["status"] = "processing"
        emit(st, "charge.pending", ch)
        emit(st, "payment_intent.processing", pi)
        return ch
    card = cards.lookup(pm.get("_card"))
    if has_expired(st, pm):  # whatever the card, as Stripe's issuers decline one
        fail_charge(st, pi, ch, "expired_card", code="expired_card")
        raise intent_decline(pi)
    # A decline set on this saved card (the control endpoint: "the bank declines it until
    # further notice", or "not any more") wins over the test card's own behaviour.
    decline = pm["_decline"] if "_decline" in pm else (card.charge_decline if card else None)
    if decline:
        fail_charge(st, pi, ch, decline)
        raise intent_decline(pi)
    succeed_charge(st, pi, ch)
    return ch


def has_expired(st, pm):
    """Whether a card is past its expiry (valid through the end of its month) by the
    emulator's clock (the test clock's, for a customer on one)."""
    card = pm.get("card") or {}
    if "exp_year" not in card:
        return False
    today = dt.datetime.fromtimestamp(st.now(), dt.UTC)
    return (card["exp_year"], card["exp_month"]) < (today.year, today.month)


def succeed_charge(st, pi, ch):
    ch.update(status="succeeded", paid=True, captured=True, amount_captured=ch["amount"],
              outcome=ch["outcome"] or outcome("authorized"))
    pi.update(status="succeeded", amount_received=pi["amount"], last_payment_error=None,
              next_action=None)
    if pi["setup_future_usage"]:  # saved for later payments: set up, as at Stripe
        mark_set_up(st.get(ch["payment_method"] or "", "payment_method"))
    emit(st, "charge.succeeded", ch)
    emit(st, "payment_intent.succeeded", pi)


def fail_charge(st, pi, ch, decline_code, code="card_declined"):
    """Decline the charge; `code` is the error's (Stripe's `card_declined`, or a more
    specific one such as `expired_card`, whose decline code is the same word)."""
    message = DECLINE_MESSAGES.get(decline_code) or cards.DECLINE_MESSAGES.get(
        decline_code, "Your card was declined.")
    ch.update(status="failed", failure_code=code, failure_message=message,
              outcome=outcome("issuer_declined", decline_code,
                              "The bank did not return any further details with this "
                              "decline."))
    pm = st.get(ch["payment_method"] or "", "payment_method")
    pi.update(status="requires_payment_method", last_payment_error={
        "charge": ch["id"], "code": code, "decline_code": decline_code,
        "doc_url": "https://stripe.com/docs/error-codes/" + code.replace("_", "-"),
        "message": message, "payment_method": public(pm) if pm else None,
        "type": "card_error"})
    pi["payment_method"] = None
    emit(st, "charge.failed", ch)
    emit(st, "payment_intent.payment_failed", pi)


AUTHENTICATION_REQUIRED = ("Your card was declined. This transaction requires "
                           "authentication.")
AUTHENTICATION_FAILED = ("We are unable to authenticate your payment method. Please "
                         "choose a different payment method and try again.")


def needs_authentication(pm, off_session):
    """Whether charging (or saving) `pm` now asks the customer for 3-D Secure."""
    return pm["type"] == "card" and cards.needs_authentication(
        cards.lookup(pm.get("_card")), off_session, pm.get("_set_up", False))


def mark_set_up(pm):
    """The card was set up for future (off-session) use."""
    if pm is not None:
        pm["_set_up"] = True


def challenge_url(st, intent):
    """The emulator's challenge page for an intent in `requires_action`."""
    return f"{st.base_url}/authenticate/{intent['id']}"


def require_action(st, intent, pm, off_session=False):
    """The intent waits for the customer to authenticate (3-D Secure), with Stripe's
    `next_action`; off-session, `last_payment_error` says `authentication_required`
    (Stripe's decline for a payment the customer was not there to authenticate).
    Emits payment_intent.requires_action (or setup_intent.requires_action)."""
    intent.update(status="requires_action", payment_method=pm["id"], next_action={
        "type": "redirect_to_url",
        "redirect_to_url": {"return_url": intent.get("_return_url"),
                            "url": challenge_url(st, intent)}})
    error_key = "last_payment_error" if intent["object"] == "payment_intent" \
        else "last_setup_error"
    intent[error_key] = None
    if off_session:
        intent[error_key] = {
            "code": "authentication_required", "decline_code": "authentication_required",
            "doc_url": "https://stripe.com/docs/error-codes/authentication-required",
            "message": AUTHENTICATION_REQUIRED, "payment_method": public(pm),
            "type": "card_error"}
    emit(st, f"{intent['object']}.requires_action", intent)


def fail_authentication(st, intent):
    """The customer failed (or abandoned) the challenge: the intent needs another
    payment method, with Stripe's `*_authentication_failure` error. Emits
    payment_intent.payment_failed (or setup_intent.setup_failed)."""
    pm = st.get(intent["payment_method"] or "", "payment_method")
    kind = intent["object"]
    error = {"code": f"{kind}_authentication_failure",
             "doc_url": f"https://stripe.com/docs/error-codes/"
                        f"{kind.replace('_', '-')}-authentication-failure",
             "message": AUTHENTICATION_FAILED, "payment_method": public(pm) if pm else None,
             "type": "invalid_request_error"}
    intent.update(status="requires_payment_method", payment_method=None, next_action=None)
    if kind == "payment_intent":
        intent["last_payment_error"] = error
        emit(st, "payment_intent.payment_failed", intent)
    else:
        intent["last_setup_error"] = error
        emit(st, "setup_intent.setup_failed", intent)


def settle_intent(st, pi, succeeded):
    """Finish a processing (delayed) payment one way or the other."""
    ch = st.get(pi["latest_charge"], "charge")
    if pi["status"] != "processing" or ch is None:
        raise InvalidRequest(f"PaymentIntent {pi['id']} is not processing.")
    if succeeded:
        succeed_charge(st, pi, ch)
    else:
        fail_charge(st, pi, ch, "insufficient_funds")
        ch["failure_code"] = "insufficient_funds"


def refund(st, ch, amount=None, reason=None, metadata=None):
    if ch["status"] != "succeeded":
        raise InvalidRequest(f"Charge {ch['id']} has not succeeded; it cannot be refunded.",
                             param="charge")
    left = ch["amount"] - ch["amount_refunded"]
    amount = left if amount is None else amount
    if left <= 0:
        raise InvalidRequest(f"Charge {ch['id']} has already been refunded.",
                             code="charge_already_refunded")
    if not 0 < amount <= left:
        raise InvalidRequest(f"Refund amount ({amount}) is greater than unrefunded amount "
                             f"on charge ({left})", param="amount")
    re = st.add(refund_shape(st.now(), ch, amount, reason=reason,
                             metadata=metadata or {}))
    before = snapshot(ch)
    ch["amount_refunded"] += amount
    ch["refunded"] = ch["amount_refunded"] == ch["amount"]
    ch["refunds"]["data"].insert(0, public(re))
    emit(st, "refund.created", re)
    emit_updated(st, "charge.refunded", ch, before)
    return re


def dispute(st, ch, reason="fraudulent"):
    dp = st.add(dispute_shape(st.now(), ch, reason))
    before = snapshot(ch)
    ch["disputed"] = True
    emit(st, "charge.dispute.created", dp)
    emit_updated(st, "charge.updated", ch, before)
    return dp
