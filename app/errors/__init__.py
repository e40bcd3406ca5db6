"""Error pages in the site's own layout, for every status a user can meet."""

from flask import Flask, Response, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app.billing.errors import BillingError
from app.errors.bodies import UNREADABLE_BODY, UNREADABLE_BODY_MESSAGE
from app.extensions import db

MESSAGES = {
    400: ("Bad request", "The request could not be understood. Please go back and try again."),
    403: ("Not allowed", "You do not have access to this page."),
    404: ("Page not found",
          "There is nothing here. Check the address, or start from the home page."),
    405: ("Not allowed", "That action is not available here."),
    413: ("Too large", "What you sent is larger than we accept."),
    402: ("Payment declined", "The payment was declined. Nothing was charged."),
    429: ("Slow down", "Too many attempts from your address. Please wait a minute and try again."),
    500: ("Something went wrong",
          "An error on our side stopped this page. Nothing was charged. Please try again."),
    502: ("Payment provider error",
          "The payment provider could not complete the request. Nothing was charged."),
    503: ("Temporarily unavailable",
          "This part of the site is not available right now. Nothing was charged."),
}


# An error page: HTML in the site's layout, or JSON for a client that asked for it.
ErrorPage = tuple[Response | str, int]


def wants_json() -> bool:
    # /webhooks/ never reaches the site: its own app answers in JSON (app/webhooks/mount.py).
    return request.accept_mimetypes.best == "application/json"


def render_error(status: int, message: str | None = None) -> ErrorPage:
    title, default = MESSAGES.get(status, MESSAGES[500] if status >= 500 else MESSAGES[400])
    text = message or default
    if wants_json():
        return jsonify(error=text), status
    return render_template("errors/error.html", status=status, title=title, message=text), status


def register_errorhandlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> ErrorPage:
        return render_error(400, "The form expired or was sent from elsewhere. "
                                 "Please reload the page and try again.")

    @app.errorhandler(BillingError)
    def billing_error(error: BillingError) -> ErrorPage:
        # Stripe trouble is never a 500: say what happened and that nothing was charged.
        return render_error(error.status, str(error))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> ErrorPage:
        # Messages given to abort(…, description=…) are written for users; Werkzeug's own
        # are not, and the rate limiter's ("5 per 1 minute") are not either.
        own = error.description if error.description != type(error).description else None
        if error.code == 429:
            own = None
        return render_error(error.code or 500, own)

    def unreadable_body(error: Exception) -> ErrorPage:
        app.logger.info("unreadable body on %s %s: %s", request.method, request.path, error)
        return render_error(400, UNREADABLE_BODY_MESSAGE)

    for error_class in UNREADABLE_BODY:
        app.register_error_handler(error_class, unreadable_body)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> ErrorPage:
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        # A failed statement leaves the transaction aborted: the page itself (the header
        # asks who is logged in) must not run into it.
        db.session.rollback()
        return render_error(500)
