"""Checkout Sessions: create, retrieve (with `expand[]=line_items`), list, expire."""
from ..errors import InvalidRequest, missing_param
from ..events import emit
from ..ops import checkout as checkout_ops
from ..ops.payments import method_types
from ..params import LIST, PAGE, PAYMENT_METHOD_TYPES_REMOVED
from ..shapes import list_object
from ..shapes.checkout import item
from ..shapes.checkout import session as session_shape
from ..shapes.customers import setup_intent
from ..store import public
from . import INCLUDABLE, fetch, paginate, require, route

CREATE = {
    "mode": ("payment", "subscription", "setup"), "success_url": "str",
    "cancel_url": "str", "line_items": [{"price": "str", "quantity": "int"}],
    "customer": "str", "customer_email": "str",
    "customer_creation": ("always", "if_required"), "client_reference_id": "str",
    "metadata": "map", "allow_promotion_codes": "bool", "expires_at": "int",
    "locale": "str", "currency": "str",
    # Removed in 2026-09-30.endive; allowed/excluded_payment_method_types replace it.
    "payment_method_types": PAYMENT_METHOD_TYPES_REMOVED,
    "allowed_payment_method_types": ["str"], "excluded_payment_method_types": ["str"],
    # The current version's values (2026-03-25.dahlia renamed hosted/embedded/custom).
    "ui_mode": ("elements", "embedded_page", "form", "hosted_page"),
    "billing_address_collection": ("auto", "required"),
    "payment_intent_data": {"metadata": "map", "description": "str",
                            "setup_future_usage": ("off_session", "on_session"),
                            "receipt_email": "str"},
    "subscription_data": {"trial_period_days": "int", "trial_end": "int", "metadata": "map",
                          "description": "str"},
    "setup_intent_data": {"metadata": "map", "description": "str"},
    # Accepted as Stripe accepts them; they only echo back into the session.
    "customer_update": {"address": ("auto", "never"), "name": ("auto", "never"),
                        "shipping": ("auto", "never")},
    "tax_id_collection": {"enabled": "bool"}, "automatic_tax": {"enabled": "bool"},
    "payment_method_collection": ("always", "if_required"),
    "submit_type": ("auto", "book", "donate", "pay", "subscribe"),
    "phone_number_collection": {"enabled": "bool"},
}


def _line_items(st, params):
    lines = params.get("line_items") or []
    if params["mode"] == "setup":
        if lines:
            raise InvalidRequest("You cannot pass `line_items` in `setup` mode.",
                                 param="line_items")
        return []
    if not lines:
        raise InvalidRequest("`line_items` is required in `payment` and `subscription` "
                             "mode.", code="parameter_missing", param="line_items")
    items = []
    for i, line in enumerate(lines):
        if not line.get("price"):
            raise InvalidRequest("You must specify either `price` or `price_data` in "
                                 "each line item.", code="parameter_missing",
                                 param=f"line_items[{i}][price]")
        price = fetch(st, line["price"], "price")
        if not price["active"]:
            raise InvalidRequest(f"The price specified ({price['id']}) is inactive.",
                                 param=f"line_items[{i}][price]")
        recurring = price["type"] == "recurring"
        if params["mode"] == "payment" and recurring:
            raise InvalidRequest("You specified `payment` mode but passed a recurring "
                                 "price. Either switch to `subscription` mode or use only "
                                 "one-time prices.", param=f"line_items[{i}][price]")
        if params["mode"] == "subscription" and not recurring:
            raise InvalidRequest("You must provide at least one recurring price in "
                                 "`subscription` mode when using prices.",
                                 param=f"line_items[{i}][price]")
        product = st.get(price["product"], "product")
        items.append(item(public(price), line.get("quantity") or 1,
                          product["name"] if product else price["product"]))
    if len({i["currency"] for i in items}) > 1:
        raise InvalidRequest("All prices must use the same currency.",
                             param="line_items")
    return items


@route("/checkout/sessions", ["POST"], CREATE)
def create_session(st, params):
    require(params, "mode", "success_url")
    if params.get("customer") and params.get("customer_email"):
        raise InvalidRequest("You may only specify one of these parameters: customer, "
                             "customer_email.", param="customer_email")
    if params.get("customer"):
        fetch(st, params["customer"], "customer")
    if params.get("subscription_data") and params["mode"] != "subscription":
        raise InvalidRequest("`subscription_data` is only allowed in `subscription` mode.",
                             param="subscription_data")
    _check_trial_end(st, params.get("subscription_data") or {})
    if params.get("payment_intent_data") and params["mode"] != "payment":
        raise InvalidRequest("`payment_intent_data` is only allowed in `payment` mode.",
                             param="payment_intent_data")
    if params.get("ui_mode", "hosted_page") != "hosted_page":
        raise InvalidRequest("The Stripe emulator serves only hosted Checkout pages "
                             "(ui_mode=hosted_page).", param="ui_mode")
    if params["mode"] == "setup" and not params.get("currency") and \
            params.get("allowed_payment_method_types") is None:
        # Dynamic payment methods need the currency to know which methods to offer.
        raise missing_param("currency")
    types = method_types(params.get("allowed_payment_method_types"),
                         params.get("excluded_payment_method_types"))
    if not types:
        raise InvalidRequest("None of the payment method types this Checkout Session "
                             "allows can be offered.",
                             param="allowed_payment_method_types")
    now = st.now()
    expires_at = params.get("expires_at") or now + 24 * 3600
    if not now + 1800 <= expires_at <= now + 24 * 3600:
        raise InvalidRequest("The `expires_at` timestamp must be between 30 minutes and "
                             "24 hours from Checkout Session creation.",
                             param="expires_at")
    items = _line_items(st, params)
    total = sum(i["amount_total"] for i in items) if items else None
    session = session_shape(
        now, st.base_url, params["mode"], success_url=params["success_url"],
        cancel_url=params.get("cancel_url"), customer=params.get("customer"),
        customer_email=params.get("customer_email"),
        customer_creation=params.get("customer_creation") or (
            "if_required" if params["mode"] != "subscription" and
            not params.get("customer") else None),
        client_reference_id=params.get("client_reference_id"),
        metadata=params.get("metadata") or {}, expires_at=expires_at,
        allow_promotion_codes=params.get("allow_promotion_codes"),
        locale=params.get("locale"), amount_subtotal=total, amount_total=total,
        currency=items[0]["currency"] if items else params.get("currency"),
        billing_address_collection=params.get("billing_address_collection"),
        payment_method_collection=params.get("payment_method_collection") or (
            "always" if params["mode"] == "subscription" else None),
        submit_type=params.get("submit_type"), payment_method_types=types)
    for key in ("automatic_tax", "phone_number_collection"):
        if params.get(key):
            session[key]["enabled"] = params[key].get("enabled", False)
    if params["mode"] == "setup":
        data = params.get("setup_intent_data") or {}
        si = st.add(setup_intent(now, customer=params.get("customer"),
                                 metadata=data.get("metadata") or {},
                                 description=data.get("description")))
        session["setup_intent"] = si["id"]
        emit(st, "setup_intent.created", si)
    session["_line_items"] = items
    session["_payment_intent_data"] = params.get("payment_intent_data") or {}
    session["_subscription_data"] = params.get("subscription_data") or {}
    return st.add(session)


def _session_line_items(st, session):
    return list_object(session.get("_line_items", []),
                       f"/v1/checkout/sessions/{session['id']}/line_items")


INCLUDABLE[("checkout.session", "line_items")] = _session_line_items


@route("/checkout/sessions/<ident>")
def retrieve_session(st, params, ident):
    return fetch(st, ident, "checkout.session", "checkout.session")


@route("/checkout/sessions/<ident>/line_items", schema=PAGE)
def session_line_items(st, params, ident):
    session = fetch(st, ident, "checkout.session", "checkout.session")
    return paginate(session["_line_items"], {**params, "created": None},
                    f"/v1/checkout/sessions/{ident}/line_items")


@route("/checkout/sessions/<ident>/expire", ["POST"])
def expire_session(st, params, ident):
    return checkout_ops.expire(st, fetch(st, ident, "checkout.session", "checkout.session"))


@route("/checkout/sessions", schema={**LIST, "customer": "str", "payment_intent": "str",
                                     "subscription": "str",
                                     "status": ("open", "complete", "expired")})
def list_sessions(st, params):
    items = st.all("checkout.session")
    for field in ("customer", "payment_intent", "subscription", "status"):
        if params.get(field):
            items = [s for s in items if s[field] == params[field]]
    return paginate(items, params, "/v1/checkout/sessions")


def _check_trial_end(st, data):
    """Stripe's rules for `subscription_data[trial_end]`: not with trial_period_days, and
    at least 48 hours away."""
    if "trial_end" not in data:
        return
    if "trial_period_days" in data:
        raise InvalidRequest("You may only specify one of these parameters: trial_end, "
                             "trial_period_days.", param="subscription_data[trial_end]")
    if data["trial_end"] < st.now() + 48 * 3600:
        raise InvalidRequest("`subscription_data[trial_end]` must be at least 48 hours in "
                             "the future.", param="subscription_data[trial_end]")
