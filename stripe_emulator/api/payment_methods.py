"""Payment methods: create (test tokens), retrieve, update, attach, detach, list by
customer, retrieve as a customer's."""
import datetime as dt

from ..errors import CardError, InvalidRequest, missing
from ..events import emit_updated
from ..ops.payments import attach, detach, new_card_pm, resolve_pm
from ..params import ADDRESS, PAGE, merge_metadata
from ..shapes import address
from ..store import snapshot
from . import fetch, paginate, require, route

BILLING_DETAILS = {"address": ADDRESS, "email": "str", "name": "str", "phone": "str"}


@route("/payment_methods", ["POST"], {"type": ("card",), "card": {"token": "str"},
                                      "metadata": "map",
                                      "billing_details": BILLING_DETAILS})
def create_payment_method(st, params):
    """Only test tokens are accepted (tok_visa, ...): raw card numbers never reach the
    API, as with real Stripe."""
    require(params, "type")
    token = (params.get("card") or {}).get("token", "")
    number = {"tok_visa": "4242424242424242", "tok_mastercard": "5555555555554444",
              "tok_chargeDeclined": "4000000000000002",
              "tok_chargeCustomerFail": "4000000000000341"}.get(token)
    if number is None:
        raise InvalidRequest("Use a test token such as tok_visa in card[token].",
                             param="card[token]")
    pm = new_card_pm(st, number)
    _update_billing_details(pm, params.get("billing_details") or {})
    pm["metadata"] = params.get("metadata") or {}
    return pm


@route("/payment_methods/<ident>")
def retrieve_payment_method(st, params, ident):
    return fetch(st, ident, "payment_method", "PaymentMethod")


@route("/payment_methods/<ident>", ["POST"], {
    "billing_details": BILLING_DETAILS, "metadata": "map",
    "card": {"exp_month": "int", "exp_year": "int"}})
def update_payment_method(st, params, ident):
    """Billing details, a card's expiry and metadata; `payment_method.updated` reports
    the old values. Stripe updates only payment methods saved to a customer."""
    pm = fetch(st, ident, "payment_method", "PaymentMethod")
    if pm["customer"] is None:
        raise InvalidRequest("You must save this PaymentMethod to a customer before you "
                             "can update it.")
    card = params.get("card")
    if card and pm["type"] != "card":
        raise InvalidRequest(f"This PaymentMethod is of type {pm['type']}; it has no "
                             "card to update.", param="card")
    expiry = _check_expiry(st, pm, card) if card else None
    metadata = merge_metadata(pm["metadata"], params["metadata"]) \
        if "metadata" in params else pm["metadata"]
    before = snapshot(pm)
    if expiry:
        pm["card"].update(expiry)
    _update_billing_details(pm, params.get("billing_details") or {})
    pm["metadata"] = metadata
    emit_updated(st, "payment_method.updated", pm, before)
    return pm


def _update_billing_details(pm, details):
    """Set the given billing details ("" clears one; an address replaces the old)."""
    for key, value in details.items():
        if key == "address":
            pm["billing_details"]["address"] = address(value)
        else:
            pm["billing_details"][key] = value or None


def _check_expiry(st, pm, card):
    """The new expiry, or the card error Stripe gives for an impossible one."""
    month, year = (card[key] if card.get(key) is not None else pm["card"][key]
                   for key in ("exp_month", "exp_year"))
    today = dt.datetime.fromtimestamp(st.now(), dt.UTC)
    this_year = today.year
    if not 1 <= month <= 12:
        raise CardError("Your card's expiration month is invalid.",
                        code="invalid_expiry_month", param="card[exp_month]")
    if not this_year <= year <= this_year + 50:
        raise CardError("Your card's expiration year is invalid.",
                        code="invalid_expiry_year", param="card[exp_year]")
    if (year, month) < (this_year, today.month):
        raise CardError("Your card's expiration month is invalid.",
                        code="invalid_expiry_month", param="card[exp_month]")
    return {"exp_month": month, "exp_year": year}


@route("/payment_methods/<ident>/attach", ["POST"], {"customer": "str"})
def attach_payment_method(st, params, ident):
    require(params, "customer")
    pm = resolve_pm(st, ident, param="id")
    return attach(st, pm, fetch(st, params["customer"], "customer"))


@route("/payment_methods/<ident>/detach", ["POST"])
def detach_payment_method(st, params, ident):
    return detach(st, fetch(st, ident, "payment_method", "PaymentMethod"))


def _for_customer(st, customer_id, params):
    items = [pm for pm in st.all("payment_method") if pm["customer"] == customer_id]
    if params.get("type"):
        items = [pm for pm in items if pm["type"] == params["type"]]
    return items


@route("/payment_methods", schema={**PAGE, "customer": "str", "type": "str"})
def list_payment_methods(st, params):
    require(params, "customer")
    fetch(st, params["customer"], "customer")
    return paginate(_for_customer(st, params["customer"], params), params,
                    "/v1/payment_methods")


@route("/customers/<ident>/payment_methods", schema={**PAGE, "type": "str"})
def list_customer_payment_methods(st, params, ident):
    fetch(st, ident, "customer")
    return paginate(_for_customer(st, ident, params), params,
                    f"/v1/customers/{ident}/payment_methods")


@route("/customers/<ident>/payment_methods/<pm_id>")
def retrieve_customer_payment_method(st, params, ident, pm_id):
    """A payment method only as this customer's: another's (or none) is a 404."""
    fetch(st, ident, "customer")
    pm = st.get(pm_id, "payment_method")
    if pm is None or pm["customer"] != ident:
        raise missing("PaymentMethod", pm_id, param="payment_method")
    return pm
