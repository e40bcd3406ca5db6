"""Control endpoints under /_emulator/ for tests and demos (JSON, no auth)."""
from flask import Blueprint, current_app, jsonify, request

from .api import fetch
from .errors import InvalidRequest, StripeError
from .ops import authentication, calendar
from .ops import checkout as checkout_ops
from .ops import payments as payment_ops
from .store import public

bp = Blueprint("control", __name__, url_prefix="/_emulator")

CONFIG_TYPES = {"duplicate": bool, "shuffle_window": int, "delay_ms": int,
                "delivery_enabled": bool, "retry_schedule": list,
                "payment_retry_days": list, "after_payment_retries": str,
                "invoice_upcoming_days": float}
AFTER_PAYMENT_RETRIES = ("canceled", "unpaid", "past_due")


def _store():
    return current_app.config["STORE"]


def _delivery():
    return current_app.config["DELIVERY"]


def _body():
    return request.get_json(silent=True) or {}


@bp.errorhandler(StripeError)
def stripe_error(exc):
    return jsonify(exc.body()), exc.status


@bp.post("/reset")
def reset():
    """Forget every object, event, delivery and setting (API keys are kept)."""
    st = _store()
    with st.lock:
        _delivery().reset()
        st.reset()
    return jsonify({"reset": True})


@bp.get("/deliveries")
def deliveries():
    st = _store()
    event_id = request.args.get("event")
    with st.lock:
        data = [dict(d) for d in st.deliveries if not event_id or d["event_id"] == event_id]
    return jsonify({"data": data})


@bp.post("/events/<ident>/redeliver")
def redeliver(ident):
    st = _store()
    with st.lock:
        event = fetch(st, ident, "event")
        count = _delivery().redeliver(event)
    return jsonify({"event": ident, "scheduled": count})


@bp.post("/checkout/sessions/<ident>/complete")
def complete(ident):
    """Complete a session exactly as the hosted page would."""
    body = _body()
    st = _store()
    with st.lock:
        session = fetch(st, ident, "checkout.session")
        method = body.get("method", "card")
        if method not in ("card", "delayed"):
            raise InvalidRequest("method must be card or delayed", param="method")
        expiry = _expiry(body)
        with calendar.time_of(st, session):
            checkout_ops.complete(st, session, card=body.get("card", "4242424242424242"),
                                  method=method, email=body.get("email"),
                                  name=body.get("name"), expiry=expiry)
        return jsonify(public(session))


def _expiry(body):
    """(exp_month, exp_year) for the card, given together as integers, or None (the
    test cards' own 12/2034). One already past is declined later, at the session's time."""
    given = [key for key in ("exp_month", "exp_year") if key in body]
    if not given:
        return None
    if len(given) == 1:
        missing_key = "exp_year" if given == ["exp_month"] else "exp_month"
        raise InvalidRequest(f"{missing_key} is needed with {given[0]}", param=missing_key)
    month, year = body["exp_month"], body["exp_year"]
    if type(month) is not int or not 1 <= month <= 12:
        raise InvalidRequest("exp_month must be an integer from 1 to 12", param="exp_month")
    if type(year) is not int or not 2000 <= year <= 2099:
        raise InvalidRequest("exp_year must be a four-digit year (2000 to 2099)",
                             param="exp_year")
    if body.get("method", "card") != "card":
        raise InvalidRequest("exp_month and exp_year are for a card", param="exp_month")
    return month, year


@bp.post("/payment_intents/<ident>/authenticate")
def authenticate_payment(ident):
    """Answer a PaymentIntent's 3-D Secure challenge as the customer would on the hosted
    page: `{"outcome": "succeed"|"fail"}`."""
    return _authenticate(ident, "payment_intent")


@bp.post("/setup_intents/<ident>/authenticate")
def authenticate_setup(ident):
    """The same for a SetupIntent (a card saved by setup-mode or trial Checkout)."""
    return _authenticate(ident, "setup_intent")


def _authenticate(ident, kind):
    outcome = _body().get("outcome")
    if outcome not in ("succeed", "fail"):
        raise InvalidRequest("outcome must be succeed or fail", param="outcome")
    st = _store()
    with st.lock:
        intent = fetch(st, ident, kind, kind)
        with calendar.time_of(st, intent):
            authentication.authenticate(st, intent, outcome == "succeed")
        return jsonify(public(intent))


@bp.post("/checkout/sessions/<ident>/settle")
def settle(ident):
    outcome = _body().get("outcome")
    if outcome not in ("succeeded", "failed"):
        raise InvalidRequest("outcome must be succeeded or failed", param="outcome")
    st = _store()
    with st.lock:
        session = fetch(st, ident, "checkout.session")
        with calendar.time_of(st, session):
            return jsonify(public(checkout_ops.settle(st, session, outcome)))


@bp.post("/checkout/sessions/<ident>/expire")
def expire(ident):
    st = _store()
    with st.lock:
        session = fetch(st, ident, "checkout.session")
        with calendar.time_of(st, session):
            return jsonify(public(checkout_ops.expire(st, session)))


@bp.post("/charges/<ident>/dispute")
def dispute(ident):
    st = _store()
    with st.lock:
        ch = fetch(st, ident, "charge")
        with calendar.time_of(st, ch):
            return jsonify(public(payment_ops.dispute(st, ch, _body().get("reason",
                                                                          "fraudulent"))))


@bp.post("/payment_methods/<ident>/decline")
def set_decline(ident):
    """From now on the bank declines charges to this saved card with `decline_code`
    (`generic_decline`, `insufficient_funds`) or, with null, accepts them whatever its test
    card does: a card that failed a renewal and pays once the customer has seen to it."""
    st = _store()
    code = _body().get("decline_code")
    if code is not None and code not in ("generic_decline", "insufficient_funds"):
        raise InvalidRequest("decline_code must be generic_decline, insufficient_funds or "
                             "null.", param="decline_code")
    with st.lock:
        pm = fetch(st, ident, "payment_method")
        pm["_decline"] = code
        return jsonify(public(pm))


@bp.route("/config", methods=["GET", "POST"])
def config():
    st = _store()
    with st.lock:
        if request.method == "POST":
            for key, value in _body().items():
                kind = CONFIG_TYPES.get(key)
                if kind is None:
                    raise InvalidRequest(f"Unknown config key: {key}", param=key,
                                         code="parameter_unknown")
                if kind is list:
                    value = [float(v) for v in value]
                st.config[key] = check_setting(key, kind(value))
        return jsonify(dict(st.config))


def check_setting(key, value):
    """A setting's value, or the 400 that refuses it."""
    if key == "after_payment_retries" and value not in AFTER_PAYMENT_RETRIES:
        raise InvalidRequest(f"after_payment_retries must be one of "
                             f"{', '.join(AFTER_PAYMENT_RETRIES)}", param=key)
    if key == "invoice_upcoming_days" and value < 0:
        raise InvalidRequest("invoice_upcoming_days must be 0 (none) or more.", param=key)
    if key == "payment_retry_days" and any(days <= 0 for days in value):
        raise InvalidRequest("payment_retry_days must all be more than 0.", param=key)
    return value


@bp.post("/clock/advance")
def advance_clock():
    """Move the emulator's own clock (not the test clocks); whatever falls due on the
    way for objects on no test clock (session expiry, trial reminders,
    invoice.upcoming, renewals and their charges an hour later, payment retries,
    scheduled cancellations) happens in order, each at its moment."""
    seconds = int(_body().get("seconds", 0))
    if seconds < 0:
        raise InvalidRequest("The clock only moves forward.", param="seconds")
    st = _store()
    with st.lock:
        calendar.advance(st, seconds)
        return jsonify({"now": st.now(), "offset": st.clock_offset})


@bp.get("/clock")
def clock():
    st = _store()
    return jsonify({"now": st.now(), "offset": st.clock_offset})


@bp.post("/flush")
def flush():
    """Wait (up to ~10 s) until every queued delivery has been attempted."""
    timeout = float(_body().get("timeout", 10))
    emptied = _delivery().flush(timeout=min(timeout, 30))
    return jsonify({"empty": emptied, "pending": _delivery().pending_count()}), \
        200 if emptied else 504


