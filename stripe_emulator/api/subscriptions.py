"""Subscriptions and their items."""
from .. import cards
from ..errors import InvalidRequest
from ..events import emit_updated
from ..ops import changes
from ..ops import subscriptions as ops
from ..ops.payments import decline
from ..ops.preview import preview
from ..params import LIST, PAGE, Timestamp, merge_metadata
from ..store import snapshot
from . import fetch, paginate, require, route

ITEM_CHANGE = {"id": "str", "price": "str", "quantity": "int"}
FEEDBACK = ("customer_service", "low_quality", "missing_features", "other",
            "switched_service", "too_complex", "too_expensive", "unused")
# The changes `changes.plan` understands, shared with invoices.create_preview.
CHANGE = {"items": [ITEM_CHANGE], "proration_behavior": changes.BEHAVIORS,
          "proration_date": "int", "trial_end": Timestamp("now"),
          "cancel_at_period_end": "bool",
          "cancel_at": Timestamp("min_period_end", "max_period_end", clearable=True)}


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
        items = [s for s in items if s["status"] in ops.ENDED]
    elif status and status != "all":
        items = [s for s in items if s["status"] == status]
    elif not status:  # Stripe hides canceled subscriptions unless asked
        items = [s for s in items if s["status"] != "canceled"]
    return paginate(items, params, "/v1/subscriptions")


@route("/subscriptions/<ident>", ["POST"], {
    **CHANGE, "metadata": "map", "default_payment_method": "str", "description": "str",
    "payment_behavior": ("allow_incomplete", "default_incomplete",
                         "error_if_incomplete", "pending_if_incomplete"),
    "off_session": "bool",
    "cancellation_details": {"comment": "str", "feedback": FEEDBACK}})
def update_subscription(st, params, ident):
    sub = fetch(st, ident, "subscription")
    if params.get("default_payment_method"):
        fetch(st, params["default_payment_method"], "payment_method", "PaymentMethod")
    if params.get("payment_behavior") == "pending_if_incomplete":
        raise InvalidRequest("The Stripe emulator does not support pending updates "
                             "(payment_behavior=pending_if_incomplete).",
                             param="payment_behavior")
    before = snapshot(sub)
    if sub["status"] in ops.ENDED:
        return _update_ended(st, sub, params, before)
    change = changes.plan(
        st, sub, items=params.get("items"), behavior=params.get("proration_behavior"),
        proration_date=params.get("proration_date"), trial_end=params.get("trial_end"),
        cancel={k: params[k] for k in ("cancel_at_period_end", "cancel_at")
                if k in params})
    if params.get("payment_behavior") == "error_if_incomplete":
        _refuse_if_unpayable(st, sub, change, params.get("default_payment_method"))
    _set_plain_fields(sub, params)
    changes.apply(st, change, before)
    return sub


def _update_ended(st, sub, params, before):
    """A canceled subscription keeps only metadata and cancellation details editable."""
    if set(params) - {"metadata", "cancellation_details"}:
        raise InvalidRequest("A canceled subscription can only update its "
                             "cancellation_details and metadata.")
    _set_plain_fields(sub, params)
    emit_updated(st, "customer.subscription.updated", sub, before)
    return sub


def _set_plain_fields(sub, params):
    if "metadata" in params:
        sub["metadata"] = merge_metadata(sub["metadata"], params["metadata"])
    if params.get("default_payment_method"):
        sub["default_payment_method"] = params["default_payment_method"]
    if "description" in params:
        sub["description"] = params["description"] or None
    for key in ("comment", "feedback"):
        if key in (params.get("cancellation_details") or {}):
            sub["cancellation_details"][key] = params["cancellation_details"][key] or None


def _refuse_if_unpayable(st, sub, change, pm_id):
    """error_if_incomplete: a change whose invoice the card cannot pay is refused
    (402) before anything changes."""
    if not change.invoice_now or preview(st, change)["amount_due"] <= 0:
        return
    customer = st.get(sub["customer"], "customer")
    pm = st.get(pm_id or sub["default_payment_method"] or
                customer["invoice_settings"]["default_payment_method"] or "",
                "payment_method")
    card = cards.lookup((pm or {}).get("_card"))
    if card is None or card.charge_decline:
        raise decline(card.charge_decline if card else "generic_decline")


@route("/subscriptions/<ident>", ["DELETE"], {
    "invoice_now": "bool", "prorate": "bool",
    "cancellation_details": {"comment": "str", "feedback": FEEDBACK}}, expandable=True)
def cancel_subscription(st, params, ident):
    sub = fetch(st, ident, "subscription")
    if sub["status"] == "canceled":
        raise InvalidRequest("This subscription has already been canceled.")
    details = params.get("cancellation_details") or {}
    return ops.cancel(st, sub, comment=details.get("comment"),
                      feedback=details.get("feedback"))


@route("/subscription_items", schema={**PAGE, "subscription": "str"})
def list_subscription_items(st, params):
    require(params, "subscription")
    sub = fetch(st, params["subscription"], "subscription")
    return paginate(sub["items"]["data"], params,
                    f"/v1/subscription_items?subscription={sub['id']}")
