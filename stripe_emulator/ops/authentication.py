"""3-D Secure: the customer's answer to a challenge (Complete or Fail on the hosted
page, or `POST /_emulator/…/authenticate`) settles the waiting intent and whatever
depends on it: the invoice it pays (and its subscription), the Checkout Session it
completes."""
from ..errors import CardError, InvalidRequest
from . import checkout, invoices
from . import subscriptions as subs
from .payments import charge_intent, fail_authentication


def authenticate(st, intent, succeeded):
    """Complete (`succeeded`) or fail the challenge of an intent in `requires_action`;
    returns the intent. Anything else is a 400 naming its status."""
    kind = "PaymentIntent" if intent["object"] == "payment_intent" else "SetupIntent"
    if intent["status"] != "requires_action":
        raise InvalidRequest(
            f"This {kind}'s status is {intent['status']}; only a {kind} with a status "
            f"of requires_action can be authenticated.",
            code=f"{intent['object']}_unexpected_state")
    inv = st.get(intent.get("_invoice") or "", "invoice")
    session = st.get(intent.get("_session") or "", "checkout.session")
    if inv is not None:
        subs.authenticated(st, invoices.subscription_of(st, inv), inv, intent, succeeded)
    elif not succeeded:
        fail_authentication(st, intent)
    elif intent["object"] == "payment_intent":
        try:
            charge_intent(st, intent, st.get(intent["payment_method"], "payment_method"),
                          authenticated=True)
        except CardError:
            succeeded = False  # declined after all: the intent says why
    if session is not None and session["status"] == "open":
        checkout.after_authentication(st, session, intent, succeeded)
    return intent


def owner_url(st, intent):
    """Where the customer goes after the challenge: the session's success URL (or its
    page again after a failure), the invoice's page, or the intent's `return_url`."""
    session = st.get(intent.get("_session") or "", "checkout.session")
    if session is not None:
        if session["status"] == "complete":
            return session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"])
        return f"{st.base_url}/checkout/{session['id']}"
    inv = st.get(intent.get("_invoice") or "", "invoice")
    if inv is not None:
        return inv["hosted_invoice_url"]
    return intent.get("_return_url")
