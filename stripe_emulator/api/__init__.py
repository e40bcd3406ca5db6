"""The /v1 API: a blueprint, the `route` decorator every endpoint uses, and the
shared list/expand machinery."""
import functools

from flask import Blueprint, current_app, request

from ..errors import InvalidRequest, missing, missing_param
from ..ops.calendar import clock_of, time_of
from ..params import EXPANDABLE, decode, validate
from ..store import PREFIXES, public

bp = Blueprint("api", __name__, url_prefix="/v1")

# (object type, dotted field) -> function(store, obj) for fields served only on expand.
INCLUDABLE = {}
# (method, rule) -> the schema an endpoint accepts; tests compare these with Stripe's.
SCHEMAS = {}


def store():
    return current_app.config["STORE"]


def route(rule, methods=("GET",), schema=None, expandable=None):
    """Register an API endpoint: decode and validate params, hold the store lock, read
    the time of the test clock the request concerns (if any), and serve the returned
    object with the requested expansions. Deletions take no `expand` unless
    `expandable` (as at Stripe)."""
    def decorator(fn):
        @functools.wraps(fn)
        def view(**kwargs):
            source = request.form if request.method == "POST" else request.args
            tree = decode(source.items(multi=True))
            params = validate(tree, SCHEMAS[(request.method, rule)])
            expand = params.pop("expand", [])
            st = store()
            with st.lock, time_of(st, clock=request_clock(st, kwargs, params)):
                result = fn(st, params, **kwargs)
                return render(st, result, expand)
        bp.add_url_rule(rule, fn.__name__, view, methods=list(methods))
        for method in methods:
            takes_expand = expandable if expandable is not None else method != "DELETE"
            SCHEMAS[(method, rule)] = {**(EXPANDABLE if takes_expand else {}),
                                       **(schema or {})}
        return fn
    return decorator


# Parameters naming an object whose customer may live on a test clock.
_REFERENCES = ("customer", "subscription", "invoice", "charge", "payment_intent")


def request_clock(st, kwargs, params):
    """The test clock whose time a request runs at: that of the object in its path or
    of one it names (a customer, subscription, ...), or the clock a new customer is
    created on; None for the emulator's own time."""
    refs = [kwargs.get("ident"), *(params.get(name) for name in _REFERENCES)]
    for ref in refs:
        clock = clock_of(st, st.objects.get(ref)) if isinstance(ref, str) else None
        if clock is not None:
            return clock
    ident = params.get("test_clock")
    return st.get(ident, "test_helpers.test_clock") if isinstance(ident, str) else None


def fetch(st, ident, kind, resource=None):
    """The stored object or Stripe's 404."""
    obj = st.get(ident, kind)
    if obj is None:
        raise missing(resource or kind.replace(".", " ").replace("_", " "), ident)
    return obj


def render(st, obj, expand):
    """A public copy of `obj` with `expand` paths replaced by their objects."""
    out = public(obj)
    for path in expand:
        _expand(st, out, path.split("."), path, None, ())
    return out


def _expand(st, node, parts, full, owner, trail):
    """Expand `parts` below `node`; `owner` is the nearest enclosing Stripe object and
    `trail` the keys walked since it, so includable fields nested in a hash
    (`features.subscription_update.products`) are found too."""
    if isinstance(node, list):
        for item in node:
            _expand(st, item, parts, full, owner, trail)
        return
    if not isinstance(node, dict):
        return
    if isinstance(node.get("object"), str) and node.get("id"):
        owner, trail = node, ()
    field, rest = parts[0], parts[1:]
    if field not in node and owner is not None:
        include = INCLUDABLE.get((owner["object"], ".".join((*trail, field))))
        if include is not None:
            node[field] = public(include(st, st.objects.get(owner["id"], owner)))
    if field not in node:
        raise InvalidRequest(
            f"This property cannot be expanded ({full}).", param="expand")
    value = node[field]
    if isinstance(value, str) and _expandable_id(value):
        target = st.objects.get(value)
        if target is not None:
            node[field] = value = public(target)
    if rest:
        _expand(st, value, rest, full, owner, (*trail, field))


def _expandable_id(value):
    return value.split("_", 1)[0] in PREFIXES or value.startswith("cs_test_")


def paginate(objects, params, url):
    """Stripe's cursor pagination over a newest-first list."""
    limit = params.get("limit") or 10
    if not 1 <= limit <= 100:
        raise InvalidRequest("Invalid limit: must be between 1 and 100", param="limit",
                             code="parameter_invalid_integer")
    created = params.get("created") or {}
    if created:
        objects = [o for o in objects if _in_range(o["created"], created)]
    if params.get("starting_after"):
        ids = [o["id"] for o in objects]
        cursor = params["starting_after"]
        if cursor not in ids:
            raise missing("object", cursor, param="starting_after")
        objects = objects[ids.index(cursor) + 1:]
    elif params.get("ending_before"):
        ids = [o["id"] for o in objects]
        cursor = params["ending_before"]
        if cursor not in ids:
            raise missing("object", cursor, param="ending_before")
        objects = objects[:ids.index(cursor)][-limit:]
    page = objects[:limit]
    return {"object": "list", "data": page, "has_more": len(objects) > limit, "url": url}


def _in_range(value, bounds):
    checks = {"gt": value > bounds.get("gt", value - 1),
              "gte": value >= bounds.get("gte", value),
              "lt": value < bounds.get("lt", value + 1),
              "lte": value <= bounds.get("lte", value)}
    return all(checks.values())


def require(params, *names):
    """Stripe's parameter_missing for the first absent name."""
    for name in names:
        if params.get(name) in (None, ""):
            raise missing_param(name)


def register_all(app):
    """Import the endpoint modules (they attach themselves to `bp`) and mount it."""
    from . import (  # noqa: F401
        checkout,
        customers,
        events_webhooks,
        intents,
        invoices,
        payment_methods,
        portal,
        products_prices,
        subscriptions,
        tax_ids,
        test_clocks,
    )
    app.register_blueprint(bp)
