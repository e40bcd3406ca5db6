"""Events (list newest first, retrieve) and webhook endpoints."""
from ..errors import InvalidRequest, invalid_param
from ..params import LIST, PAGE
from ..shapes.catalog import deleted
from ..shapes.events import API_VERSION, webhook_endpoint
from ..store import public
from . import fetch, paginate, require, route


@route("/events/<ident>")
def retrieve_event(st, params, ident):
    return fetch(st, ident, "event")


@route("/events", schema={**LIST, "type": "str", "types": ["str"],
                          "delivery_success": "bool"})
def list_events(st, params):
    events = st.all("event")
    wanted = params.get("types") or ([params["type"]] if params.get("type") else None)
    if wanted:
        events = [e for e in events if any(_type_matches(e["type"], w) for w in wanted)]
    if "delivery_success" in params:
        ok = params["delivery_success"]
        events = [e for e in events if (e["pending_webhooks"] == 0) == ok]
    return paginate(events, params, "/v1/events")


def _type_matches(event_type, pattern):
    """`type` accepts `*` wildcards, e.g. `checkout.session.*`."""
    if pattern.endswith("*"):
        return event_type.startswith(pattern[:-1])
    return event_type == pattern


ENDPOINT_FIELDS = {"url": "str", "enabled_events": ["str"], "description": "str",
                   "metadata": "map"}


@route("/webhook_endpoints", ["POST"], {**ENDPOINT_FIELDS, "api_version": "str",
                                        "connect": "bool"})
def create_webhook_endpoint(st, params):
    require(params, "url")
    if not params.get("enabled_events"):
        raise InvalidRequest("Missing required param: enabled_events.",
                             code="parameter_missing", param="enabled_events")
    if not params["url"].startswith(("http://", "https://")):
        raise InvalidRequest("Invalid URL: must be an http(s) URL.", param="url",
                             code="url_invalid")
    version = params.get("api_version")
    if version is not None and version != API_VERSION:
        # Stripe knows every published version; the emulator shapes objects in one only.
        raise invalid_param("api_version", f"Invalid api_version: {version}. This emulator "
                                           f"serves API version {API_VERSION} only.")
    ep = webhook_endpoint(st.now(), params["url"], params["enabled_events"],
                          description=params.get("description"),
                          metadata=params.get("metadata") or {},
                          api_version=version)
    ep["_secret"] = ep.pop("secret")
    st.add(ep)
    # Like Stripe, the signing secret is only ever shown in the create response.
    return {**public(ep), "secret": ep["_secret"]}


@route("/webhook_endpoints/<ident>")
def retrieve_webhook_endpoint(st, params, ident):
    return fetch(st, ident, "webhook_endpoint")


@route("/webhook_endpoints/<ident>", ["POST"], {**ENDPOINT_FIELDS, "disabled": "bool"})
def update_webhook_endpoint(st, params, ident):
    ep = fetch(st, ident, "webhook_endpoint")
    if "disabled" in params:
        ep["status"] = "disabled" if params.pop("disabled") else "enabled"
    ep.update(params)
    return ep


@route("/webhook_endpoints/<ident>", ["DELETE"])
def delete_webhook_endpoint(st, params, ident):
    ep = fetch(st, ident, "webhook_endpoint")
    st.remove(ident)
    return deleted(ep)


@route("/webhook_endpoints", schema=PAGE)
def list_webhook_endpoints(st, params):
    return paginate(st.all("webhook_endpoint"), params, "/v1/webhook_endpoints")
