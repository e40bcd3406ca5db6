"""Payment methods: retrieve, attach, detach, list by customer."""
from ..errors import InvalidRequest
from ..ops.payments import attach, detach, new_card_pm, resolve_pm
from ..params import PAGE
from . import fetch, paginate, require, route


@route("/payment_methods", ["POST"], {"type": ("card",), "card": {"token": "str"},
                                      "metadata": "map",
                                      "billing_details": {"email": "str", "name": "str"}})
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
    details = params.get("billing_details") or {}
    pm = new_card_pm(st, number, details.get("email"), details.get("name"))
    pm["metadata"] = params.get("metadata") or {}
    return pm


@route("/payment_methods/<ident>")
def retrieve_payment_method(st, params, ident):
    return fetch(st, ident, "payment_method", "PaymentMethod")


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
