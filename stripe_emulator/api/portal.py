"""Billing portal configurations and sessions (with `flow_data`)."""
from ..errors import InvalidRequest, missing_param
from ..events import emit, emit_updated
from ..ops import changes
from ..ops import portal as portal_ops
from ..ops import subscriptions as sub_ops
from ..params import PAGE, merge_metadata
from ..shapes.portal import configuration as configuration_shape
from ..shapes.portal import merge_features
from ..shapes.portal import session as session_shape
from ..store import snapshot
from . import INCLUDABLE, fetch, paginate, require, route

MAX_UPDATE_PRODUCTS = 10
FEATURES = {
    "customer_update": {"allowed_updates": [("address", "email", "name", "phone",
                                             "shipping", "tax_id")], "enabled": "bool"},
    "invoice_history": {"enabled": "bool"},
    "payment_method_update": {"enabled": "bool"},
    "subscription_cancel": {
        "cancellation_reason": {"enabled": "bool", "options": [(
            "customer_service", "low_quality", "missing_features", "other",
            "switched_service", "too_complex", "too_expensive", "unused")]},
        "enabled": "bool", "mode": ("at_period_end", "immediately"),
        "proration_behavior": changes.BEHAVIORS},
    "subscription_update": {
        "default_allowed_updates": [("price", "promotion_code", "quantity")],
        "enabled": "bool", "products": [{"product": "str", "prices": ["str"]}],
        "proration_behavior": changes.BEHAVIORS,
        "trial_update_behavior": ("continue_trial", "end_trial"),
        "billing_cycle_anchor": ("now", "unchanged"),
        "schedule_at_period_end": {"conditions": [{"type": (
            "decreasing_item_amount", "shortening_interval")}]}},
}
CONFIGURATION = {
    "business_profile": {"headline": "str", "privacy_policy_url": "str",
                         "terms_of_service_url": "str"},
    "default_return_url": "str", "features": FEATURES, "metadata": "map", "name": "str"}
FLOW_TYPES = ("payment_method_update", "subscription_cancel", "subscription_update",
              "subscription_update_confirm")
FLOW_DATA = {
    "type": FLOW_TYPES,
    "after_completion": {"type": ("hosted_confirmation", "portal_homepage", "redirect"),
                         "redirect": {"return_url": "str"},
                         "hosted_confirmation": {"custom_message": "str"}},
    "subscription_cancel": {"subscription": "str"},
    "subscription_update": {"subscription": "str"},
    "subscription_update_confirm": {"subscription": "str", "items": [
        {"id": "str", "price": "str", "quantity": "int"}]},
}


def _check_products(st, features):
    update = (features or {}).get("subscription_update") or {}
    products = update.get("products")
    name = "features[subscription_update][products]"
    if products is not None and len(products) > MAX_UPDATE_PRODUCTS:
        raise InvalidRequest(f"You may list at most {MAX_UPDATE_PRODUCTS} products.",
                             param=name)
    for i, entry in enumerate(products or []):
        fetch(st, entry.get("product") or "", "product")
        for price_id in entry.get("prices") or []:
            price = fetch(st, price_id, "price")
            if price["product"] != entry["product"] or price["type"] != "recurring":
                raise InvalidRequest(f"Price {price_id} is not a recurring price of "
                                     f"product {entry['product']}.",
                                     param=f"{name}[{i}][prices]")
    return products


def _apply(st, config, params):
    """Check, then apply, a configuration's create or update parameters."""
    features = params.pop("features", None)
    products = _check_products(st, features)
    merged = merge_features(config["features"], features)
    if products is not None:
        products = [{"product": p["product"], "prices": p.get("prices") or [],
                     "adjustable_quantity": {"enabled": False, "maximum": None,
                                             "minimum": 1}} for p in products]
    else:
        products = config["_products"]
    if merged["subscription_update"]["enabled"] and not products:
        raise missing_param("features[subscription_update][products]")
    if merged["subscription_update"]["enabled"] and \
            not merged["payment_method_update"]["enabled"]:
        # Stripe's rule: a plan switch may need a new card.
        raise InvalidRequest("Cannot enable subscription updates while payment method "
                             "update is disabled.")
    if "metadata" in params:
        params["metadata"] = merge_metadata(config["metadata"], params["metadata"])
    config.update(features=merged, _products=products)
    for key, value in (params.pop("business_profile", None) or {}).items():
        config["business_profile"][key] = value or None
    config.update({k: (v if v != "" else None) for k, v in params.items()})


@route("/billing_portal/configurations", ["POST"], CONFIGURATION)
def create_configuration(st, params):
    require(params, "features")
    for name, values in params["features"].items():
        if "enabled" not in values:
            raise missing_param(f"features[{name}][enabled]")
    config = configuration_shape(st.now(), {})
    config["_products"] = []
    _apply(st, config, params)
    st.add(config)
    emit(st, "billing_portal.configuration.created", config)
    return config


@route("/billing_portal/configurations/<ident>", ["POST"],
       {**CONFIGURATION, "active": "bool"})
def update_configuration(st, params, ident):
    config = fetch(st, ident, "billing_portal.configuration")
    before = snapshot(config)
    _apply(st, config, params)
    if emit_updated(st, "billing_portal.configuration.updated", config, before):
        config["updated"] = st.now()
    return config


@route("/billing_portal/configurations/<ident>")
def retrieve_configuration(st, params, ident):
    portal_ops.default_configuration(st)
    return fetch(st, ident, "billing_portal.configuration")


@route("/billing_portal/configurations", schema={**PAGE, "active": "bool",
                                                 "is_default": "bool"})
def list_configurations(st, params):
    portal_ops.default_configuration(st)
    items = st.all("billing_portal.configuration")
    for field in ("active", "is_default"):
        if field in params:
            items = [c for c in items if c[field] == params[field]]
    return paginate(items, params, "/v1/billing_portal/configurations")


def _update_products(st, config):
    return config.get("_products") or []


# `features.subscription_update.products` is served only on expand, as at Stripe.
INCLUDABLE[("billing_portal.configuration", "features.subscription_update.products")] = \
    _update_products


@route("/billing_portal/sessions", ["POST"], {
    "customer": "str", "return_url": "str", "locale": "str", "configuration": "str",
    "flow_data": FLOW_DATA})
def create_portal_session(st, params):
    require(params, "customer")
    customer = fetch(st, params["customer"], "customer")
    if params.get("configuration"):
        config = fetch(st, params["configuration"], "billing_portal.configuration")
        if not config["active"]:
            raise InvalidRequest("The configuration provided is inactive.",
                                 param="configuration")
    else:
        config = portal_ops.default_configuration(st)
    flow_data = params.get("flow_data")
    if flow_data:
        _check_flow(st, customer, config, flow_data)
    session = st.add(session_shape(st.now(), st.base_url, customer["id"], config["id"],
                                   params.get("return_url") or
                                   config["default_return_url"],
                                   locale=params.get("locale"), flow_data=flow_data))
    emit(st, "billing_portal.session.created", session)
    return session


def _check_flow(st, customer, config, data):
    require(data, "type")
    kind, feats = data["type"], config["features"]
    after = data.get("after_completion") or {}
    if after.get("type") == "redirect" and not (after.get("redirect") or {}).get(
            "return_url"):
        raise missing_param("flow_data[after_completion][redirect][return_url]")
    feature = "subscription_update" if kind.startswith("subscription_update") else kind
    if not feats[feature]["enabled"]:
        raise InvalidRequest(f"The `{kind}` flow cannot be used because `{feature}` is "
                             "disabled in the portal configuration.",
                             param="flow_data[type]")
    if kind == "payment_method_update":
        return
    sub_id = (data.get(kind) or {}).get("subscription")
    if not sub_id:
        raise missing_param(f"flow_data[{kind}][subscription]")
    sub = fetch(st, sub_id, "subscription")
    if sub["customer"] != customer["id"] or sub["status"] in sub_ops.ENDED:
        raise InvalidRequest(f"The subscription {sub_id} is not an active subscription "
                             f"of customer {customer['id']}.",
                             param=f"flow_data[{kind}][subscription]")
    if kind == "subscription_cancel" and sub["cancel_at_period_end"]:
        raise InvalidRequest(f"The subscription {sub_id} is already set to cancel.",
                             param=f"flow_data[{kind}][subscription]")
    if kind == "subscription_update_confirm":
        _check_confirm_items(st, config, sub, data[kind].get("items") or [])


def _check_confirm_items(st, config, sub, items):
    offered = {p for prod in config["_products"] for p in prod["prices"]}
    name = "flow_data[subscription_update_confirm][items]"
    if len(items) != 1:
        raise InvalidRequest("Pass exactly one item to change.", param=name)
    changes.plan(st, sub, items=items, prefix="flow_data[subscription_update_confirm]")
    if items[0].get("price") not in offered:
        raise InvalidRequest("The price must be one of the portal configuration's "
                             "products' prices.", param=f"{name}[0][price]")
