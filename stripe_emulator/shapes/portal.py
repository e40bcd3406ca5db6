"""billing_portal.configuration and billing_portal.session (with its `flow`)."""
import copy

from ..store import new_id

# Stripe's values for whatever a configuration leaves out.
DEFAULT_FEATURES = {
    "customer_update": {"allowed_updates": [], "enabled": False},
    "invoice_history": {"enabled": False},
    "payment_method_update": {"enabled": False, "payment_method_configuration": None},
    "subscription_cancel": {
        "cancellation_reason": {"enabled": False, "options": []},
        "enabled": False, "mode": "at_period_end", "proration_behavior": "none"},
    "subscription_update": {
        "default_allowed_updates": [], "enabled": False, "proration_behavior": "none",
        "schedule_at_period_end": {"conditions": []},
        "trial_update_behavior": "end_trial", "billing_cycle_anchor": None},
}


def merge_features(current, update):
    """Features with `update` laid over `current` (hash by hash, as Stripe merges)."""
    merged = copy.deepcopy(current)
    for name, values in (update or {}).items():
        for key, value in values.items():
            if isinstance(value, dict) and isinstance(merged[name].get(key), dict):
                merged[name][key].update(value)
            elif key != "products":  # kept apart: served only on expand
                merged[name][key] = value
    return merged


def configuration(now, features, is_default=False, **fields):
    obj = {
        "id": new_id("bpc"), "object": "billing_portal.configuration", "active": True,
        "application": None,
        "business_profile": {"headline": None, "privacy_policy_url": None,
                             "terms_of_service_url": None},
        "created": now, "default_return_url": None,
        "features": merge_features(DEFAULT_FEATURES, features),
        "is_default": is_default, "livemode": False,
        "login_page": {"enabled": False, "url": None}, "metadata": {},
        "updated": now, "name": None,
    }
    obj.update(fields)
    return obj


def flow(data):
    """A session's `flow` hash from the `flow_data` it was created with."""
    after = data.get("after_completion") or {}
    after_type = after.get("type", "portal_homepage")
    kind = data["type"]

    def part(name, build):
        return build(data.get(name) or {}) if kind == name else None

    return {
        "after_completion": {
            "hosted_confirmation": {"custom_message": (after.get("hosted_confirmation")
                                                       or {}).get("custom_message")}
            if after_type == "hosted_confirmation" else None,
            "redirect": {"return_url": after["redirect"]["return_url"]}
            if after_type == "redirect" else None,
            "type": after_type,
        },
        "customer_update": None,
        "subscription_cancel": part("subscription_cancel", lambda d: {
            "retention": None, "subscription": d["subscription"]}),
        "subscription_pause": None,
        "subscription_update": part("subscription_update", lambda d: {
            "subscription": d["subscription"]}),
        "subscription_update_confirm": part("subscription_update_confirm", lambda d: {
            "discounts": [], "subscription": d["subscription"],
            "items": [{"id": i.get("id"), "price": i.get("price"),
                       "quantity": i.get("quantity")} for i in d.get("items") or []]}),
        "type": kind,
    }


def session(now, base_url, customer_id, configuration_id, return_url, locale=None,
            flow_data=None):
    ident = new_id("bps")
    return {
        "id": ident, "object": "billing_portal.session",
        "configuration": configuration_id, "created": now,
        "customer": customer_id, "flow": flow(flow_data) if flow_data else None,
        "livemode": False, "locale": locale, "on_behalf_of": None,
        "return_url": return_url, "url": f"{base_url}/billing_portal/{ident}",
        "customer_account": None,
    }
