"""Customers."""
from ..errors import InvalidRequest, missing
from ..events import emit, emit_updated
from ..params import ADDRESS, LIST, PAGE, merge_metadata
from ..shapes import address
from ..shapes.catalog import deleted
from ..shapes.customers import customer as customer_shape
from ..shapes.customers import tax_id as tax_id_shape
from ..store import snapshot
from . import fetch, paginate, require, route
from .search import SCHEMA as SEARCH
from .search import search

FIELDS = {"email": "str", "name": "str", "description": "str", "phone": "str",
          "address": ADDRESS, "metadata": "map", "preferred_locales": ["str"],
          "invoice_settings": {"default_payment_method": "str", "footer": "str"},
          "tax_exempt": ("none", "exempt", "reverse")}


def _apply(st, cus, params):
    params = dict(params)
    if "metadata" in params:  # first: over the limits, nothing else changes either
        params["metadata"] = merge_metadata(cus["metadata"], params["metadata"])
    settings = params.pop("invoice_settings", None)
    if settings:
        pm_id = settings.get("default_payment_method")
        if pm_id:
            pm = st.get(pm_id, "payment_method")
            if pm is None or pm["customer"] != cus["id"]:
                raise InvalidRequest(
                    f"No such PaymentMethod: '{pm_id}'; it must be attached to this "
                    "customer before it can be its default.",
                    param="invoice_settings[default_payment_method]",
                    code="resource_missing")
        for key in ("default_payment_method", "footer"):
            if key in settings:
                cus["invoice_settings"][key] = settings[key] or None
    if "address" in params:
        value = params.pop("address")
        cus["address"] = address(value) if value else None
    cus.update({k: (v if v != "" else None) for k, v in params.items()})


@route("/customers", ["POST"], {**FIELDS, "payment_method": "str"})
def create_customer(st, params):
    from ..ops.payments import attach, resolve_pm
    pm_id = params.pop("payment_method", None)
    cus = st.add(customer_shape(st.now()))
    settings = params.pop("invoice_settings", None)
    _apply(st, cus, params)
    emit(st, "customer.created", cus)
    if pm_id:
        attach(st, resolve_pm(st, pm_id), cus)
    if settings:
        before = snapshot(cus)
        _apply(st, cus, {"invoice_settings": settings})
        emit_updated(st, "customer.updated", cus, before)
    return cus


@route("/customers/<ident>")
def retrieve_customer(st, params, ident):
    cus = st.objects.get(ident)
    if cus is not None and cus["object"] == "customer" and cus.get("deleted"):
        return deleted(cus)
    return fetch(st, ident, "customer")


@route("/customers/<ident>", ["POST"], FIELDS)
def update_customer(st, params, ident):
    cus = fetch(st, ident, "customer")
    before = snapshot(cus)
    _apply(st, cus, params)
    emit_updated(st, "customer.updated", cus, before)
    return cus


@route("/customers/<ident>", ["DELETE"])
def delete_customer(st, params, ident):
    cus = fetch(st, ident, "customer")
    cus["deleted"] = True
    emit(st, "customer.deleted", {k: v for k, v in cus.items() if k != "deleted"})
    return deleted(cus)


@route("/customers", schema={**LIST, "email": "str"})
def list_customers(st, params):
    items = st.all("customer")
    if params.get("email"):
        items = [c for c in items if c["email"] == params["email"]]
    return paginate(items, params, "/v1/customers")


@route("/customers/search", schema=SEARCH)
def search_customers(st, params):
    return search(st.all("customer"), params.get("query", ""), params,
                  "/v1/customers/search")


@route("/customers/<ident>/tax_ids", ["POST"], {"type": "str", "value": "str"})
def create_tax_id(st, params, ident):
    require(params, "type", "value")
    cus = fetch(st, ident, "customer")
    txi = st.add(tax_id_shape(st.now(), cus["id"], params["type"], params["value"]))
    emit(st, "customer.tax_id.created", txi)
    return txi


def _tax_id(st, customer_id, ident):
    txi = st.get(ident, "tax_id")
    if txi is None or txi["customer"] != customer_id:
        raise missing("tax_id", ident)
    return txi


@route("/customers/<ident>/tax_ids/<txi_id>")
def retrieve_tax_id(st, params, ident, txi_id):
    return _tax_id(st, ident, txi_id)


@route("/customers/<ident>/tax_ids/<txi_id>", ["DELETE"])
def delete_tax_id(st, params, ident, txi_id):
    txi = _tax_id(st, ident, txi_id)
    st.remove(txi_id)
    emit(st, "customer.tax_id.deleted", txi)
    return deleted(txi)


@route("/customers/<ident>/tax_ids", schema=PAGE)
def list_tax_ids(st, params, ident):
    fetch(st, ident, "customer")
    items = [t for t in st.all("tax_id") if t["customer"] == ident]
    return paginate(items, params, f"/v1/customers/{ident}/tax_ids")
