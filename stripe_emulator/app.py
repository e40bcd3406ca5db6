"""The emulator's Flask app: auth, request ids, idempotency and Stripe-shaped errors
around the /v1 API, plus the hosted pages and the control endpoints."""
from flask import Flask, Response, g, jsonify, request

from . import api, control, hosted, portal_pages
from .errors import AuthenticationFailed, IdempotencyError, InvalidRequest, StripeError
from .store import new_id


def create_app(store, delivery):
    """Build the app around an existing store and delivery worker."""
    app = Flask(__name__)
    app.config.update(STORE=store, DELIVERY=delivery)
    app.json.sort_keys = False
    register_api_hooks(app)
    register_errorhandlers(app)
    api.register_all(app)
    app.register_blueprint(hosted.bp)
    app.register_blueprint(portal_pages.bp)
    app.register_blueprint(control.bp)
    return app


def _is_api():
    return request.path.startswith("/v1/")


def _api_key():
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        return auth[7:].strip()
    if request.authorization and request.authorization.username:
        return request.authorization.username  # curl -u sk_test_...:
    return None


def _mask(key):
    return key[:8] + "*" * max(len(key) - 12, 0) + key[-4:] if len(key) > 12 else key


def register_api_hooks(app):
    store = app.config["STORE"]

    @app.before_request
    def authenticate_and_replay():
        if not _is_api():
            return None
        g.request_id = new_id("req", 14)
        key = _api_key()
        if not key:
            raise AuthenticationFailed(
                "You did not provide an API key. You need to provide your API key in "
                "the Authorization header, using Bearer auth (e.g. 'Authorization: "
                "Bearer YOUR_SECRET_KEY').")
        if key not in store.api_keys:
            raise AuthenticationFailed(f"Invalid API Key provided: {_mask(key)}")
        g.idempotency_key = request.headers.get("Idempotency-Key")
        if request.method != "POST" or not g.idempotency_key:
            return None
        g.fingerprint = (request.method, request.path,
                         tuple(sorted(request.form.items(multi=True))))
        with store.lock:
            cached = store.idempotency.get((key, g.idempotency_key))
        if cached is None:
            g.cache_key = (key, g.idempotency_key)
            return None
        fingerprint, status, body = cached
        if fingerprint != g.fingerprint:
            raise IdempotencyError(
                "Keys for idempotent requests can only be used with the same parameters "
                "they were first used with. Try using a key other than "
                f"'{g.idempotency_key}' if you meant to execute a different request.")
        resp = Response(body, status=status, mimetype="application/json")
        resp.headers["Idempotent-Replayed"] = "true"
        return resp

    @app.after_request
    def remember(resp):
        if not _is_api():
            return resp
        resp.headers["Request-Id"] = g.get("request_id", "")
        resp.headers["Stripe-Version"] = "2026-10-28.endive"
        cache_key = g.get("cache_key")
        if cache_key and resp.status_code < 500 and not g.get("validation_failed"):
            with store.lock:
                store.idempotency[cache_key] = (g.fingerprint, resp.status_code,
                                                resp.get_data())
        return resp


def register_errorhandlers(app):
    @app.errorhandler(StripeError)
    def stripe_error(exc):
        if isinstance(exc, InvalidRequest) and (exc.code or "").startswith("parameter_"):
            g.validation_failed = True
        if isinstance(exc, (AuthenticationFailed, IdempotencyError)) or exc.validation:
            g.validation_failed = True
        body = exc.body()
        return jsonify(body), exc.status

    @app.errorhandler(404)
    @app.errorhandler(405)
    def unrecognized_url(exc):
        # Stripe answers an unknown path or method alike: 404 with this message.
        if _is_api():
            return jsonify({"error": {
                "type": "invalid_request_error",
                "message": f"Unrecognized request URL ({request.method}: {request.path}).",
            }}), 404
        return exc
