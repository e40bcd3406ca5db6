"""What a person can do in the hosted billing portal: cancel (as the configuration
says), resume, switch price, add a card, make one the default, remove one. Each goes
through the same verbs as the API, so it emits the same events."""
from ..errors import InvalidRequest
from ..events import emit_updated
from ..shapes.portal import configuration as configuration_shape
from ..store import snapshot
from . import changes
from . import subscriptions as subs
from .payments import attach, detach, new_card_pm

# The portal settings "saved in the Dashboard" that sessions without a `configuration`
# use: cancel at period end, card updates and invoice history, no plan switching.
DASHBOARD_DEFAULT = {
    "customer_update": {"allowed_updates": ["email", "address"], "enabled": True},
    "invoice_history": {"enabled": True},
    "payment_method_update": {"enabled": True},
    "subscription_cancel": {"enabled": True, "mode": "at_period_end"},
}


def default_configuration(st):
    """The account's default portal configuration (created on first use)."""
    found = next((c for c in st.all("billing_portal.configuration") if c["is_default"]),
                 None)
    if found is None:
        found = st.add(configuration_shape(st.now(), DASHBOARD_DEFAULT, is_default=True))
        found["_products"] = []
    return found


def features(st, session):
    config = st.get(session["configuration"], "billing_portal.configuration")
    return (config or default_configuration(st))["features"], config


def update_products(st, session):
    """The products (with their prices) a person may switch between."""
    _, config = features(st, session)
    return (config or {}).get("_products") or []


def switch_choices(st, session, sub):
    """Prices this subscription may move to from the portal (current one excluded)."""
    feats, _ = features(st, session)
    update = feats["subscription_update"]
    if not update["enabled"] or "price" not in update["default_allowed_updates"]:
        return []
    current = sub["items"]["data"][0]["price"]["id"]
    prices = [st.get(p, "price") for prod in update_products(st, session)
              for p in prod["prices"]]
    return [p for p in prices if p is not None and p["active"] and p["id"] != current]


def cancel(st, session, sub, feedback=None):
    feats, _ = features(st, session)
    setting = feats["subscription_cancel"]
    if not setting["enabled"]:
        raise InvalidRequest("Cancellation is turned off in this portal configuration.")
    if setting["mode"] == "immediately":
        return subs.cancel(st, sub, feedback=feedback)
    before = snapshot(sub)
    change = changes.plan(st, sub, cancel={"cancel_at_period_end": True})
    if feedback:
        sub["cancellation_details"]["feedback"] = feedback
    return changes.apply(st, change, before)


def resume(st, session, sub):
    before = snapshot(sub)
    change = changes.plan(st, sub, cancel={"cancel_at_period_end": False})
    return changes.apply(st, change, before)


def switch(st, session, sub, price_id):
    if price_id not in {p["id"] for p in switch_choices(st, session, sub)}:
        raise InvalidRequest("That price is not offered in this portal.")
    feats, _ = features(st, session)
    update = feats["subscription_update"]
    ends_trial = sub["status"] == "trialing" and \
        update["trial_update_behavior"] == "end_trial"
    before = snapshot(sub)
    change = changes.plan(
        st, sub, items=[{"id": sub["items"]["data"][0]["id"], "price": price_id}],
        behavior=update["proration_behavior"], trial_end="now" if ends_trial else None)
    return changes.apply(st, change, before)


def _card_updates(st, session):
    """The session's customer, if its configuration lets a person manage cards."""
    feats, _ = features(st, session)
    if not feats["payment_method_update"]["enabled"]:
        raise InvalidRequest("Updating payment methods is turned off in this portal.")
    return st.get(session["customer"], "customer")


def _card_of(st, customer, pm_id):
    pm = st.get(pm_id, "payment_method")
    if pm is None or pm["customer"] != customer["id"]:
        raise InvalidRequest("That card is not one of this customer's.")
    return pm


def _make_default(st, customer, pm):
    """The card becomes the default of the customer and of its live subscriptions that
    name a default card."""
    before = snapshot(customer)
    customer["invoice_settings"]["default_payment_method"] = pm["id"]
    emit_updated(st, "customer.updated", customer, before)
    for sub in st.all("subscription"):
        if sub["customer"] == customer["id"] and sub["status"] not in subs.ENDED \
                and sub["default_payment_method"]:
            before = snapshot(sub)
            sub["default_payment_method"] = pm["id"]
            emit_updated(st, "customer.subscription.updated", sub, before)


def replace_card(st, session, number):
    """Save a new card and make it the default for the customer and its subscriptions."""
    customer = _card_updates(st, session)
    pm = attach(st, new_card_pm(st, number), customer)
    _make_default(st, customer, pm)
    return pm


def set_default_card(st, session, pm_id):
    customer = _card_updates(st, session)
    pm = _card_of(st, customer, pm_id)
    _make_default(st, customer, pm)
    return pm


def remove_card(st, session, pm_id):
    """Detach a card that is not the default (the portal offers no way to remove that)."""
    customer = _card_updates(st, session)
    pm = _card_of(st, customer, pm_id)
    if customer["invoice_settings"]["default_payment_method"] == pm["id"]:
        raise InvalidRequest("The default card cannot be removed; make another card the "
                             "default first.")
    return detach(st, pm)
