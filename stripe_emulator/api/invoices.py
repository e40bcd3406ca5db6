"""Invoices (with `create_preview`), invoice items and invoice payments."""
from ..errors import InvalidRequest
from ..ops import changes
from ..ops import subscriptions as sub_ops
from ..ops.invoices import subscription_of
from ..ops.payments import resolve_pm
from ..ops.preview import nothing_upcoming, preview
from ..params import LIST, PAGE
from ..shapes import list_object
from ..store import snapshot
from . import INCLUDABLE, fetch, paginate, require, route
from .subscriptions import CHANGE


@route("/invoices/<ident>")
def retrieve_invoice(st, params, ident):
    return fetch(st, ident, "invoice")


@route("/invoices", schema={**LIST, "customer": "str", "subscription": "str",
                            "status": ("draft", "open", "paid", "uncollectible", "void"),
                            "collection_method": ("charge_automatically",
                                                  "send_invoice")})
def list_invoices(st, params):
    items = st.all("invoice")
    for field in ("customer", "status", "collection_method"):
        if params.get(field):
            items = [i for i in items if i[field] == params[field]]
    if params.get("subscription"):
        items = [i for i in items
                 if (subscription_of(st, i) or {}).get("id") == params["subscription"]]
    return paginate(items, params, "/v1/invoices")


@route("/invoices/<ident>/lines", schema=PAGE)
def invoice_lines(st, params, ident):
    inv = fetch(st, ident, "invoice")
    return paginate(inv["lines"]["data"], {**params, "created": None},
                    f"/v1/invoices/{ident}/lines")


@route("/invoices/<ident>/pay", ["POST"], {"payment_method": "str", "off_session": "bool"})
def pay_invoice(st, params, ident):
    """A manual payment attempt, with `payment_method` (one of the invoice's customer's
    cards; the defaults stay as they are) or the default card. A decline answers the
    PaymentIntent's card_error, with the card's own decline code; a card asking for
    3-D Secure answers `invoice_payment_intent_requires_action`."""
    inv = fetch(st, ident, "invoice")
    if inv["status"] != "open":
        raise InvalidRequest("Invoice is already paid." if inv["status"] == "paid"
                             else f"Invoice has status {inv['status']}.",
                             param="invoice")
    pm = None
    if params.get("payment_method"):
        pm = _customers_payment_method(st, inv, params["payment_method"])
    sub = subscription_of(st, inv)
    # Stripe's /pay is off-session unless told otherwise (`off_session` defaults to true).
    error = sub_ops.collect(st, sub, inv, snapshot(sub), pm=pm, automatic=False,
                            off_session=params.get("off_session", True))
    if error is not None:
        raise error
    return inv


def _customers_payment_method(st, inv, pm_id):
    """`payment_method` for /pay: it must belong to the invoice's customer, as Stripe's
    reference says; another customer's card or an unattached one (a magic test id
    makes a fresh one) is refused with the words Stripe uses for a default payment
    method that is not the customer's."""
    pm = resolve_pm(st, pm_id)
    if pm["customer"] != inv["customer"]:
        raise InvalidRequest(
            f"The customer does not have a payment method with the ID {pm['id']}. "
            "The payment method must be attached to the customer.",
            param="payment_method")
    return pm


@route("/invoices/create_preview", ["POST"], {
    "customer": "str", "subscription": "str", "subscription_details": CHANGE})
def create_preview(st, params):
    """The next invoice of a subscription, or the one a change to it would make."""
    sub = _preview_subscription(st, params)
    details = params.get("subscription_details") or {}
    change = changes.plan(
        st, sub, items=details.get("items"), behavior=details.get("proration_behavior"),
        proration_date=details.get("proration_date"), trial_end=details.get("trial_end"),
        cancel={k: details[k] for k in ("cancel_at_period_end", "cancel_at")
                if k in details}, prefix="subscription_details")
    return preview(st, change)


def _preview_subscription(st, params):
    if params.get("subscription"):
        sub = fetch(st, params["subscription"], "subscription")
        if params.get("customer") and params["customer"] != sub["customer"]:
            raise InvalidRequest("The subscription does not belong to that customer.",
                                 param="customer")
    else:
        require(params, "customer")
        customer = fetch(st, params["customer"], "customer")
        live = [s for s in st.all("subscription") if s["customer"] == customer["id"]
                and s["status"] not in sub_ops.ENDED]
        if not live:
            raise nothing_upcoming(customer["id"])
        sub = min(live, key=lambda s: sub_ops.period(s)[1])
    if sub["status"] in sub_ops.ENDED:
        raise nothing_upcoming(sub["customer"])
    return sub


def _payments(st, inv):
    data = [p for p in st.all("invoice_payment") if p["invoice"] == inv["id"]]
    return list_object(data, f"/v1/invoice_payments?invoice={inv['id']}")


INCLUDABLE[("invoice", "payments")] = _payments


@route("/invoice_payments", schema={**LIST, "invoice": "str"})
def list_invoice_payments(st, params):
    items = st.all("invoice_payment")
    if params.get("invoice"):
        items = [p for p in items if p["invoice"] == params["invoice"]]
    return paginate(items, params, "/v1/invoice_payments")


@route("/invoiceitems/<ident>")
def retrieve_invoice_item(st, params, ident):
    return fetch(st, ident, "invoiceitem", "invoiceitem")


@route("/invoiceitems", schema={**LIST, "customer": "str", "invoice": "str",
                                "pending": "bool"})
def list_invoice_items(st, params):
    items = st.all("invoiceitem")
    for field in ("customer", "invoice"):
        if params.get(field):
            items = [i for i in items if i[field] == params[field]]
    if "pending" in params:
        items = [i for i in items if (i["invoice"] is None) == params["pending"]]
    return paginate(items, params, "/v1/invoiceitems")
