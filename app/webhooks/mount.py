"""Stripe's webhook endpoint is served by a lean Flask app of its own, in front of the site.

Stripe posts machine to machine: no cookie, no form, no page, no rate limit. The site's
browser-facing machinery (session cookie, CSRF check, log-in, rate limiter, page headers)
would run on every event for nothing, and the webhook path should cost little more than
checking a signature and writing a row (PRODUCT.md section 10). So requests under
`/webhooks/` are handed, before the site sees them, to an app that holds only the webhooks
blueprint, the database and a fixed set of security headers. Both apps share one
configuration object: a setting changed on the site (by a test, say) is the setting the
webhook endpoint reads.
"""

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from flask import Flask, Request, Response, jsonify
from flask.sessions import SessionInterface, SessionMixin
from werkzeug.exceptions import HTTPException

from app.config import HSTS
from app.errors.bodies import UNREADABLE_BODY, UNREADABLE_BODY_MESSAGE
from app.extensions import db

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

PREFIX = "/webhooks/"
log = logging.getLogger("app.webhooks")


def mount_webhooks(site: Flask) -> None:
    """Serve `/webhooks/` from the webhook app, in front of the site."""
    # Flask's documented way to add WSGI middleware; mypy sees a method replaced.
    site.wsgi_app = WebhookDispatcher(  # type: ignore[method-assign]
        site.wsgi_app, create_webhooks_app(site).wsgi_app)


def create_webhooks_app(site: Flask) -> Flask:
    from app.webhooks import bp

    hooks = Flask(__name__, static_folder=None)
    hooks.config = site.config  # one configuration for both apps
    hooks.session_interface = NoSession()
    db.init_app(hooks)
    hooks.register_blueprint(bp)
    register_json_errors(hooks)
    register_security_headers(hooks)
    return hooks


def register_security_headers(hooks: Flask) -> None:
    """Every answer is JSON for a machine: nothing to load, frame, sniff or cache."""
    fixed = {  # built once: this runs on every event
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
        "Cache-Control": "no-store",
    }
    if hooks.config.get("SESSION_COOKIE_SECURE"):
        fixed["Strict-Transport-Security"] = HSTS

    headers = list(fixed.items())

    @hooks.after_request
    def security_headers(response: Response) -> Response:
        # No answer of the webhook app sets these itself: add them without a look-up each.
        response.headers.extend(headers)
        return response


class WebhookDispatcher:
    """WSGI middleware: `/webhooks/…` to the webhook app, everything else to the site."""

    def __init__(self, site_wsgi: "WSGIApplication", webhooks_wsgi: "WSGIApplication") -> None:
        self.site_wsgi = site_wsgi
        self.webhooks_wsgi = webhooks_wsgi

    def __call__(self, environ: "WSGIEnvironment",
                 start_response: "StartResponse") -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith(PREFIX):
            return self.webhooks_wsgi(environ, start_response)
        return self.site_wsgi(environ, start_response)


class NoSession(SessionInterface):
    """Stripe sends no cookie: every request gets Flask's empty null session."""

    def open_session(self, app: Flask, request: Request) -> None:
        return None  # Flask substitutes a NullSession

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        pass


def register_json_errors(hooks: Flask) -> None:
    """Stripe reads status codes, and operators read the body: a sentence in JSON."""

    @hooks.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response, int]:
        return jsonify(error=error.description), error.code or 500

    def unreadable_body(error: Exception) -> tuple[Response, int]:
        log.info("webhook refused (400): unreadable body: %s", error)
        return jsonify(error=UNREADABLE_BODY_MESSAGE), 400

    for error_class in UNREADABLE_BODY:
        hooks.register_error_handler(error_class, unreadable_body)

    @hooks.errorhandler(Exception)
    def unexpected(error: Exception) -> tuple[Response, int]:
        log.exception("webhook request failed unexpectedly")
        return jsonify(error="Something went wrong on our side; Stripe will retry."), 500
