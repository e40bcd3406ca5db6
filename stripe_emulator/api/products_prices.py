"""Products and prices, with lookup keys (`lookup_keys[]`, `transfer_lookup_key`)."""
from ..errors import InvalidRequest, over_limit
from ..events import emit, emit_updated
from ..params import LIST, merge_metadata
from ..shapes.catalog import deleted
from ..shapes.catalog import price as price_shape
from ..shapes.catalog import product as product_shape
from ..store import snapshot
from . import fetch, paginate, require, route
from .search import SCHEMA as SEARCH
from .search import search

RECURRING = {"interval": ("day", "week", "month", "year"), "interval_count": "int",
             "trial_period_days": "int", "usage_type": ("licensed",)}
# A product's default_price_data takes fewer recurring settings than a price does.
PRICE_DATA = {"currency": "str", "unit_amount": "int", "unit_amount_decimal": "str",
              "recurring": {"interval": RECURRING["interval"], "interval_count": "int"},
              "tax_behavior": "str", "metadata": "map"}
PRODUCT_FIELDS = {"name": "str", "description": "str", "active": "bool",
                  "metadata": "map", "images": ["str"], "url": "str",
                  "statement_descriptor": "str", "tax_code": "str", "unit_label": "str",
                  "shippable": "bool", "marketing_features": [{"name": "str"}]}


@route("/products", ["POST"], {**PRODUCT_FIELDS, "id": "str", "type": "str",
                               "default_price_data": PRICE_DATA})
def create_product(st, params):
    require(params, "name")
    if params.get("id") and st.get(params["id"]):
        raise InvalidRequest("Product already exists.", code="resource_already_exists",
                             param="id")
    price_data = params.pop("default_price_data", None)
    if params.get("id") is None:
        params.pop("id", None)
    params.pop("type", None)
    product = st.add(product_shape(st.now(), **params))
    emit(st, "product.created", product)
    if price_data:
        price = _create_price(st, dict(price_data, product=product["id"]))
        before = snapshot(product)
        product["default_price"] = price["id"]
        emit_updated(st, "product.updated", product, before)
    return product


@route("/products/<ident>")
def retrieve_product(st, params, ident):
    return fetch(st, ident, "product")


@route("/products/<ident>", ["POST"], {**PRODUCT_FIELDS, "default_price": "str"})
def update_product(st, params, ident):
    product = fetch(st, ident, "product")
    if params.get("default_price"):
        fetch(st, params["default_price"], "price")
    before = snapshot(product)
    if "metadata" in params:
        params["metadata"] = merge_metadata(product["metadata"], params["metadata"])
    # An empty string unsets a field, as in Stripe's form encoding.
    product.update({k: (None if v == "" else v) for k, v in params.items()})
    if emit_updated(st, "product.updated", product, before):
        product["updated"] = st.now()
    return product


@route("/products/<ident>", ["DELETE"])
def delete_product(st, params, ident):
    product = fetch(st, ident, "product")
    if any(p["product"] == ident for p in st.all("price")):
        raise InvalidRequest("This product cannot be deleted because it has one or more "
                             "user-created prices.", code="product_has_prices")
    st.remove(ident)
    emit(st, "product.deleted", product)
    return deleted(product)


@route("/products", schema={**LIST, "active": "bool", "ids": ["str"], "shippable": "bool",
                            "url": "str"})
def list_products(st, params):
    items = st.all("product")
    if "active" in params:
        items = [p for p in items if p["active"] == params["active"]]
    if params.get("ids"):
        items = [p for p in items if p["id"] in params["ids"]]
    return paginate(items, params, "/v1/products")


@route("/products/search", schema=SEARCH)
def search_products(st, params):
    require(params, "query")
    return search(st.all("product"), params["query"], params, "/v1/products/search")


MAX_LOOKUP_KEYS = 10  # per list request, as at Stripe

PRICE_FIELDS = {"active": "bool", "metadata": "map", "nickname": "str",
                "lookup_key": "str", "transfer_lookup_key": "bool",
                "tax_behavior": ("inclusive", "exclusive", "unspecified")}


@route("/prices", ["POST"], {**PRICE_FIELDS, "currency": "str", "product": "str",
                             "product_data": {"name": "str", "metadata": "map",
                                              "active": "bool"},
                             "unit_amount": "int", "unit_amount_decimal": "str",
                             "recurring": RECURRING,
                             "billing_scheme": ("per_unit",)})
def create_price(st, params):
    require(params, "currency")
    if not params.get("product") and not params.get("product_data"):
        require(params, "product")
    return _create_price(st, params)


def _create_price(st, params):
    params = dict(params)
    if params.get("product_data"):
        data = params.pop("product_data")
        product = st.add(product_shape(st.now(), **data))
        emit(st, "product.created", product)
        params["product"] = product["id"]
    fetch(st, params["product"], "product")
    if params.get("unit_amount") is None and params.get("unit_amount_decimal") is None:
        raise InvalidRequest("Missing required param: unit_amount.",
                             code="parameter_missing", param="unit_amount")
    amount = params.pop("unit_amount", None)
    if amount is None:
        amount = int(float(params.pop("unit_amount_decimal")))
    params.pop("unit_amount_decimal", None)
    params.pop("billing_scheme", None)
    transfer = params.pop("transfer_lookup_key", False)
    lookup_key = params.pop("lookup_key", None)
    price = price_shape(st.now(), params.pop("product"), params.pop("currency").lower(),
                        amount, params.pop("recurring", None), **params)
    _claim_lookup_key(st, price, lookup_key, transfer)
    st.add(price)
    emit(st, "price.created", price)
    return price


def _claim_lookup_key(st, price, lookup_key, transfer):
    """Give `price` the lookup key, moving it from its holder only when asked to."""
    if not lookup_key:
        price["lookup_key"] = lookup_key or None
        return
    holder = next((p for p in st.all("price")
                   if p["lookup_key"] == lookup_key and p["id"] != price["id"]), None)
    if holder is not None:
        if not transfer:
            raise InvalidRequest(
                f"A price (`{holder['id']}`) already uses that lookup key.",
                param="lookup_key")
        before = snapshot(holder)
        holder["lookup_key"] = None
        emit_updated(st, "price.updated", holder, before)
    price["lookup_key"] = lookup_key


@route("/prices/<ident>")
def retrieve_price(st, params, ident):
    return fetch(st, ident, "price")


@route("/prices/<ident>", ["POST"], PRICE_FIELDS)
def update_price(st, params, ident):
    price = fetch(st, ident, "price")
    before = snapshot(price)
    if "metadata" in params:
        params["metadata"] = merge_metadata(price["metadata"], params["metadata"])
    transfer = params.pop("transfer_lookup_key", False)
    if "lookup_key" in params:
        _claim_lookup_key(st, price, params.pop("lookup_key"), transfer)
    price.update({k: (None if v == "" else v) for k, v in params.items()})
    emit_updated(st, "price.updated", price, before)
    return price


@route("/prices", schema={**LIST, "active": "bool", "currency": "str", "product": "str",
                          "type": ("one_time", "recurring"), "lookup_keys": ["str"],
                          "recurring": {"interval": "str", "usage_type": "str"}})
def list_prices(st, params):
    if len(params.get("lookup_keys") or []) > MAX_LOOKUP_KEYS:
        raise over_limit("lookup_keys", f"Array lookup_keys exceeded maximum "
                                        f"{MAX_LOOKUP_KEYS} allowed elements.")
    items = st.all("price")
    for field in ("active", "currency", "product", "type"):
        if field in params:
            items = [p for p in items if p[field] == params[field]]
    if params.get("lookup_keys"):
        items = [p for p in items if p["lookup_key"] in params["lookup_keys"]]
    if (params.get("recurring") or {}).get("interval"):
        items = [p for p in items if (p["recurring"] or {}).get("interval")
                 == params["recurring"]["interval"]]
    return paginate(items, params, "/v1/prices")


@route("/prices/search", schema=SEARCH)
def search_prices(st, params):
    require(params, "query")
    return search(st.all("price"), params["query"], params, "/v1/prices/search")
