"""Hosted pages: Checkout at the session's `url`, receipts and invoices (the billing
portal is in portal_pages.py)."""
from flask import Blueprint, current_app, redirect, render_template, request

from . import cards
from .errors import CardError, InvalidRequest
from .ops import checkout as checkout_ops
from .ops.calendar import time_of

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
    return redirect(_success_url(session), code=303)


@bp.get("/receipts/<ident>")
def receipt_page(ident):
    """The page a charge's `receipt_url` points at."""
    st = _store()
    with st.lock:
        charge = page_object(st, ident, "charge", "Receipt")
        return render_template("receipt.html", charge=charge)


@bp.get("/invoices/<ident>")
def invoice_page(ident):
    """The page an invoice's `hosted_invoice_url` points at."""
    st = _store()
    with st.lock:
        invoice = page_object(st, ident, "invoice", "Invoice")
        return render_template("invoice.html", invoice=invoice)
