"""Create events: a frozen snapshot of the object at the moment it changed."""
from flask import g, has_request_context

from .shapes.events import event as event_shape
from .store import public


def emit(store, type_, obj, previous=None):
    """Record an event for `obj` and hand it to the delivery worker."""
    data = {"object": public(obj)}
    if previous is not None:
        data["previous_attributes"] = previous
    request_id = idem_key = None
    if has_request_context() and g.get("request_id"):
        request_id, idem_key = g.request_id, g.get("idempotency_key")
    evt = event_shape(store.now(), type_, data, request_id, idem_key)
    store.add(evt)
    if store.on_event is not None:
        store.on_event(evt)
    return evt


def changed(before, after):
    """Stripe's `previous_attributes`: the old values of what changed. Within a hash
    only its changed keys appear (`{"card": {"exp_year": 2034}}`); a list, or a value
    that was or became something other than a hash, appears whole."""
    previous = {}
    for key in {**before, **after}:
        old, new = before.get(key), after.get(key)
        if key.startswith("_") or new == old:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            previous[key] = changed(old, new)
        else:
            previous[key] = public(old)
    return previous


def emit_updated(store, type_, obj, before):
    """Emit `*.updated` only when something actually changed."""
    previous = changed(before, obj)
    if previous:
        return emit(store, type_, obj, previous)
    return None
