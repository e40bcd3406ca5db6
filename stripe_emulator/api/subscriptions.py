"""Subscriptions, invoices and billing portal sessions."""
from ..errors import InvalidRequest
from ..events import emit_updated
from ..ops import subscriptions as ops
from ..ops.payments import decline
from ..params import LIST, merge_metadata
from ..shapes import list_object
from ..shapes.billing import portal_session
from ..store import snapshot
from . import INCLUDABLE, fetch, paginate, require, route


@route("/subscriptions/<ident>")
def retrieve_subscription(st, params, ident):
    return fetch(st, ident, "subscription")


@route("/subscriptions", schema={**LIST, "customer": "str", "price": "str",
                                 "status": ("active", "all", "canceled", "ended",
                                            "incomplete", "incomplete_expired",
                                            "past_due", "paused", "trialing", "unpaid")})
def list_subscriptions(st, params):
    items = st.all("subscription")
    if params.get("customer"):
        items = [s for s in items if s["customer"] == params["customer"]]
    if params.get("price"):
        items = [s for s in items
                 if any(i["price"]["id"] == params["price"] for i in s["items"]["data"])]
    status = params.get("status")
    if status == "ended":
        items = [s for s in items if s["status"] in ("canceled", "incomplete_expired")]
    elif status and status != "all":
        items = [s for s in items if s["status"] == status]
    elif not status:  # Stripe hides canceled subscriptions unless asked
        items = [s for s in items if s["status"] != "canceled"]
    return paginate(items, params, "/v1/subscriptions")


@route("/subscriptions/<ident>", ["POST"], {
    "cancel_at_period_end": "bool", "metadata": "map", "default_payment_method": "str",
    "items": [{"id": "str", "price": "str", "quantity": "int"}],
    "proration_behavior": ("create_prorations", "none", "always_invoice"),
    "payment_behavior": ("allow_incomplete", "default_incomplete",
                         "error_if_incomplete", "pending_if_incomplete"),
    "cancellation_details": {"comment": "str", "feedback": "str"}})
def update_subscription(st, params, ident):
    sub = fetch(st, ident, "subscription")
    if sub["status"] == "canceled":
        raise InvalidRequest("A canceled subscription can only update its "
                             "cancellation_details and metadata.")
    if params.get("default_payment_method"):
        fetch(st, params["default_payment_method"], "payment_method", "PaymentMethod")
    before = snapshot(sub)
    if "cancel_at_period_end" in params:
        flag = params["cancel_at_period_end"]
        sub["cancel_at_period_end"] = flag
        period_end = sub["items"]["data"][0]["current_period_end"]
        sub.update(cancel_at=period_end if flag else None,
                   canceled_at=st.now() if flag else None)
        sub["cancellation_details"]["reason"] = "cancellation_requested" if flag else None
    if "metadata" in params:
        sub["metadata"] = merge_metadata(sub["metadata"], params["metadata"])
    if params.get("default_payment_method"):
        sub["default_payment_method"] = params["default_payment_method"]
    for key in ("comment", "feedback"):
        if key in (params.get("cancellation_details") or {}):
            sub["cancellation_details"][key] = params["cancellation_details"][key]
    emit_updated(st, "customer.subscription.updated", sub, before)
    for i, change in enumerate(params.get("items") or []):
        _switch_item(st, sub, i, change, params.get("proration_behavior"))
    return sub


def _switch_item(st, sub, index, change, proration_behavior):
    items = sub["items"]["data"]
    item = next((it for it in items if it["id"] == change.get("id")), None)
    if item is None:
        if change.get("id") or len(items) != 1:
            raise InvalidRequest("Pass the id of the subscription item to change.",
                                 param=f"items[{index}][id]")
        item = items[0]
    if change.get("price") and change["price"] != item["price"]["id"]:
        price = fetch(st, change["price"], "price")
        if price["type"] != "recurring":
            raise InvalidRequest("The price must be recurring.",
                                 param=f"items[{index}][price]")
        ops.switch_price(st, sub, item, price, proration_behavior)


@route("/subscriptions/<ident>", ["DELETE"], {"invoice_now": "bool", "prorate": "bool",
                                              "cancellation_details": {
                                                  "comment": "str", "feedback": "str"}})
def cancel_subscription(st, params, ident):
    sub = fetch(st, ident, "subscription")
    if sub["status"] == "canceled":
        raise InvalidRequest("This subscription has already been canceled.")
    comment = (params.get("cancellation_details") or {}).get("comment")
    return ops.cancel(st, sub, comment=comment)


@route("/subscription_items", schema={**LIST, "subscription": "str"})
def list_subscription_items(st, params):
    require(params, "subscription")
    sub = fetch(st, params["subscription"], "subscription")
    return paginate(sub["items"]["data"], params,
                    f"/v1/subscription_items?subscription={sub['id']}")


@route("/invoices/<ident>")
def retrieve_invoice(st, params, ident):
    return fetch(st, ident, "invoice")


@route("/invoices", schema={**LIST, "customer": "str", "subscription": "str",
                            "status": ("draft", "open", "paid", "uncollectible", "void")})
def list_invoices(st, params):
    items = st.all("invoice")
    for field in ("customer", "subscription", "status"):
        if params.get(field):
            items = [i for i in items if i[field] == params[field]]
    return paginate(items, params, "/v1/invoices")


@route("/invoices/<ident>/lines", schema=LIST)
def invoice_lines(st, params, ident):
    inv = fetch(st, ident, "invoice")
    return paginate(inv["lines"]["data"], {**params, "created": None},
                    f"/v1/invoices/{ident}/lines")


@route("/invoices/<ident>/pay", ["POST"], {"payment_method": "str", "off_session": "bool"})
def pay_invoice(st, params, ident):
    inv = fetch(st, ident, "invoice")
    if inv["status"] != "open":
        raise InvalidRequest("Invoice is already paid." if inv["status"] == "paid"
                             else f"Invoice has status {inv['status']}.",
                             param="invoice")
    sub = st.get(inv["subscription"] or "", "subscription")
    pm = None
    if params.get("payment_method"):
        pm = fetch(st, params["payment_method"], "payment_method", "PaymentMethod")
    if not ops.pay(st, sub, inv, snapshot(sub), pm=pm):
        raise decline("generic_decline")
    return inv


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


@route("/billing_portal/sessions", ["POST"], {"customer": "str", "return_url": "str",
                                              "locale": "str", "configuration": "str"})
def create_portal_session(st, params):
    require(params, "customer")
    fetch(st, params["customer"], "customer")
    return st.add(portal_session(st.now(), st.base_url, params["customer"],
                                 params.get("return_url")))
