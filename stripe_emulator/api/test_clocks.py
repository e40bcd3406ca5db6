"""Test clocks (`/v1/test_helpers/test_clocks`): create, retrieve, list, advance,
delete, as the SDK's `client.v1.test_helpers.test_clocks` drives them."""
from ..ops import test_clocks as ops
from ..params import PAGE
from ..shapes.catalog import deleted
from . import paginate, require, route

BASE = "/test_helpers/test_clocks"


@route(BASE, ["POST"], {"frozen_time": "int", "name": "str"})
def create_test_clock(st, params):
    require(params, "frozen_time")
    return ops.create(st, params["frozen_time"], params.get("name"))


@route(f"{BASE}/<ident>")
def retrieve_test_clock(st, params, ident):
    clock = st.objects.get(ident)
    if clock is not None and clock["object"] == ops.KIND and clock.get("deleted"):
        return deleted(clock)
    return ops.fetch(st, ident, param="id")


@route(BASE, schema=PAGE)
def list_test_clocks(st, params):
    return paginate(st.all(ops.KIND), params, "/v1/test_helpers/test_clocks")


@route(f"{BASE}/<ident>/advance", ["POST"], {"frozen_time": "int"})
def advance_test_clock(st, params, ident):
    clock = ops.fetch(st, ident, param="id")
    require(params, "frozen_time")
    return ops.advance(st, clock, params["frozen_time"])


@route(f"{BASE}/<ident>", ["DELETE"])
def delete_test_clock(st, params, ident):
    return deleted(ops.delete(st, ops.fetch(st, ident, param="id")))
