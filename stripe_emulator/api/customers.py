"""Customers (their tax IDs are in tax_ids.py)."""
from .. import tax_ids
from ..errors import InvalidRequest, missing_param
from ..events import emit, emit_updated
from ..ops import customers as customer_ops
from ..ops import test_clocks as test_clock_ops
from ..params import ADDRESS, LIST, merge_metadata
from ..shapes import address
from ..shapes.catalog import deleted
from ..shapes.customers import customer as customer_shape
from ..store import snapshot
from . import fetch, paginate, route
from .search import SCHEMA as SEARCH
from .search import search
from .tax_ids import add as add_tax_id

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


def _tax_id_data(entries):
    """Check every `tax_id_data` entry before anything is created."""
    checked = []
    for i, entry in enumerate(entries or []):
        for key in ("type", "value"):
            if not entry.get(key):
                raise missing_param(f"tax_id_data[{i}][{key}]")
        value = tax_ids.check(entry["type"], entry["value"], f"tax_id_data[{i}][value]")
        checked.append((entry["type"], value))
    return checked


@route("/customers", ["POST"], {**FIELDS, "payment_method": "str", "test_clock": "str",
                                "tax_id_data": [{"type": tax_ids.TYPES, "value": "str"}]})
def create_customer(st, params):
    """A customer; with `test_clock` it lives on that clock (created at its frozen
    time, as everything of its will be)."""
    from ..ops.payments import attach, resolve_pm
    pm_id = params.pop("payment_method", None)
    clock = params.pop("test_clock", None)
    if clock:
        clock = test_clock_ops.fetch(st, clock)["id"]
    new_tax_ids = _tax_id_data(params.pop("tax_id_data", None))
    cus = st.add(customer_shape(st.now(), test_clock=clock or None))
    settings = params.pop("invoice_settings", None)
    _apply(st, cus, params)
    emit(st, "customer.created", cus)
    for type_, value in new_tax_ids:
        add_tax_id(st, cus, type_, value)
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
    return deleted(customer_ops.delete(st, fetch(st, ident, "customer")))


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
