"""Customer tax IDs: create (format checked per type), retrieve, delete, list; and
`expand[]=tax_ids` on a customer, which Stripe serves only on request."""
from .. import tax_ids
from ..errors import missing
from ..events import emit
from ..params import PAGE
from ..shapes import list_object
from ..shapes.catalog import deleted
from ..shapes.customers import tax_id as tax_id_shape
from . import INCLUDABLE, fetch, paginate, require, route

CREATE = {"type": tax_ids.TYPES, "value": "str"}


def add(st, customer, type_, value):
    """Store a checked tax ID on a customer and emit `customer.tax_id.created`."""
    txi = st.add(tax_id_shape(st.now(), customer["id"], type_, value))
    emit(st, "customer.tax_id.created", txi)
    return txi


def of_customer(st, customer):
    return [t for t in st.all("tax_id") if t["customer"] == customer["id"]]


INCLUDABLE[("customer", "tax_ids")] = lambda st, customer: list_object(
    of_customer(st, customer), f"/v1/customers/{customer['id']}/tax_ids")


@route("/customers/<ident>/tax_ids", ["POST"], CREATE)
def create_tax_id(st, params, ident):
    require(params, "type", "value")
    cus = fetch(st, ident, "customer")
    return add(st, cus, params["type"], tax_ids.check(params["type"], params["value"]))


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
    cus = fetch(st, ident, "customer")
    return paginate(of_customer(st, cus), params, f"/v1/customers/{ident}/tax_ids")
