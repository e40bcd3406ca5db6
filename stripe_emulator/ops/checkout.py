"""Completing, settling and expiring Checkout Sessions: the one code path shared by
the hosted page and the control endpoint."""
import datetime as dt

from .. import cards
from ..errors import CardError, InvalidRequest
from ..events import emit
from ..shapes.checkout import customer_details
from ..shapes.customers import customer as customer_shape
from ..shapes.customers import setup_intent
from ..shapes.payments import payment_intent
from ..store import snapshot
from . import invoices, subscriptions
from .payments import (
    AUTHENTICATION_FAILED,
    attach,
    charge_intent,
    decline,
    mark_set_up,
    needs_authentication,
    new_bank_pm,
    new_card_pm,
    require_action,
    settle_intent,
)

DEFAULT_EMAIL = "customer@example.com"


def _ensure_open(st, session):
    if session["status"] == "open" and session["expires_at"] <= st.now():
        expire(st, session)
    if session["status"] != "open":
        raise InvalidRequest(f"This Checkout Session is no longer open "
                             f"(status: {session['status']}).")


def _customer(st, session, email, name, always):
    if session["customer"]:
        return st.get(session["customer"], "customer")
    if not always:
        return None
    cus = st.add(customer_shape(st.now(), email=email, name=name))
    emit(st, "customer.created", cus)
    session["customer"] = cus["id"]
    return cus


def complete(st, session, card=None, method="card", email=None, name=None, expiry=None):
    """Pay (or save a card for) an open session; raises CardError on a decline and
    leaves the session open, exactly like the hosted page. `expiry`: the card's
    (exp_month, exp_year), else the test cards' 12/2034."""
    _ensure_open(st, session)
    email = email or session["customer_email"] or _known_email(st, session) or DEFAULT_EMAIL
    if method == "delayed" and session["mode"] != "payment":
        raise InvalidRequest("Delayed payment methods are only offered in payment mode.",
                             param="method")
    test_card = None if method == "delayed" else cards.lookup(card)
    if method != "delayed" and test_card is None:
        raise CardError("Your card number is incorrect.", code="incorrect_number",
                        param="number")
    if expiry is not None and test_card is not None:
        _check_expiry(st, expiry)
    session.pop("_auth_error", None)
    if _run(st, session, test_card, email, name, expiry):
        _finish(st, session, email, name)
    return session


def _run(st, session, test_card, email, name, expiry, ready_pm=None):
    """The mode's completion; False while a 3-D Secure challenge waits (`ready_pm`:
    the card whose challenge the customer has just completed)."""
    handler = {"payment": _complete_payment, "subscription": _complete_subscription,
               "setup": _complete_setup}[session["mode"]]
    return handler(st, session, test_card, email, name, expiry, ready_pm)


def _finish(st, session, email, name):
    session["status"] = "complete"
    session["customer_details"] = customer_details(email, name)
    emit(st, "checkout.session.completed", session)


def _await(session, intent, pm, email, name):
    """The payment (or the card's setup) waits for the customer's 3-D Secure challenge
    (the hosted page shows it; `/_emulator/payment_intents/<id>/authenticate` answers
    it); the session stays open until then. Returns False."""
    intent["_session"] = session["id"]
    session["_challenge"] = {"intent": intent["id"], "pm": pm["id"], "email": email,
                             "name": name}
    return False


def challenge_of(st, session):
    """The intent whose challenge an open session is waiting for, or None."""
    ident = (session.get("_challenge") or {}).get("intent") or ""
    intent = st.get(ident)
    return intent if intent and intent["status"] == "requires_action" else None


def after_authentication(st, session, intent, succeeded):
    """The customer answered the challenge (the intent is already settled: paid, or
    failed): the session completes, or stays open with Stripe's error so another card
    can be tried."""
    challenge = session.pop("_challenge", None) or {}
    if not succeeded:
        session["_auth_error"] = AUTHENTICATION_FAILED
        return session
    email, name = challenge.get("email"), challenge.get("name")
    if intent["object"] == "setup_intent":  # the card is saved now: carry on
        pm = st.get(challenge["pm"], "payment_method")
        done = _run(st, session, cards.lookup(pm["_card"]), email, name, None, ready_pm=pm)
    elif session["mode"] == "subscription":
        sub = st.get(session["_subscription"], "subscription")
        done = _subscribed(st, session, sub, st.get(sub["latest_invoice"], "invoice"),
                           None, email, name)
    else:
        session["payment_status"] = "paid"
        done = True
    if done:
        _finish(st, session, email, name)
    return session


def _check_expiry(st, expiry):
    """A card whose expiry has passed (by the session's clock) is declined, as Stripe's
    issuers decline it."""
    month, year = expiry
    today = dt.datetime.fromtimestamp(st.now(), dt.UTC)
    if (year, month) < (today.year, today.month):
        raise CardError("Your card has expired.", code="expired_card",
                        decline_code="expired_card", param="exp_month")


def _card_pm(st, test_card, email, name, expiry):
    pm = new_card_pm(st, test_card.number, email, name)
    if expiry is not None:
        pm["card"].update(exp_month=expiry[0], exp_year=expiry[1])
    return pm


def _known_email(st, session):
    cus = st.get(session["customer"] or "", "customer")
    return cus["email"] if cus else None


def _complete_payment(st, session, test_card, email, name, expiry, ready_pm=None):
    data = session["_payment_intent_data"]
    cus = _customer(st, session, email, name, session["customer_creation"] == "always")
    pm = (new_bank_pm(st, email, name) if test_card is None
          else _card_pm(st, test_card, email, name, expiry))
    if cus and data.get("setup_future_usage"):
        attach(st, pm, cus)
    pi = st.get(session["payment_intent"] or "", "payment_intent")
    if pi is None:
        pi = st.add(payment_intent(
            st.now(), session["amount_total"], session["currency"],
            customer=cus["id"] if cus else None, metadata=dict(data.get("metadata") or {}),
            description=data.get("description"), receipt_email=email,
            setup_future_usage=data.get("setup_future_usage"),
            payment_method_types=[pm["type"]]))
        session["payment_intent"] = pi["id"]
        emit(st, "payment_intent.created", pi)
    charge_intent(st, pi, pm)  # raises on decline; the session stays open
    if pi["status"] == "requires_action":
        return _await(session, pi, pm, email, name)
    session["payment_status"] = "paid" if pi["status"] == "succeeded" else "unpaid"
    return True


def _complete_subscription(st, session, test_card, email, name, expiry, ready_pm=None):
    data = session["_subscription_data"]
    trial = data.get("trial_period_days") or data.get("trial_end")
    if test_card.attach_decline:
        raise decline(test_card.attach_decline)
    if test_card.charge_decline and not trial:
        raise decline(test_card.charge_decline)
    cus = _customer(st, session, email, name, always=True)
    pm = ready_pm or _card_pm(st, test_card, email, name, expiry)
    pending = st.get(session.get("_subscription") or "", "subscription")
    if pending is not None:  # a card failed its challenge: this one pays the same invoice
        return _retry_first_invoice(st, session, pending, pm, email, name)
    if trial:
        if not _save_for_later(st, session, cus, pm, ready=ready_pm is not None):
            return _await(session, st.get(session["setup_intent"], "setup_intent"), pm,
                          email, name)
    else:  # the first invoice's payment saves it (setup_future_usage=off_session)
        attach(st, pm, cus)
    lines = [(st.get(li["price"]["id"], "price"), li["quantity"])
             for li in session["_line_items"]]
    sub, inv = subscriptions.start(st, cus, lines, pm, data.get("trial_period_days"),
                                   data.get("metadata"), trial_end=data.get("trial_end"))
    if trial:
        session.update(subscription=sub["id"], invoice=inv["id"],
                       payment_status="no_payment_required")
        return True
    return _subscribed(st, session, sub, inv, pm, email, name)


def _subscribed(st, session, sub, inv, pm, email, name):
    """The first invoice paid: the session names its subscription. While its payment
    waits for 3-D Secure the subscription stays `incomplete` and the session open."""
    pi = invoices.waiting_intent(st, inv)
    if pi is not None:
        session["_subscription"] = sub["id"]
        return _await(session, pi, pm, email, name)
    session.pop("_subscription", None)
    session.update(subscription=sub["id"], invoice=inv["id"], payment_status="paid")
    return True


def _retry_first_invoice(st, session, sub, pm, email, name):
    """Another card for the incomplete subscription's first invoice, after one failed
    its challenge: it becomes the subscription's card and pays the invoice (on-session)."""
    cus = st.get(sub["customer"], "customer")
    attach(st, pm, cus)
    before = snapshot(sub)
    sub["default_payment_method"] = pm["id"]
    inv = st.get(sub["latest_invoice"], "invoice")
    error = subscriptions.collect(st, sub, inv, before, pm=pm, automatic=False,
                                  off_session=False)
    if error is not None and getattr(error, "code", None) != invoices.ACTION_REQUIRED:
        raise error
    return _subscribed(st, session, sub, inv, pm, email, name)


def _save_for_later(st, session, cus, pm, ready=False):
    """A trial charges nothing now, so Checkout saves the card with a SetupIntent for
    the charges to come (off-session); the session names it (`setup_intent`), as
    Stripe's trial sessions do, and it has succeeded by the time the subscription
    exists, so the subscription has no `pending_setup_intent`. A card that asks for
    3-D Secure leaves the SetupIntent in `requires_action` (returns False)."""
    si = st.get(session["setup_intent"] or "", "setup_intent")
    if si is None:
        si = st.add(setup_intent(st.now(), customer=cus["id"]))
        emit(st, "setup_intent.created", si)
        session["setup_intent"] = si["id"]
    if not ready and needs_authentication(pm, off_session=False):
        require_action(st, si, pm)
        return False
    attach(st, pm, cus)
    si.update(payment_method=pm["id"], status="succeeded", next_action=None)
    mark_set_up(pm)
    emit(st, "setup_intent.succeeded", si)
    return True


def _complete_setup(st, session, test_card, email, name, expiry, ready_pm=None):
    if test_card.attach_decline:
        raise decline(test_card.attach_decline)
    cus = _customer(st, session, email, name, session["customer_creation"] == "always")
    pm = ready_pm or _card_pm(st, test_card, email, name, expiry)
    si = st.get(session["setup_intent"], "setup_intent")
    if ready_pm is None and needs_authentication(pm, off_session=False):
        require_action(st, si, pm)
        return _await(session, si, pm, email, name)
    if cus:
        attach(st, pm, cus)
        si["customer"] = cus["id"]
    si.update(payment_method=pm["id"], status="succeeded", next_action=None)
    mark_set_up(pm)
    emit(st, "setup_intent.succeeded", si)
    session["payment_status"] = "no_payment_required"
    return True


def settle(st, session, outcome):
    """Finish a delayed payment: async_payment_succeeded or async_payment_failed."""
    pi = st.get(session["payment_intent"] or "", "payment_intent")
    if session["status"] != "complete" or pi is None or pi["status"] != "processing":
        raise InvalidRequest("This Checkout Session has no delayed payment to settle.")
    settle_intent(st, pi, outcome == "succeeded")
    if outcome == "succeeded":
        session["payment_status"] = "paid"
        emit(st, "checkout.session.async_payment_succeeded", session)
    else:
        emit(st, "checkout.session.async_payment_failed", session)
    return session


def expire(st, session):
    if session["status"] != "open":
        raise InvalidRequest(f"Only Checkout Sessions with a status in [\"open\"] can be "
                             f"expired. This Checkout Session has a status of "
                             f"\"{session['status']}\".")
    session["status"] = "expired"
    emit(st, "checkout.session.expired", session)
    return session
