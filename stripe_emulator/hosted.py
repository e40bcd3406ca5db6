"""Hosted pages: Checkout at the session's `url`, receipts and invoices (the billing
portal is in portal_pages.py)."""
from flask import Blueprint, current_app, redirect, render_template, request

from . import cards
from .errors import CardError, InvalidRequest
from .ops import authentication
from .ops import checkout as checkout_ops
from .ops import invoices as invoice_ops
from .ops import subscriptions as sub_ops
from .ops.calendar import time_of
from .store import snapshot

bp = Blueprint("hosted", __name__)

ZERO_DECIMAL = {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf",
                "ugx", "vnd", "vuv", "xaf", "xof", "xpf"}
SYMBOLS = {"gbp": "£", "usd": "$", "eur": "€", "jpy": "¥", "cad": "CA$", "aud": "A$"}


@bp.app_template_filter("money")
def money(amount, currency):
    """Minor units to a display string: 700, "gbp" -> "£7.00"."""
    currency = (currency or "").lower()
    value = amount if currency in ZERO_DECIMAL else amount / 100
    text = f"{value:,.0f}" if currency in ZERO_DECIMAL else f"{value:,.2f}"
    symbol = SYMBOLS.get(currency)
    return f"{symbol}{text}" if symbol else f"{text} {currency.upper()}"


def _store():
    return current_app.config["STORE"]


def _success_url(session):
    return session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"])


def _render(session, error=None, status=200, chosen=None, email=None):
    st = _store()
    waiting = checkout_ops.challenge_of(st, session) if session["status"] == "open" \
        else None
    if waiting is not None:  # the 3-D Secure step, before the session completes
        return _challenge(waiting)
    error = error or session.get("_auth_error")
    choices = [cards.CARDS[n] for n in cards.HOSTED_CHOICES]
    customer = _store().get(session["customer"]) if session.get("customer") else None
    # As Stripe does: a known customer's email is filled in and cannot be changed here.
    email = (customer or {}).get("email") or email
    return render_template("checkout.html", session=session, error=error, email=email,
                           items=session.get("_line_items", []), choices=choices,
                           chosen=chosen or choices[0].number,
                           trial=session["_subscription_data"].get("trial_period_days"),
                           now=_store().now()), status


class PageMissing(Exception):
    """A hosted page for an object that does not exist: a 404 page, not a traceback."""

    def __init__(self, title: str, text: str = ""):
        super().__init__(title)
        self.title, self.text = title, text


@bp.app_errorhandler(PageMissing)
def page_missing(exc: PageMissing):
    return render_template("message.html", title=exc.title, text=exc.text), 404


def page_object(st, ident, kind, what):
    """The object a hosted page shows, or PageMissing."""
    obj = st.get(ident, kind)
    if obj is None:
        raise PageMissing(f"{what} not found", f"This {what.lower()} does not exist.")
    return obj


@bp.get("/checkout/<ident>")
def checkout_page(ident):
    st = _store()
    with st.lock:
        session = page_object(st, ident, "checkout.session", "Checkout Session")
        with time_of(st, session):
            if session["status"] == "open" and session["expires_at"] <= st.now():
                checkout_ops.expire(st, session)
            return _render(session)


@bp.post("/checkout/<ident>")
def checkout_submit(ident):
    st = _store()
    with st.lock:
        session = page_object(st, ident, "checkout.session", "Checkout Session")
        with time_of(st, session):
            return _submit(session, request.form.get("payment", ""))


def _submit(session, choice):
    """Complete the session with the chosen card (or delayed method): the success URL,
    or the page again with the decline."""
    st = _store()
    try:
        if choice == "delayed":
            checkout_ops.complete(st, session, method="delayed",
                                  email=request.form.get("email") or None,
                                  name=request.form.get("name") or None)
        else:
            checkout_ops.complete(st, session, card=choice,
                                  email=request.form.get("email") or None,
                                  name=request.form.get("name") or None)
    except CardError as exc:
        return _render(session, error=exc.message, status=402, chosen=choice,
                       email=request.form.get("email"))
    except InvalidRequest as exc:
        return _render(session, error=exc.message, status=400, chosen=choice,
                       email=request.form.get("email"))
    if session["status"] == "open":  # a 3-D Secure challenge comes first
        return redirect(f"/checkout/{session['id']}", code=303)
    return redirect(_success_url(session), code=303)


def _challenge(intent):
    """The 3-D Secure challenge page for an intent in `requires_action`."""
    st = _store()
    pm = st.get(intent["payment_method"] or "", "payment_method")
    return render_template("challenge.html", intent=intent,
                           card=(pm or {}).get("card"),
                           action=f"/authenticate/{intent['id']}")


@bp.get("/authenticate/<ident>")
def challenge_page(ident):
    """Where an intent's `next_action.redirect_to_url.url` points."""
    st = _store()
    with st.lock:
        intent = st.get(ident)
        if intent is None or intent.get("object") not in ("payment_intent",
                                                          "setup_intent"):
            raise PageMissing("Payment not found", "This payment does not exist.")
        if intent["status"] != "requires_action":
            return render_template("message.html", title="Nothing to authenticate",
                                   text="This payment is not waiting for you.")
        return _challenge(intent)


@bp.post("/authenticate/<ident>")
def challenge_submit(ident):
    """Complete or Fail: settles the intent and what depends on it, then back to the
    session, the invoice or the intent's return_url."""
    st = _store()
    with st.lock:
        intent = st.get(ident)
        if intent is None or intent.get("object") not in ("payment_intent",
                                                          "setup_intent"):
            raise PageMissing("Payment not found", "This payment does not exist.")
        with time_of(st, intent):
            if intent["status"] == "requires_action":
                authentication.authenticate(st, intent,
                                            request.form.get("outcome") == "succeed")
            target = authentication.owner_url(st, intent)
        if target:
            return redirect(target, code=303)
        done = intent["status"] in ("succeeded", "processing")
        return render_template("message.html",
                               title="Authenticated" if done else "Not authenticated",
                               text="You can close this page.")


@bp.get("/receipts/<ident>")
def receipt_page(ident):
    """The page a charge's `receipt_url` points at."""
    st = _store()
    with st.lock:
        charge = page_object(st, ident, "charge", "Receipt")
        return render_template("receipt.html", charge=charge)


@bp.get("/invoices/<ident>")
def invoice_page(ident):
    """The page an invoice's `hosted_invoice_url` points at: an open invoice can be
    paid here (with the default card; a payment waiting for 3-D Secure continues with
    its challenge)."""
    st = _store()
    with st.lock:
        invoice = page_object(st, ident, "invoice", "Invoice")
        with time_of(st, invoice):
            return _invoice(invoice)


def _invoice(invoice, error=None, status=200):
    st = _store()
    if error is None and invoice["status"] == "open":
        last = _last_intent(invoice)
        if last and last["status"] == "requires_payment_method":
            error = (last["last_payment_error"] or {}).get("message")
    return render_template("invoice.html", invoice=invoice, error=error,
                           waiting=invoice_ops.waiting_intent(st, invoice)), status


def _last_intent(invoice):
    st = _store()
    for record in st.all("invoice_payment"):
        if record["invoice"] == invoice["id"]:
            return st.get(record["payment"]["payment_intent"] or "", "payment_intent")
    return None


@bp.post("/invoices/<ident>/pay")
def invoice_pay(ident):
    """Pay an open invoice on-session with the default card; a card that asks for 3-D
    Secure goes to its challenge (as does a payment already waiting for one)."""
    st = _store()
    with st.lock:
        invoice = page_object(st, ident, "invoice", "Invoice")
        with time_of(st, invoice):
            if invoice["status"] != "open":
                return _invoice(invoice)
            waiting = invoice_ops.waiting_intent(st, invoice)
            if waiting is None:
                sub = invoice_ops.subscription_of(st, invoice)
                error = sub_ops.collect(st, sub, invoice, snapshot(sub), automatic=False,
                                        off_session=False)
                waiting = invoice_ops.waiting_intent(st, invoice)
                if error is not None and waiting is None:
                    return _invoice(invoice, error=error.message, status=402)
            if waiting is not None:
                return redirect(f"/authenticate/{waiting['id']}", code=303)
            return redirect(f"/invoices/{invoice['id']}", code=303)
